// DeviceManager: the cameras, microphones and speakers the browser offers.

import { Emitter } from './events.js';

/** A camera, as `deviceManager.getCameras()` lists it. */
export class VideoDeviceInfo {
  constructor(id, name) {
    this.id = id;
    this.name = name;
    this.deviceType = 'UsbCamera';
  }
}

/** A microphone or speaker, as `getMicrophones()` / `getSpeakers()` list it. */
export class AudioDeviceInfo {
  constructor(id, name, deviceType, isSystemDefault) {
    this.id = id;
    this.name = name;
    this.deviceType = deviceType;
    this.isSystemDefault = isSystemDefault;
  }
}

function mediaDevices() {
  if (!globalThis.navigator?.mediaDevices) {
    throw new Error(
      'this page has no navigator.mediaDevices: load it from https:// or http://localhost ' +
        '(a secure context) to use cameras and microphones',
    );
  }
  return navigator.mediaDevices;
}

export class DeviceManager extends Emitter {
  #selectedMicrophone = null;
  #selectedSpeaker = null;

  constructor() {
    super(['videoDevicesUpdated', 'audioDevicesUpdated', 'selectedMicrophoneChanged', 'selectedSpeakerChanged']);
    globalThis.navigator?.mediaDevices?.addEventListener?.('devicechange', () => {
      this._emit('videoDevicesUpdated', {});
      this._emit('audioDevicesUpdated', {});
    });
  }

  async #devices(kind) {
    return (await mediaDevices().enumerateDevices()).filter((d) => d.kind === kind && d.deviceId);
  }

  /**
   * The cameras (`VideoDeviceInfo[]`). Browsers list none until the page has
   * camera permission (see askDevicePermission).
   */
  async getCameras() {
    return (await this.#devices('videoinput')).map(
      (d, i) => new VideoDeviceInfo(d.deviceId, d.label || `camera ${i + 1}`),
    );
  }

  /** The microphones (`AudioDeviceInfo[]`). */
  async getMicrophones() {
    return (await this.#devices('audioinput')).map(
      (d, i) =>
        new AudioDeviceInfo(d.deviceId, d.label || `microphone ${i + 1}`, 'Microphone', d.deviceId === 'default'),
    );
  }

  /** The speakers (`AudioDeviceInfo[]`). */
  async getSpeakers() {
    return (await this.#devices('audiooutput')).map(
      (d, i) => new AudioDeviceInfo(d.deviceId, d.label || `speaker ${i + 1}`, 'Speaker', d.deviceId === 'default'),
    );
  }

  /** Ask the user for camera and/or microphone access: resolves `{audio, video}` booleans. */
  async askDevicePermission({ audio = false, video = false } = {}) {
    if (!audio && !video) throw new TypeError('askDevicePermission: ask for audio, video or both');
    try {
      const stream = await mediaDevices().getUserMedia({ audio, video });
      stream.getTracks().forEach((track) => track.stop());
      return { audio, video };
    } catch {
      return { audio: false, video: false };
    }
  }

  get selectedMicrophone() {
    return this.#selectedMicrophone;
  }

  get selectedSpeaker() {
    return this.#selectedSpeaker;
  }

  /** Use `device` (from `getMicrophones()`) for `LocalAudioStream`s made from the microphone. */
  async selectMicrophone(device) {
    if (!(device instanceof AudioDeviceInfo) || device.deviceType !== 'Microphone') {
      throw new TypeError('selectMicrophone expects an AudioDeviceInfo from getMicrophones()');
    }
    this.#selectedMicrophone = device;
    this._emit('selectedMicrophoneChanged', {});
  }

  /** Remember `device` (from `getSpeakers()`) as the speaker. */
  async selectSpeaker(device) {
    if (!(device instanceof AudioDeviceInfo) || device.deviceType !== 'Speaker') {
      throw new TypeError('selectSpeaker expects an AudioDeviceInfo from getSpeakers()');
    }
    this.#selectedSpeaker = device;
    this._emit('selectedSpeakerChanged', {});
  }
}

async function open(kind, device) {
  try {
    return await mediaDevices().getUserMedia({ [kind]: { deviceId: { exact: device.id } } });
  } catch (error) {
    const what = kind === 'video' ? 'camera' : 'microphone';
    const wrapped = new Error(
      `cannot open the ${what} '${device.name}' (${device.id}): ${error.name}` +
        (error.message ? `: ${error.message}` : '') +
        (error.name === 'OverconstrainedError' ? ' (is it still plugged in?)' : '') +
        (error.name === 'NotAllowedError' ? ' (permission was refused)' : ''),
    );
    wrapped.name = error.name;
    wrapped.cause = error;
    throw wrapped;
  }
}

/** Open `device` (a VideoDeviceInfo) as a MediaStream. */
export async function openCamera(device) {
  return open('video', device);
}

/** Open `device` (an AudioDeviceInfo) as a MediaStream. */
export async function openMicrophone(device) {
  return open('audio', device);
}

/** Ask the user for a screen, window or tab (the browser prompts). */
export async function openScreen() {
  return mediaDevices().getDisplayMedia({ video: true, audio: false });
}
