// Remote audio: every remote participant is played out, and `call.remoteAudioStreams[0]`
// is the mix of all of them as one MediaStream (Web Audio), as in the Azure SDK.

import { logger } from './log.js';

/** Plays each remote participant's audio track and mixes them into one stream on demand. */
export class AudioMixer {
  #tracks = new Map();
  #players = new Map();
  #context = null;
  #destination = null;
  #sources = new Map();
  #muted = false;

  /** Start playing (and mixing) `track` of participant `id`. */
  add(id, track) {
    if (this.#tracks.get(id) === track) return;
    this.remove(id);
    this.#tracks.set(id, track);
    // An <audio> element plays the track; Chromium also needs one for Web Audio
    // to receive a remote WebRTC track at all.
    const player = new Audio();
    player.autoplay = true;
    player.muted = this.#muted;
    player.srcObject = new MediaStream([track]);
    player.play().catch((error) => logger.info('remote audio waits for a user gesture:', error.message));
    this.#players.set(id, player);
    if (this.#context !== null) this.#connect(id, track);
  }

  /** Stop playing and mixing participant `id`. */
  remove(id) {
    this.#tracks.delete(id);
    const player = this.#players.get(id);
    if (player !== undefined) {
      player.srcObject = null;
      this.#players.delete(id);
    }
    this.#sources.get(id)?.disconnect();
    this.#sources.delete(id);
  }

  /** Silence (or not) the playback; the mixed stream is not affected. */
  set muted(value) {
    this.#muted = Boolean(value);
    for (const player of this.#players.values()) player.muted = this.#muted;
  }

  get muted() {
    return this.#muted;
  }

  #connect(id, track) {
    const source = this.#context.createMediaStreamSource(new MediaStream([track]));
    source.connect(this.#destination);
    this.#sources.set(id, source);
  }

  /** The mix of every remote participant, as one MediaStream. */
  async stream() {
    if (this.#context === null) {
      this.#context = new AudioContext();
      this.#destination = this.#context.createMediaStreamDestination();
      for (const [id, track] of this.#tracks) this.#connect(id, track);
    }
    if (this.#context.state === 'suspended') {
      this.#context.resume().catch(() => {});
    }
    return this.#destination.stream;
  }

  close() {
    for (const id of [...this.#tracks.keys()]) this.remove(id);
    this.#context?.close().catch(() => {});
    this.#context = null;
  }
}

/** `call.remoteAudioStreams[0]`: the mixed audio of the call. */
export class RemoteAudioStream {
  #mixer;

  constructor(mixer) {
    this.#mixer = mixer;
    this.id = 1;
    this.mediaStreamType = 'Audio';
  }

  /** The mix of every remote participant's audio, as a MediaStream. */
  async getMediaStream() {
    return this.#mixer.stream();
  }
}
