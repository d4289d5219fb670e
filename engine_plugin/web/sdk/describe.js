// How a value is named in the SDK's error messages ("got string", "got HTMLCanvasElement").

/** The type of `value` for an error message: 'null', 'string', or the object's class name. */
export function describe(value) {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return value.constructor?.name ?? 'object';
}
