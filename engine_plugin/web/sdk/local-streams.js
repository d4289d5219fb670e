// LocalVideoStream and LocalAudioStream: what a call sends, from a device or a custom MediaStream.
//
// A stream made from a MediaStream is 'RawMedia': the application owns its
// tracks. One made from a device ('Video' for a camera, 'Audio' for a
// microphone) or by `call.startScreenSharing()` ('ScreenSharing') is opened by
// the SDK, which stops it when nobody uses it any more, unless the
// application took it with `getMediaStream()`: then it is the application's to stop.
// A call that sends a stream follows `setMediaStream()` and `switchSource()`
// at once, without renegotiation.

import { AudioDeviceInfo, VideoDeviceInfo, openCamera, openMicrophone } from './devices.js';
import { describe } from './describe.js';

class LocalStream {
  #kind;
  #type;
  #device = null;
  #stream = null;
  #owned = false;
  #exposed = false;
  #opening = null;
  #origin = null;
  #watchers = new Set();

  constructor(kind, source, deviceClass, deviceType) {
    this.#kind = kind;
    if (globalThis.MediaStream && source instanceof MediaStream) {
      this.#checkStream(source, 'constructor');
      this.#stream = source;
      this.#type = 'RawMedia';
    } else if (source instanceof deviceClass) {
      this.#device = source;
      this.#type = deviceType;
    } else {
      throw new TypeError(
        `${this.constructor.name} expects a MediaStream with a${kind === 'audio' ? 'n' : ''} ${kind} ` +
          `track or a ${deviceClass.name} from the DeviceManager, got ${describe(source)}`,
      );
    }
  }

  #checkStream(stream, method) {
    if (!(globalThis.MediaStream && stream instanceof MediaStream)) {
      throw new TypeError(`${this.constructor.name}.${method}: expected a MediaStream, got ${describe(stream)}`);
    }
    const tracks = this.#kind === 'audio' ? stream.getAudioTracks() : stream.getVideoTracks();
    if (tracks.length === 0) {
      throw new TypeError(`${this.constructor.name}.${method}: the MediaStream has no ${this.#kind} track`);
    }
    if (tracks[0].readyState === 'ended') {
      throw new TypeError(`${this.constructor.name}.${method}: the MediaStream's ${this.#kind} track has ended`);
    }
  }

  /** The device this stream captures, or undefined for a custom MediaStream. */
  get source() {
    return this.#device ?? undefined;
  }

  /** 'RawMedia' (a custom MediaStream), 'Video' (camera), 'Audio' (microphone) or 'ScreenSharing'. */
  get mediaStreamType() {
    return this.#type;
  }

  /** The MediaStream this stream sends (opening the device when needed). */
  async getMediaStream() {
    const stream = await this.#open();
    this.#exposed = true;
    return stream;
  }

  /** Send `mediaStream` instead (type 'RawMedia' from now on); calls follow at once. */
  async setMediaStream(mediaStream) {
    this.#checkStream(mediaStream, 'setMediaStream');
    this.#release();
    this.#device = null;
    this.#stream = mediaStream;
    this.#type = 'RawMedia';
    await this.#changed();
  }

  /** Capture `device` instead; calls follow at once. */
  async switchSource(device) {
    const deviceClass = this.#kind === 'audio' ? AudioDeviceInfo : VideoDeviceInfo;
    if (!(device instanceof deviceClass)) {
      throw new TypeError(
        `${this.constructor.name}.switchSource: expected a ${deviceClass.name} from the DeviceManager, ` +
          `got ${describe(device)}`,
      );
    }
    this.#release();
    this.#stream = null; // a custom stream is the application's: just stop sending it
    this.#device = device;
    this.#type = this.#kind === 'audio' ? 'Audio' : 'Video';
    await this.#changed();
  }

  /** Stop what the SDK opened for this stream. */
  dispose() {
    this.#release();
  }

  // --- SDK internals ---------------------------------------------------------

  static _fromScreen(stream) {
    const local = new this(stream);
    local.#type = 'ScreenSharing';
    local.#owned = true;
    local.#origin = stream.getVideoTracks()[0];
    return local;
  }

  /** The screen capture's own track (kept after setMediaStream), or null. */
  get _originTrack() {
    return this.#origin;
  }

  async #open() {
    if (this.#stream !== null) return this.#stream;
    if (this.#device === null) {
      throw new Error(
        `${this.constructor.name}: this screen share has ended; start a new one with ` +
          'call.startScreenSharing()',
      );
    }
    if (this.#opening === null) {
      const device = this.#device;
      this.#opening = (this.#kind === 'audio' ? openMicrophone(device) : openCamera(device)).then(
        (stream) => {
          this.#opening = null;
          if (this.#device !== device) {
            stream.getTracks().forEach((track) => track.stop()); // switched while opening
            return this.#open();
          }
          this.#stream = stream;
          this.#owned = true;
          this.#exposed = false;
          return stream;
        },
        (error) => {
          this.#opening = null;
          throw error;
        },
      );
    }
    return this.#opening;
  }

  #release() {
    if (this.#owned && !this.#exposed && this.#stream !== null) {
      this.#stream.getTracks().forEach((track) => track.stop());
    }
    if (this.#owned) this.#stream = null;
    this.#owned = false;
    this.#exposed = false;
  }

  async #changed() {
    await Promise.all([...this.#watchers].map((watcher) => watcher(this)));
  }

  /** The track to send now (the device is opened when needed). */
  async _track() {
    const stream = await this.#open();
    const tracks = this.#kind === 'audio' ? stream.getAudioTracks() : stream.getVideoTracks();
    return tracks[0] ?? null;
  }

  /** Call `watcher(stream)` after each change of source. */
  _watch(watcher) {
    this.#watchers.add(watcher);
  }

  /** Stop following; the last watcher gone releases what the SDK opened. */
  _unwatch(watcher) {
    this.#watchers.delete(watcher);
    if (this.#watchers.size === 0) this.#release();
  }
}

/** A video stream to send: `new LocalVideoStream(mediaStream | videoDeviceInfo)`. */
export class LocalVideoStream extends LocalStream {
  constructor(source) {
    super('video', source, VideoDeviceInfo, 'Video');
  }
}

/** An audio stream to send: `new LocalAudioStream(mediaStream | audioDeviceInfo)`. */
export class LocalAudioStream extends LocalStream {
  constructor(source) {
    super('audio', source, AudioDeviceInfo, 'Audio');
  }
}
