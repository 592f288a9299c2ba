// pongo2's value semantics over plain JS values: nil, strings, ints (JS integers), floats (Float),
// booleans, lists, maps (own keys only) and functions. Printing, truthiness, numbers and
// comparisons follow pongo2 (booleans print True/False, floats print %f, "a"+"b" is 0).
export class Float {
  readonly v: number;
  constructor(v: number) {
    this.v = v;
  }
}

export class Fn {
  readonly name: string;
  readonly arity: number;
  readonly call: (args: Value[]) => Value;
  constructor(name: string, arity: number, call: (args: Value[]) => Value) {
    this.name = name;
    this.arity = arity;
    this.call = call;
  }
}

/** A map: own enumerable keys only (no prototype lookups). */
export type VMap = { readonly [k: string]: Value };
export type Value = null | string | number | boolean | Float | Fn | readonly Value[] | VMap;

export const isMap = (v: Value): v is VMap =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Float) && !(v instanceof Fn);
export const isFloat = (v: Value): v is Float => v instanceof Float;
export const isInt = (v: Value): v is number => typeof v === 'number';
export const isNumber = (v: Value): boolean => isInt(v) || isFloat(v);

export function toStr(v: Value): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (v instanceof Float) return Number.isFinite(v.v) ? v.v.toFixed(6) : v.v > 0 ? '+Inf' : v.v < 0 ? '-Inf' : 'NaN';
  if (v instanceof Fn) return '';
  if (Array.isArray(v)) return `[${v.map(toStr).join(' ')}]`;
  const m = v as VMap;
  return `map[${Object.keys(m)
    .sort()
    .map((k) => `${k}:${toStr(m[k]!)}`)
    .join(' ')}]`;
}

export function truthy(v: Value): boolean {
  if (v === null) return false;
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'boolean') return v;
  if (v instanceof Float) return v.v !== 0;
  if (v instanceof Fn) return true;
  if (Array.isArray(v)) return v.length > 0;
  return Object.keys(v).length > 0;
}

/** Go's strconv.Atoi on strings (0 when not an integer), truncation of floats, 1/0 for booleans. */
export function toInt(v: Value): number {
  if (typeof v === 'number') return v;
  if (v instanceof Float) return Math.trunc(v.v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') return /^[+-]?[0-9]+$/.test(v) ? Number.parseInt(v, 10) : 0;
  return 0;
}

export function toFloat(v: Value): number {
  if (v instanceof Float) return v.v;
  if (typeof v === 'string') return /^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(v) ? Number(v) : 0;
  return toInt(v);
}

/** Characters (code points), as Go ranges over runes. */
export const runes = (s: string): string[] => Array.from(s);

/** Length as pongo2 counts it: characters of strings, entries of lists and maps. */
export function length(v: Value): number {
  if (typeof v === 'string') return runes(v).length;
  if (Array.isArray(v)) return v.length;
  if (isMap(v)) return Object.keys(v).length;
  return 0;
}

export function equal(a: Value, b: Value): boolean {
  if (isNumber(a) && isNumber(b)) return isFloat(a) || isFloat(b) ? toFloat(a) === toFloat(b) : a === b;
  if (a === null || b === null) return a === b;
  if (typeof a !== 'object' || typeof b !== 'object') return a === b;
  return toStr(a) === toStr(b) && Array.isArray(a) === Array.isArray(b);
}

/** `a in b`: substring of a string, key of a map, element of a list. */
export function contains(hay: Value, needle: Value): boolean {
  if (typeof hay === 'string') return hay.includes(toStr(needle));
  if (Array.isArray(hay)) return hay.some((x) => equal(x, needle));
  if (isMap(hay)) return Object.hasOwn(hay, toStr(needle));
  return false;
}

/** Attribute lookup: map key (own only), list index; anything else is nil. */
export function attr(v: Value, key: string): Value {
  if (isMap(v)) return Object.hasOwn(v, key) ? v[key]! : null;
  if (Array.isArray(v) && /^[0-9]+$/.test(key)) return v[Number(key)] ?? null;
  return null;
}

/**
 * pongo2 loops over a string's BYTES (not characters): a non-ASCII byte is kept as one code point
 * of plane 16 (U+100000 + byte) until toBytes() writes it back as that raw byte.
 */
const BYTE_BASE = 0x100000;
export const bytesOf = (s: string): string[] =>
  [...Buffer.from(s, 'utf8')].map((b) => (b < 0x80 ? String.fromCharCode(b) : String.fromCodePoint(BYTE_BASE + b)));

/** Rendered output as the bytes pongo2 writes (see bytesOf). */
export function toBytes(s: string): Buffer {
  if (!/[\u{100080}-\u{1000ff}]/u.test(s)) return Buffer.from(s, 'utf8');
  const parts: Buffer[] = [];
  for (const piece of s.split(/([\u{100080}-\u{1000ff}])/u))
    if (piece) {
      const cp = piece.codePointAt(0)!;
      parts.push(cp >= BYTE_BASE ? Buffer.from([cp - BYTE_BASE]) : Buffer.from(piece, 'utf8'));
    }
  return Buffer.concat(parts);
}

/** Go's unicode.ToUpper/ToLower, rune by rune (simple case mapping: "ß" stays "ß"). */
export const goUpper = (s: string): string =>
  Array.from(s, (c) => {
    const u = c.toUpperCase();
    return Array.from(u).length === 1 ? u : c;
  }).join('');
export const goLower = (s: string): string =>
  Array.from(s, (c) => {
    const l = c.toLowerCase();
    return Array.from(l).length === 1 ? l : Array.from(l)[0]!;
  }).join('');
