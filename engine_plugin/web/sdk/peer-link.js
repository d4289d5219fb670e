// PeerLink: the peer connection between us and one remote participant.
//
// As in the Python SDK (docs/protocol.md, "Calls and the mesh"): the newcomer
// offers; every peer connection has three sendrecv transceivers in a fixed
// order (audio, camera video, screen video); starting and stopping media
// replaces the senders' tracks, so nothing is ever renegotiated. Our ICE
// candidates trickle to the remote side as `signal` messages.

import { logger } from './log.js';

const KINDS = ['audio', 'video', 'video'];
const SLOT_INDEX = { camera: 1, screen: 2 };

export class PeerLink {
  #remoteId;
  #sendSignal;
  #onState;
  #onAudioTrack;
  #chain = Promise.resolve();
  #pendingCandidates = [];
  #ready;
  #markReady;
  #tracks = [null, null, null];
  closed = false;

  /**
   * @param {string} remoteId the remote participant's id
   * @param {object} options `{iceServers, sendSignal(data), onState(state), onAudioTrack(track)}`
   */
  constructor(remoteId, { iceServers, sendSignal, onState, onAudioTrack }) {
    this.#remoteId = remoteId;
    this.#sendSignal = sendSignal;
    this.#onState = onState;
    this.#onAudioTrack = onAudioTrack;
    this.#ready = new Promise((resolve) => (this.#markReady = resolve));
    this.pc = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle' });
    this.pc.onicecandidate = ({ candidate }) => {
      if (this.closed) return;
      const data = candidate
        ? { candidate: candidate.candidate, sdpMid: candidate.sdpMid, sdpMLineIndex: candidate.sdpMLineIndex }
        : { candidate: '', sdpMid: null, sdpMLineIndex: null };
      this.#signal({ candidate: data });
    };
    this.pc.onconnectionstatechange = () => {
      logger.verbose(`peer ${remoteId}: ${this.pc.connectionState}`);
      if (!this.closed) this.#onState(this.pc.connectionState);
    };
  }

  #signal(data) {
    try {
      this.#sendSignal(data);
    } catch (error) {
      logger.warning(`peer ${this.#remoteId}: cannot signal:`, error.message);
    }
  }

  #serial(work) {
    this.#chain = this.#chain.then(work).catch((error) => {
      if (!this.closed) logger.error(`peer ${this.#remoteId}:`, error);
    });
    return this.#chain;
  }

  /** Create the transceivers and send our offer (we are the newcomer). */
  offer() {
    return this.#serial(async () => {
      for (const kind of KINDS) this.pc.addTransceiver(kind, { direction: 'sendrecv' });
      this.#applyTracks();
      await this.pc.setLocalDescription(await this.pc.createOffer());
      this.#sendDescription();
      this.#opened();
    });
  }

  /** Handle a `signal` from the remote participant (an SDP or an ICE candidate). */
  onSignal(data) {
    return this.#serial(async () => {
      if (this.closed) return;
      if (data.sdp) {
        await this.pc.setRemoteDescription(data.sdp);
        if (data.sdp.type === 'offer') {
          for (const transceiver of this.pc.getTransceivers().slice(0, KINDS.length)) {
            transceiver.direction = 'sendrecv';
          }
          this.#applyTracks();
          await this.pc.setLocalDescription(await this.pc.createAnswer());
          this.#sendDescription();
          this.#opened();
        }
        for (const candidate of this.#pendingCandidates.splice(0)) await this.#addCandidate(candidate);
      } else if (data.candidate) {
        if (this.pc.remoteDescription === null) this.#pendingCandidates.push(data.candidate);
        else await this.#addCandidate(data.candidate);
      }
    });
  }

  async #addCandidate(candidate) {
    if (!candidate.candidate) return; // end of candidates
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (error) {
      logger.warning(`peer ${this.#remoteId}: ignoring an ICE candidate:`, error.message);
    }
  }

  #sendDescription() {
    const { type, sdp } = this.pc.localDescription;
    this.#signal({ sdp: { type, sdp } });
  }

  #opened() {
    this.#markReady();
    // Keep the announced resolution: a game gets the size it was told, at a
    // lower rate when bandwidth or CPU is short (browsers default to scaling down).
    for (const transceiver of this.pc.getTransceivers().slice(1, KINDS.length)) {
      const parameters = transceiver.sender.getParameters();
      parameters.degradationPreference = 'maintain-resolution';
      transceiver.sender.setParameters(parameters).catch((error) => {
        logger.info(`peer ${this.#remoteId}: cannot keep the resolution:`, error.message);
      });
    }
    const track = this.pc.getTransceivers()[0]?.receiver.track;
    if (track) this.#onAudioTrack(track);
  }

  /** Send `[audio, camera, screen]` tracks (null: nothing) from now on. */
  setTracks(tracks) {
    this.#tracks = tracks;
    this.#applyTracks();
  }

  #applyTracks() {
    const transceivers = this.pc.getTransceivers();
    transceivers.slice(0, KINDS.length).forEach((transceiver, index) => {
      const track = this.#tracks[index] ?? null;
      if (transceiver.sender.track !== track && !this.closed) {
        transceiver.sender.replaceTrack(track).catch((error) => {
          logger.warning(`peer ${this.#remoteId}: cannot send a ${KINDS[index]} track:`, error.message);
        });
      }
    });
  }

  /** The track received on `slot` ('camera' or 'screen'), once negotiated. */
  async receivedTrack(slot) {
    await this.#ready;
    return this.pc.getTransceivers()[SLOT_INDEX[slot]].receiver.track;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.pc.close();
    this.#markReady();
  }
}
