// CallAgent: one signed-in user's connection to the calling service, and its calls.

import { Call, IncomingCall, parseCallOptions } from './call.js';
import { Emitter } from './events.js';
import { logger } from './log.js';
import { Signaling } from './signaling.js';
import { describe } from './describe.js';

const GROUP_ID = /^[A-Za-z0-9\-_.:]{1,128}$/;
const MAX_TARGETS = 32;

function targetId(target) {
  if (typeof target === 'string' && target) return target;
  if (target && typeof target === 'object' && typeof target.communicationUserId === 'string' && target.communicationUserId) {
    return target.communicationUserId;
  }
  throw new TypeError(
    'callAgent.startCall: expected {communicationUserId: "8:acs:..."} (or the user id string) for each ' +
      `participant, got ${describe(target)}`,
  );
}

export class CallAgent extends Emitter {
  #signaling;
  #displayName;
  #iceServers;
  #calls = [];
  #byId = new Map();
  #incoming = new Map();
  #state = 'Connected';
  #disposed = false;

  /** Made by `callClient.createCallAgent()`. */
  constructor(signaling, displayName, iceServers) {
    super(['callsUpdated', 'incomingCall', 'connectionStateChanged']);
    this.#signaling = signaling;
    this.#displayName = displayName;
    this.#iceServers = iceServers;
    this.kind = 'CallAgent';
  }

  /** Connect `signaling` to the service and return the agent (used by CallClient). */
  static async _create(credential, displayName, iceServers) {
    let agent = null;
    const signaling = new Signaling(
      (message) => agent?._onEvent(message),
      (reason) => agent?._onClosed(reason),
    );
    const { token } = await credential.getToken();
    try {
      await signaling.connect(credential._endpoint, token);
    } catch (error) {
      signaling.close();
      throw error;
    }
    agent = new CallAgent(signaling, displayName, iceServers);
    logger.info(`signed in as ${signaling.userId}`);
    return agent;
  }

  /** The calls this agent is in (connecting ones included). */
  get calls() {
    return [...this.#calls];
  }

  /** The name others see. */
  get displayName() {
    return this.#displayName;
  }

  /** 'Connected' or 'Disconnected' (the service closed the connection). */
  get connectionState() {
    return this.#state;
  }

  /** This agent's user id (`8:acs:...`). Not part of the Azure API. */
  get userId() {
    return this.#signaling.userId;
  }

  #checkUsable(method) {
    if (this.#disposed) throw new Error(`callAgent.${method}: the CallAgent is disposed`);
    if (this.#state !== 'Connected') {
      throw new Error(`callAgent.${method}: the connection to the calling service is closed`);
    }
  }

  /** Join the group call `{groupId}`; returns the Call at once. */
  join(locator, options) {
    this.#checkUsable('join');
    if (!locator || typeof locator !== 'object' || !('groupId' in locator)) {
      throw new TypeError(`callAgent.join expects {groupId: string}, got ${describe(locator)}`);
    }
    const { groupId } = locator;
    if (typeof groupId !== 'string' || !GROUP_ID.test(groupId)) {
      throw new TypeError(
        'callAgent.join: groupId must be 1-128 letters, digits or -_.: (a GUID works), ' +
          `got ${JSON.stringify(groupId)}`,
      );
    }
    return this.#open({ type: 'join', group_id: groupId }, parseCallOptions(options, 'callAgent.join'));
  }

  /** Call users (`[{communicationUserId}]`, or one id); returns the Call at once. */
  startCall(participants, options) {
    this.#checkUsable('startCall');
    const list = Array.isArray(participants) ? participants : [participants];
    const targets = [...new Set(list.map(targetId))];
    if (targets.length === 0 || targets.length > MAX_TARGETS) {
      throw new TypeError(`callAgent.startCall: expected 1-${MAX_TARGETS} participants, got ${targets.length}`);
    }
    return this.#open({ type: 'start_call', targets }, parseCallOptions(options, 'callAgent.startCall'));
  }

  #open(request, parsed) {
    const call = new Call(this, 'Outgoing', parsed);
    this._track(call);
    call._connect(request).catch(() => {}); // the call ends with callEndReason saying why
    return call;
  }

  /** Hang up every call and close the connection to the service. */
  async dispose() {
    if (this.#disposed) return;
    await Promise.all(this.#calls.map((call) => call.hangUp()));
    this.#disposed = true;
    this.#signaling.close();
    this.#setState('Disconnected');
  }

  #setState(state) {
    if (state === this.#state) return;
    this.#state = state;
    this._emit('connectionStateChanged', {});
  }

  // --- SDK internals ---------------------------------------------------------

  get _iceServers() {
    return this.#iceServers;
  }

  _request(message, onReply = null) {
    return this.#signaling.request(message, 10000, onReply);
  }

  _send(message) {
    this.#signaling.send(message);
  }

  _track(call) {
    this.#calls.push(call);
    this._emit('callsUpdated', { added: [call], removed: [] });
  }

  _register(call) {
    this.#byId.set(call.id, call);
  }

  _unregister(call) {
    if (this.#byId.get(call.id) === call) this.#byId.delete(call.id);
    const index = this.#calls.indexOf(call);
    if (index >= 0) {
      this.#calls.splice(index, 1);
      this._emit('callsUpdated', { added: [], removed: [call] });
    }
  }

  _onEvent(message) {
    if (message.type === 'incoming_call') {
      const incomingCall = new IncomingCall(this, message);
      this.#incoming.set(incomingCall.id, incomingCall);
      this._emit('incomingCall', { incomingCall });
    } else if (message.type === 'incoming_call_ended') {
      const incomingCall = this.#incoming.get(message.call_id);
      this.#incoming.delete(message.call_id);
      incomingCall?._ended(message.reason);
    } else if (typeof message.call_id === 'string') {
      this.#byId.get(message.call_id)?._handle(message);
    }
  }

  _onClosed(reason) {
    logger.warning(`the calling service closed the connection: ${reason}`);
    for (const call of [...this.#calls]) call._end('disconnected', reason);
    this.#setState('Disconnected');
  }
}
