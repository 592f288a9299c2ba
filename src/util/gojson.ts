// JSON as Go's encoding/json writes it, so bodies compare byte-for-byte with LXD:
// object keys of maps sorted (callers pass maps through sortKeys), U+2028/U+2029 escaped,
// and optionally HTML escaping (<, >, & as \u003c, \u003e, \u0026), which Go does by default.

const HTML = /[<>&\u2028\u2029]/g;
const LINE_SEPS = /[\u2028\u2029]/g;
const hex4 = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** Encode like Go's json.Encoder (+ trailing LF when `newline`). Key order is the caller's. */
export function goJson(value: unknown, opts: { escapeHTML: boolean; newline?: boolean }): string {
  const s = JSON.stringify(value).replace(opts.escapeHTML ? HTML : LINE_SEPS, hex4);
  return opts.newline === false ? s : `${s}\n`;
}

/** A copy of a string map with keys sorted, as Go emits map[string]T. */
export function sortKeys<T>(m: Readonly<Record<string, T>>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(m).sort()) out[k] = m[k]!;
  return out;
}
