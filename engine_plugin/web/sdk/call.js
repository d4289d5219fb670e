// Call and IncomingCall: one call as the application sees it.
//
// `callAgent.join()` and `startCall()` return a Call at once (state
// 'Connecting'); it becomes 'Connected' when the service has put us in the call
// (a group call) or when the first callee answers (a 1:1 call), and
// 'Disconnected' when it ends, with `callEndReason` saying why.

import { Emitter } from './events.js';
import { openScreen } from './devices.js';
import { LocalAudioStream, LocalVideoStream } from './local-streams.js';
import { logger } from './log.js';
import { PeerLink } from './peer-link.js';
import { RemoteParticipant } from './remote.js';
import { AudioMixer, RemoteAudioStream } from './remote-audio.js';
import { describe } from './describe.js';

const CALL_EVENTS = [
  'stateChanged',
  'idChanged',
  'remoteParticipantsUpdated',
  'localVideoStreamsUpdated',
  'localAudioStreamsUpdated',
  'isMutedChanged',
  'isScreenSharingOnChanged',
  'isIncomingAudioMutedChanged',
];
const MAX_SIZE = 4096;
const END_CODES = { left: 0, declined: 603, no_answer: 480, unavailable: 404, disconnected: 410 };

function sizeOf(track) {
  const settings = track.getSettings?.() ?? {};
  let width = settings.width ?? track.canvas?.width ?? 640;
  let height = settings.height ?? track.canvas?.height ?? 480;
  width = Math.min(MAX_SIZE, Math.max(1, Math.round(width)));
  height = Math.min(MAX_SIZE, Math.max(1, Math.round(height)));
  return { width, height };
}

/**
 * Check call options (`{videoOptions: {localVideoStreams}, audioOptions: {localAudioStreams, muted}}`)
 * and return `{video, audio, muted}`; throws a TypeError that says what was expected.
 */
export function parseCallOptions(options, method) {
  if (options === undefined || options === null) return { video: null, audio: null, muted: false };
  if (typeof options !== 'object') throw new TypeError(`${method}: options must be an object, got ${describe(options)}`);
  const videos = options.videoOptions?.localVideoStreams ?? [];
  const audios = options.audioOptions?.localAudioStreams ?? [];
  for (const [list, cls, field] of [
    [videos, LocalVideoStream, 'videoOptions.localVideoStreams'],
    [audios, LocalAudioStream, 'audioOptions.localAudioStreams'],
  ]) {
    if (!Array.isArray(list) || list.length > 1 || !list.every((item) => item instanceof cls)) {
      throw new TypeError(`${method}: ${field} must be an array of at most one ${cls.name}`);
    }
  }
  const muted = options.audioOptions?.muted ?? false;
  if (typeof muted !== 'boolean') throw new TypeError(`${method}: audioOptions.muted must be a boolean`);
  if (videos[0]?.mediaStreamType === 'ScreenSharing') {
    throw new TypeError(`${method}: a screen-sharing stream is started with call.startScreenSharing()`);
  }
  return { video: videos[0] ?? null, audio: audios[0] ?? null, muted };
}

export class Call extends Emitter {
  #agent;
  #id = '';
  #participantId = '';
  #state = 'None';
  #direction;
  #connected = false;
  #ended = false;
  #group = false;
  #participants = new Map();
  #links = new Map();
  #video = { camera: null, screen: null };
  #audio = null;
  #muted = false;
  #tracks = [null, null, null];
  #watchedScreenTrack = null;
  #lastMedia = '';
  #media = { audio: false, video: [] };
  #sources = Promise.resolve();
  #mixer = new AudioMixer();
  #remoteAudioStreams;
  #watcher = () => this.#sourcesChanged();
  callEndReason = undefined;

  /** Made by CallAgent.join / startCall and IncomingCall.accept; not by applications. */
  constructor(agent, direction, { video, audio, muted }) {
    super(CALL_EVENTS);
    this.#agent = agent;
    this.#direction = direction;
    this.#remoteAudioStreams = [new RemoteAudioStream(this.#mixer)];
    this.#muted = muted;
    if (video) this.#use('camera', video);
    if (audio) this.#useAudio(audio);
  }

  /** The call's id (empty until the service has answered). */
  get id() {
    return this.#id;
  }

  /** 'None', 'Connecting', 'Ringing', 'Connected', 'Disconnecting' or 'Disconnected'. */
  get state() {
    return this.#state;
  }

  /** 'Outgoing' (join, startCall) or 'Incoming' (an accepted IncomingCall). */
  get direction() {
    return this.#direction;
  }

  /** Everyone else in the call. */
  get remoteParticipants() {
    return [...this.#participants.values()];
  }

  /** The video streams this call sends (camera first, then the screen share). */
  get localVideoStreams() {
    return [this.#video.camera, this.#video.screen].filter(Boolean);
  }

  /** The audio streams this call sends (at most one). */
  get localAudioStreams() {
    return this.#audio ? [this.#audio] : [];
  }

  /** `[RemoteAudioStream]`: the mix of every remote participant's audio. */
  get remoteAudioStreams() {
    return [...this.#remoteAudioStreams];
  }

  /** True while our audio is muted (nothing is sent). */
  get isMuted() {
    return this.#muted;
  }

  /** True while a screen share is sent. */
  get isScreenSharingOn() {
    return this.#video.screen !== null;
  }

  /** True while remote audio is not played out. */
  get isIncomingAudioMuted() {
    return this.#mixer.muted;
  }

  // --- Media ---------------------------------------------------------------

  #checkOpen(method) {
    if (this.#ended) throw new Error(`call.${method}: the call has ended`);
  }

  /** Send `localVideoStream` (a camera or a custom MediaStream) as our video. */
  async startVideo(localVideoStream) {
    this.#checkOpen('startVideo');
    if (!(localVideoStream instanceof LocalVideoStream)) {
      throw new TypeError(`call.startVideo expects a LocalVideoStream, got ${describe(localVideoStream)}`);
    }
    if (localVideoStream.mediaStreamType === 'ScreenSharing') {
      throw new TypeError('call.startVideo: a screen-sharing stream is started with call.startScreenSharing()');
    }
    if (this.#video.camera === localVideoStream) return;
    if (this.#video.camera !== null) {
      throw new Error(
        'call.startVideo: video is already on; stopVideo(theStreamItWasStartedWith) first, ' +
          'or change its source with setMediaStream() / switchSource()',
      );
    }
    this.#use('camera', localVideoStream);
    this._emit('localVideoStreamsUpdated', { added: [localVideoStream], removed: [] });
    try {
      await this.#sourcesChanged();
    } catch (error) {
      // The source did not open: take it back, so that nothing else is blocked by it.
      this.#drop('camera');
      this._emit('localVideoStreamsUpdated', { added: [], removed: [localVideoStream] });
      await this.#sourcesChanged().catch(() => {});
      throw error;
    }
  }

  /** Stop sending video; pass the same LocalVideoStream that started it. */
  async stopVideo(localVideoStream) {
    this.#checkOpen('stopVideo');
    const current = this.#video.camera;
    if (current === null) throw new Error('call.stopVideo: video is not on');
    if (localVideoStream !== current) {
      throw new TypeError('call.stopVideo expects the same LocalVideoStream instance that startVideo was given');
    }
    this.#drop('camera');
    this._emit('localVideoStreamsUpdated', { added: [], removed: [current] });
    await this.#sourcesChanged();
  }

  /** Send `localAudioStream` (a microphone or a custom MediaStream) as our audio, replacing any other. */
  async startAudio(localAudioStream) {
    this.#checkOpen('startAudio');
    if (!(localAudioStream instanceof LocalAudioStream)) {
      throw new TypeError(`call.startAudio expects a LocalAudioStream, got ${describe(localAudioStream)}`);
    }
    const previous = this.#audio;
    if (previous === localAudioStream) return;
    this.#useAudio(localAudioStream);
    this._emit('localAudioStreamsUpdated', { added: [localAudioStream], removed: previous ? [previous] : [] });
    try {
      await this.#sourcesChanged();
    } catch (error) {
      // The source did not open: go back to the previous one.
      localAudioStream._unwatch(this.#watcher);
      this.#audio = null;
      if (previous) this.#useAudio(previous);
      this._emit('localAudioStreamsUpdated', { added: previous ? [previous] : [], removed: [localAudioStream] });
      await this.#sourcesChanged().catch(() => {});
      throw error;
    }
  }

  /** Stop sending audio. */
  async stopAudio() {
    this.#checkOpen('stopAudio');
    const previous = this.#audio;
    if (previous === null) return;
    previous._unwatch(this.#watcher);
    this.#audio = null;
    this._emit('localAudioStreamsUpdated', { added: [], removed: [previous] });
    await this.#sourcesChanged();
  }

  /**
   * Share the screen: with no argument the browser asks which screen, window or
   * tab; with a LocalVideoStream (e.g. a canvas) that stream is shared.
   */
  async startScreenSharing(localVideoStream) {
    this.#checkOpen('startScreenSharing');
    if (this.#video.screen !== null) {
      throw new Error('call.startScreenSharing: screen sharing is already on; stopScreenSharing() first');
    }
    let stream = localVideoStream;
    if (stream === undefined) {
      stream = LocalVideoStream._fromScreen(await openScreen());
    } else if (!(stream instanceof LocalVideoStream)) {
      throw new TypeError(`call.startScreenSharing expects a LocalVideoStream or nothing, got ${describe(stream)}`);
    }
    this.#checkOpen('startScreenSharing');
    this.#use('screen', stream);
    this._emit('localVideoStreamsUpdated', { added: [stream], removed: [] });
    this._emit('isScreenSharingOnChanged', {});
    try {
      await this.#sourcesChanged();
    } catch (error) {
      this.#drop('screen');
      this._emit('localVideoStreamsUpdated', { added: [], removed: [stream] });
      this._emit('isScreenSharingOnChanged', {});
      await this.#sourcesChanged().catch(() => {});
      throw error;
    }
  }

  /** Stop sharing the screen (the stream, when given, must be the one being shared). */
  async stopScreenSharing(localVideoStream) {
    this.#checkOpen('stopScreenSharing');
    const current = this.#video.screen;
    if (current === null) return;
    if (localVideoStream !== undefined && localVideoStream !== current) {
      throw new TypeError('call.stopScreenSharing: that LocalVideoStream is not the one being shared');
    }
    this.#drop('screen');
    this._emit('localVideoStreamsUpdated', { added: [], removed: [current] });
    this._emit('isScreenSharingOnChanged', {});
    await this.#sourcesChanged();
  }

  /** Stop sending audio without forgetting the stream. */
  async mute() {
    this.#checkOpen('mute');
    if (this.#muted) return;
    this.#muted = true;
    this._emit('isMutedChanged', {});
    await this.#sourcesChanged();
  }

  /** Send audio again after mute(). */
  async unmute() {
    this.#checkOpen('unmute');
    if (!this.#muted) return;
    this.#muted = false;
    this._emit('isMutedChanged', {});
    await this.#sourcesChanged();
  }

  /** Stop playing the others' audio (the mixed stream is not affected). */
  async muteIncomingAudio() {
    this.#mixer.muted = true;
    this._emit('isIncomingAudioMutedChanged', {});
  }

  /** Play the others' audio again. */
  async unmuteIncomingAudio() {
    this.#mixer.muted = false;
    this._emit('isIncomingAudioMutedChanged', {});
  }

  /** Leave the call. */
  async hangUp() {
    if (this.#ended) return;
    this.#setState('Disconnecting');
    if (this.#id) {
      try {
        await this.#agent._request({ type: 'leave', call_id: this.#id });
      } catch (error) {
        logger.info('leave:', error.message);
      }
    }
    this._end('left');
  }

  #use(slot, stream) {
    this.#video[slot] = stream;
    stream._watch(this.#watcher);
  }

  #drop(slot) {
    this.#video[slot]?._unwatch(this.#watcher);
    this.#video[slot] = null;
  }

  #useAudio(stream) {
    this.#audio?._unwatch(this.#watcher);
    this.#audio = stream;
    stream._watch(this.#watcher);
  }

  /** Resolve the tracks to send, hand them to every peer connection and announce them. */
  #sourcesChanged() {
    const work = async () => {
      if (this.#ended) return;
      const pick = async (stream) => (stream ? stream._track() : null);
      const [audio, camera, screen] = await Promise.all([
        this.#muted ? null : pick(this.#audio),
        pick(this.#video.camera),
        pick(this.#video.screen),
      ]);
      if (this.#ended) return;
      this.#tracks = [audio, camera, screen];
      // The browser's own "stop sharing" ends the capture's track, even when an
      // effect (setMediaStream) sends another one.
      this.#watchScreenTrack(this.#video.screen?._originTrack ?? screen);
      for (const link of this.#links.values()) link.setTracks(this.#tracks);
      const video = [];
      if (camera) video.push({ slot: 'camera', type: 'video', ...sizeOf(camera) });
      if (screen) video.push({ slot: 'screen', type: 'screen_sharing', ...sizeOf(screen) });
      this.#media = { audio: audio !== null, video };
      this.#announce();
    };
    this.#sources = this.#sources.then(work, work);
    return this.#sources;
  }

  #watchScreenTrack(track) {
    if (track === this.#watchedScreenTrack) return;
    this.#watchedScreenTrack = track;
    track?.addEventListener('ended', () => {
      // The browser's own "stop sharing" button ends the track.
      if (this.#watchedScreenTrack === track && !this.#ended) {
        this.stopScreenSharing().catch((error) => logger.warning('stopScreenSharing:', error.message));
      }
    });
  }

  #announce() {
    const text = JSON.stringify(this.#media);
    if (!this.#connected || this.#ended || text === this.#lastMedia) return;
    this.#lastMedia = text;
    try {
      this.#agent._send({ type: 'update', call_id: this.#id, media: this.#media });
    } catch (error) {
      logger.warning('cannot announce our media:', error.message);
    }
  }

  // --- Connecting and events (SDK internals) ---------------------------------

  #setState(state) {
    if (state === this.#state) return;
    this.#state = state;
    this._emit('stateChanged', {});
  }

  /** Send `request` (join, start_call or accept) and follow the call it opens. */
  async _connect(request) {
    this.#group = request.type === 'join';
    this.#setState('Connecting');
    try {
      await this.#sourcesChanged();
      await this.#agent._request(
        { ...request, display_name: this.#agent.displayName, media: this.#media },
        (answer) => this.#opened(answer),
      );
    } catch (error) {
      logger.warning(`${request.type} failed:`, error.message);
      this._end(error.code ?? 'error', error.message);
      throw error;
    }
  }

  #opened(reply) {
    this.#id = reply.call_id;
    this.#participantId = reply.participant_id;
    this.#lastMedia = JSON.stringify(this.#media);
    this._emit('idChanged', {});
    if (this.#ended) {
      // Hung up while connecting: leave at once.
      this.#agent._request({ type: 'leave', call_id: this.#id }).catch(() => {});
      return;
    }
    this.#agent._register(this);
    if (reply.type === 'joined') {
      this.#connect();
      for (const info of reply.participants) {
        this.#addParticipant(info);
        this.#link(info.participant_id, true);
      }
    }
  }

  #connect() {
    if (this.#connected) return;
    this.#connected = true;
    this.#setState('Connected');
    this.#announce();
  }

  #addParticipant(info) {
    if (info.participant_id === this.#participantId || this.#participants.has(info.participant_id)) return;
    const participant = new RemoteParticipant(info);
    this.#participants.set(info.participant_id, participant);
    const link = this.#links.get(info.participant_id);
    if (link) participant._attach(link);
    this._emit('remoteParticipantsUpdated', { added: [participant], removed: [] });
  }

  #link(remoteId, offerer) {
    let link = this.#links.get(remoteId);
    if (link) return link;
    link = new PeerLink(remoteId, {
      iceServers: this.#agent._iceServers,
      sendSignal: (data) => this.#agent._send({ type: 'signal', call_id: this.#id, to: remoteId, data }),
      onState: (state) => {
        const participant = this.#participants.get(remoteId);
        if (state === 'connected') participant?._setState('Connected');
        if (state === 'failed') logger.warning(`the connection to ${remoteId} failed`);
      },
      onAudioTrack: (track) => this.#mixer.add(remoteId, track),
    });
    link.setTracks(this.#tracks);
    this.#links.set(remoteId, link);
    this.#participants.get(remoteId)?._attach(link);
    if (offerer) link.offer();
    return link;
  }

  /** Handle one service event about this call. */
  _handle(message) {
    if (this.#ended) return;
    switch (message.type) {
      case 'participant_joined': {
        const info = message.participant;
        if (info.participant_id === this.#participantId) return;
        this.#link(info.participant_id, false);
        this.#connect(); // a 1:1 call connects when the first callee answers
        this.#addParticipant(info);
        break;
      }
      case 'participant_updated':
        this.#participants.get(message.participant.participant_id)?._update(message.participant);
        break;
      case 'participant_left': {
        const id = message.participant_id;
        this.#links.get(id)?.close();
        this.#links.delete(id);
        this.#mixer.remove(id);
        const participant = this.#participants.get(id);
        if (participant) {
          this.#participants.delete(id);
          participant._left(message.reason ?? 'left');
          this._emit('remoteParticipantsUpdated', { added: [], removed: [participant] });
        }
        if (!this.#group && this.#participants.size === 0 && this.#state === 'Connected') {
          // A 1:1 (or ad-hoc) call ends for us when the last other party is gone.
          this.hangUp().catch((error) => logger.warning('hangUp:', error.message));
        }
        break;
      }
      case 'signal':
        if (message.data && typeof message.data === 'object') {
          this.#link(message.from, false).onSignal(message.data);
        }
        break;
      case 'ringing':
        if (this.#state === 'Connecting') this.#setState('Ringing');
        break;
      case 'call_ended':
        this._end(message.reason ?? 'ended');
        break;
      default:
        logger.verbose(`call ${this.#id}: ignoring '${message.type}'`);
    }
  }

  /** End the call: close every peer connection and say why in `callEndReason`. */
  _end(reason, message = '') {
    if (this.#ended) return;
    this.#ended = true;
    for (const link of this.#links.values()) link.close();
    this.#links.clear();
    this.#mixer.close();
    const removed = [...this.#participants.values()];
    this.#participants.clear();
    for (const participant of removed) participant._left(reason);
    if (removed.length) this._emit('remoteParticipantsUpdated', { added: [], removed });
    for (const stream of [this.#video.camera, this.#video.screen, this.#audio]) stream?._unwatch(this.#watcher);
    this.callEndReason = { code: END_CODES[reason] ?? 500, subCode: 0, reason, message };
    this.#agent._unregister(this);
    this.#setState('Disconnected');
  }
}

/** A call ringing on this agent: `accept(options)` or `reject()`. */
export class IncomingCall extends Emitter {
  #agent;
  #answered = false;

  constructor(agent, message) {
    super(['callEnded']);
    this.#agent = agent;
    this.id = message.call_id;
    const caller = message.caller ?? {};
    this.callerInfo = {
      identifier: { kind: 'communicationUser', communicationUserId: caller.user_id ?? '' },
      displayName: caller.display_name ?? '',
    };
    this.callEndReason = undefined;
  }

  /** Join the call; resolves with the Call once we are in it. */
  async accept(options) {
    const parsed = parseCallOptions(options, 'incomingCall.accept');
    if (this.#answered) throw new Error('incomingCall.accept: this call was already answered');
    this.#answered = true;
    const call = new Call(this.#agent, 'Incoming', parsed);
    this.#agent._track(call);
    await call._connect({ type: 'accept', call_id: this.id });
    return call;
  }

  /** Decline the call (for all of this user's agents). */
  async reject() {
    if (this.#answered) throw new Error('incomingCall.reject: this call was already answered');
    this.#answered = true;
    await this.#agent._request({ type: 'reject', call_id: this.id });
  }

  _ended(reason) {
    this.callEndReason = { code: END_CODES[reason] ?? 487, subCode: 0, reason };
    this._emit('callEnded', { callEndReason: this.callEndReason });
  }
}
