// The client side of the signaling protocol (docs/protocol.md) over a WebSocket.
//
// `request()` sends a message with a fresh `ref` and resolves with the reply
// that echoes it (or rejects with a SignalingError for an `error` reply);
// every other message goes to `onEvent`, in arrival order.

import { logger } from './log.js';

/** The service answered with `error`, or the connection failed. `code` says which. */
export class SignalingError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.name = 'SignalingError';
    this.code = code;
  }
}

/** `http://host:port/` -> `ws://host:port/signaling` (https -> wss). */
export function signalingUrl(endpoint) {
  const base = endpoint.endsWith('/') ? endpoint : `${endpoint}/`;
  return `${base.replace(/^http/, 'ws')}signaling`;
}

export class Signaling {
  #ws = null;
  #refs = 0;
  #pending = new Map();
  #onEvent;
  #onClosed;
  userId = '';
  connectionId = '';

  /**
   * @param {(message: object) => void} onEvent every message that is not a reply
   * @param {(reason: string) => void} onClosed called once when the socket closes
   */
  constructor(onEvent, onClosed) {
    this.#onEvent = onEvent;
    this.#onClosed = onClosed;
  }

  /** Open the socket to `endpoint` and authenticate with `token`. */
  async connect(endpoint, token, timeoutMs = 10000) {
    const url = signalingUrl(endpoint);
    const ws = new WebSocket(url);
    this.#ws = ws;
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () =>
        reject(new SignalingError('unreachable', `cannot reach the calling service at ${url}`));
    });
    ws.onerror = null;
    ws.onmessage = (event) => this.#receive(event.data);
    ws.onclose = (event) => this.#closed(event);
    const welcome = await this.request({ type: 'auth', token }, timeoutMs);
    this.userId = welcome.user_id;
    this.connectionId = welcome.connection_id;
  }

  get open() {
    return this.#ws !== null && this.#ws.readyState === WebSocket.OPEN;
  }

  /** Send one message without waiting for a reply. */
  send(message) {
    if (!this.open) throw new SignalingError('closed', 'the connection to the calling service is closed');
    this.#ws.send(JSON.stringify(message));
  }

  /**
   * Send `message` and resolve with its reply. `onReply` (optional) runs on a
   * successful reply before any later message is handled: state that later
   * events rely on (a new call) is set up there, in order.
   */
  request(message, timeoutMs = 10000, onReply = null) {
    const ref = `r${++this.#refs}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(ref);
        reject(new SignalingError('timeout', `no reply to '${message.type}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(ref, { resolve, reject, timer, onReply });
      try {
        this.send({ ...message, ref });
      } catch (error) {
        clearTimeout(timer);
        this.#pending.delete(ref);
        reject(error);
      }
    });
  }

  #receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      logger.warning('signaling: ignoring a message that is not JSON');
      return;
    }
    if (message === null || typeof message !== 'object' || typeof message.type !== 'string') {
      logger.warning('signaling: ignoring a message without a type');
      return;
    }
    const pending = typeof message.ref === 'string' ? this.#pending.get(message.ref) : undefined;
    if (pending !== undefined) {
      this.#pending.delete(message.ref);
      clearTimeout(pending.timer);
      if (message.type === 'error') {
        pending.reject(new SignalingError(message.code, message.message));
        return;
      }
      try {
        pending.onReply?.(message);
      } catch (error) {
        logger.error('signaling: handling a reply failed', error);
      }
      pending.resolve(message);
      return;
    }
    if (message.type === 'error') logger.warning('signaling error from the service:', message.message);
    try {
      this.#onEvent(message);
    } catch (error) {
      logger.error(`signaling: handling '${message.type}' failed`, error);
    }
  }

  #closed(event) {
    const reason = event.code === 4401 ? 'unauthorized' : `closed (${event.code})`;
    logger.info('signaling connection', reason);
    for (const { reject, timer } of this.#pending.values()) {
      clearTimeout(timer);
      reject(new SignalingError('closed', `signaling ${reason}`));
    }
    this.#pending.clear();
    const callback = this.#onClosed;
    this.#onClosed = null;
    callback?.(reason);
  }

  /** Close the socket (the service then removes this agent from its calls). */
  close() {
    this.#onClosed = null;
    if (this.#ws !== null && this.#ws.readyState <= WebSocket.OPEN) this.#ws.close(1000, 'bye');
  }
}
