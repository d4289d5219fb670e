// The SDK's logger: console output at or above the chosen level (default 'warning').

const LEVELS = ['verbose', 'info', 'warning', 'error'];
let threshold = LEVELS.indexOf('warning');

/** Choose what the SDK logs: 'verbose', 'info', 'warning' (default) or 'error'. */
export function setLogLevel(level) {
  const index = LEVELS.indexOf(level);
  if (index < 0) {
    throw new TypeError(`setLogLevel: expected one of ${LEVELS.join(', ')}, got ${String(level)}`);
  }
  threshold = index;
}

function at(level, write) {
  return (...args) => {
    if (LEVELS.indexOf(level) >= threshold) write('[calling]', ...args);
  };
}

export const logger = {
  verbose: at('verbose', console.debug),
  info: at('info', console.info),
  warning: at('warning', console.warn),
  error: at('error', console.error),
};
