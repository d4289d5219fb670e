// engine_plugin's browser calling SDK: the JavaScript flavour of the raw media API.
//
//   import { CallClient, AzureCommunicationTokenCredential, LocalVideoStream } from '/sdk/calling.js';
//   const agent = await new CallClient().createCallAgent(new AzureCommunicationTokenCredential(token));
//   const call = agent.join({ groupId }, { videoOptions: { localVideoStreams: [new LocalVideoStream(canvas.captureStream(30))] } });
//
// It speaks the signaling protocol of docs/protocol.md, so browsers and
// Python agents (games) meet in the same calls. Served by the calling service
// at /sdk/calling.js; no build step.

import { CallAgent } from './call-agent.js';
import { DeviceManager } from './devices.js';

export { Call, IncomingCall } from './call.js';
export { CallAgent } from './call-agent.js';
export { AzureCommunicationTokenCredential } from './credential.js';
export { AudioDeviceInfo, DeviceManager, VideoDeviceInfo } from './devices.js';
export { LocalAudioStream, LocalVideoStream } from './local-streams.js';
export { setLogLevel } from './log.js';
export { RemoteParticipant, RemoteVideoStream } from './remote.js';
export { RemoteAudioStream } from './remote-audio.js';
export { SignalingError } from './signaling.js';

export const VERSION = '0.1.0';

export class CallClient {
  #agent = null;
  #deviceManager = null;
  #iceServers;

  /**
   * @param {object} [options] `{iceServers}`: RTCIceServer entries for the peer
   *   connections (default none: host candidates only, as for one machine or a LAN).
   */
  constructor(options = {}) {
    const iceServers = options?.iceServers ?? [];
    if (!Array.isArray(iceServers)) throw new TypeError('CallClient: options.iceServers must be an array');
    this.#iceServers = iceServers;
  }

  /**
   * Sign in: resolves with a CallAgent connected to the service named in the token.
   * @param {AzureCommunicationTokenCredential} credential
   * @param {object} [options] `{displayName}` (at most 256 characters)
   */
  async createCallAgent(credential, options = {}) {
    if (typeof credential?.getToken !== 'function' || typeof credential._endpoint !== 'string') {
      throw new TypeError('createCallAgent expects an AzureCommunicationTokenCredential');
    }
    const displayName = options?.displayName ?? '';
    if (typeof displayName !== 'string' || displayName.length > 256) {
      throw new TypeError('createCallAgent: displayName must be a string of at most 256 characters');
    }
    if (this.#agent !== null && this.#agent.connectionState === 'Connected') {
      throw new Error('createCallAgent: this CallClient already has a CallAgent; dispose() it first');
    }
    this.#agent = await CallAgent._create(credential, displayName, this.#iceServers);
    return this.#agent;
  }

  /** The DeviceManager (cameras, microphones, speakers). */
  async getDeviceManager() {
    this.#deviceManager ??= new DeviceManager();
    return this.#deviceManager;
  }
}
