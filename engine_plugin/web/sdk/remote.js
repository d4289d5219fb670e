// RemoteParticipant and RemoteVideoStream: the other people in a call, as the roster and
// their peer connection show them.

import { Emitter } from './events.js';

const SLOT_TYPES = { camera: 'Video', screen: 'ScreenSharing' };
const SLOT_IDS = { camera: 1, screen: 2 };

/** One remote video stream (camera 'Video' or 'ScreenSharing') of a participant. */
export class RemoteVideoStream extends Emitter {
  #participant;
  #slot;
  #available = false;
  #size = { width: 0, height: 0 };
  #mediaStream = null;

  constructor(participant, slot) {
    super(['isAvailableChanged', 'sizeChanged']);
    this.#participant = participant;
    this.#slot = slot;
    this.id = SLOT_IDS[slot];
    this.mediaStreamType = SLOT_TYPES[slot];
  }

  /** True while the participant sends this stream. */
  get isAvailable() {
    return this.#available;
  }

  /** `{width, height}` as the sender announced it. */
  get size() {
    return { ...this.#size };
  }

  /** The stream's video as a MediaStream (one video track), once the peer connection has it. */
  async getMediaStream() {
    const track = await this.#participant._receivedTrack(this.#slot);
    if (this.#mediaStream === null || this.#mediaStream.getVideoTracks()[0] !== track) {
      this.#mediaStream = new MediaStream([track]);
    }
    return this.#mediaStream;
  }

  _set(available, size) {
    if (size && (size.width !== this.#size.width || size.height !== this.#size.height)) {
      this.#size = { width: size.width, height: size.height };
      this._emit('sizeChanged', {});
    }
    if (available !== this.#available) {
      this.#available = available;
      this._emit('isAvailableChanged', {});
    }
  }
}

/** Another participant of a call. */
export class RemoteParticipant extends Emitter {
  #id;
  #state = 'Connecting';
  #displayName = '';
  #muted = true;
  #streams = new Map();
  #link = null;
  #linkWaiters = [];

  constructor(info) {
    super(['stateChanged', 'videoStreamsUpdated', 'isMutedChanged', 'displayNameChanged']);
    this.#id = info.participant_id;
    this.identifier = { kind: 'communicationUser', communicationUserId: info.user_id };
    this.callEndReason = undefined;
    this._update(info);
  }

  /** The participant's id in this call (new at every join). */
  get participantId() {
    return this.#id;
  }

  get displayName() {
    return this.#displayName;
  }

  /** 'Connecting', 'Connected' (media flows) or 'Disconnected'. */
  get state() {
    return this.#state;
  }

  /** True while the participant sends no audio. */
  get isMuted() {
    return this.#muted;
  }

  /** The participant's video streams (each keeps its object while it comes and goes). */
  get videoStreams() {
    return [...this.#streams.values()];
  }

  // --- SDK internals ---------------------------------------------------------

  _update(info) {
    const name = String(info.display_name ?? '');
    if (name !== this.#displayName) {
      this.#displayName = name;
      this._emit('displayNameChanged', {});
    }
    const media = info.media ?? { audio: false, video: [] };
    if (Boolean(!media.audio) !== this.#muted) {
      this.#muted = !media.audio;
      this._emit('isMutedChanged', {});
    }
    const announced = new Map((media.video ?? []).map((source) => [source.slot, source]));
    const added = [];
    for (const [slot, stream] of this.#streams) {
      const source = announced.get(slot);
      stream._set(source !== undefined, source);
    }
    for (const slot of Object.keys(SLOT_TYPES)) {
      if (announced.has(slot) && !this.#streams.has(slot)) {
        // A new stream arrives available (nobody listens to it yet).
        const stream = new RemoteVideoStream(this, slot);
        stream._set(true, announced.get(slot));
        this.#streams.set(slot, stream);
        added.push(stream);
      }
    }
    if (added.length) this._emit('videoStreamsUpdated', { added, removed: [] });
  }

  _setState(state) {
    if (state !== this.#state) {
      this.#state = state;
      this._emit('stateChanged', {});
    }
  }

  _attach(link) {
    this.#link = link;
    for (const resolve of this.#linkWaiters.splice(0)) resolve(link);
  }

  async _receivedTrack(slot) {
    const link = this.#link ?? (await new Promise((resolve) => this.#linkWaiters.push(resolve)));
    return link.receivedTrack(slot);
  }

  _left(reason) {
    this.callEndReason = { code: 0, subCode: 0, reason };
    for (const stream of this.#streams.values()) stream._set(false);
    const removed = [...this.#streams.values()];
    this.#streams.clear();
    if (removed.length) this._emit('videoStreamsUpdated', { added: [], removed });
    this._setState('Disconnected');
  }
}
