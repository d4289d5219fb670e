// Event emitters with the SDK's `.on(name, handler)` / `.off(name, handler)` shape.
//
// Each class names the events it has; subscribing to any other name throws a
// TypeError that lists them, so that a typo is found at once instead of
// silently never firing.

import { logger } from './log.js';

export class Emitter {
  #names;
  #handlers = new Map();

  /** @param {string[]} names the events this object emits */
  constructor(names) {
    this.#names = names;
  }

  #check(name, handler) {
    if (!this.#names.includes(name)) {
      const known = this.#names.map((n) => `'${n}'`).join(', ') || 'none';
      throw new TypeError(`${this.constructor.name} has no event '${name}'; its events: ${known}`);
    }
    if (typeof handler !== 'function') {
      throw new TypeError(`${this.constructor.name}.on('${name}', handler): handler must be a function`);
    }
  }

  /** Call `handler(args)` each time `name` fires. */
  on(name, handler) {
    this.#check(name, handler);
    if (!this.#handlers.has(name)) this.#handlers.set(name, new Set());
    this.#handlers.get(name).add(handler);
  }

  /** Stop calling `handler` for `name` (nothing happens when it was not subscribed). */
  off(name, handler) {
    this.#check(name, handler);
    this.#handlers.get(name)?.delete(handler);
  }

  /** Fire `name`: every handler runs, in subscription order; one that throws is logged. */
  _emit(name, args) {
    for (const handler of [...(this.#handlers.get(name) ?? [])]) {
      try {
        const result = handler(args);
        if (result && typeof result.catch === 'function') {
          result.catch((error) => logger.error(`a '${name}' handler failed`, error));
        }
      } catch (error) {
        logger.error(`a '${name}' handler failed`, error);
      }
    }
  }
}
