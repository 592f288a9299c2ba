// Equality of plain data (strings, numbers, booleans, null, arrays, objects: what the inventory holds)
// exactly as JSON.stringify(a) === JSON.stringify(b) decides it (keys in order, undefined-valued keys
// absent), without building the strings: an instance with a 512 KiB config value cost two 512 KiB
// stringifications per change just to learn whether anything changed.

/** JSON.stringify(a) === JSON.stringify(b) for plain data (no toJSON, NaN or Infinity), without stringifying. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    // In arrays JSON writes undefined as null.
    return a.every((x, i) => jsonEqual(x ?? null, b[i] ?? null));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const ka = Object.keys(ra).filter((k) => ra[k] !== undefined);
  const kb = Object.keys(rb).filter((k) => rb[k] !== undefined);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && jsonEqual(ra[k], rb[k]));
}
