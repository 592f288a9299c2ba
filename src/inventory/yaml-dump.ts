// YAML for instance documents, fast for big values. js-yaml's dump chooses each string's style by
// walking it character by character: a 512 KiB config value held the event loop ~5 ms per admin write.
// Strings of BIG bytes or more are written as double-quoted scalars made by JSON.stringify (a valid YAML
// double-quoted scalar once the characters YAML will not take raw are escaped too), spliced in where
// js-yaml wrote a unique placeholder. Anything unexpected falls back to js-yaml alone.
import { randomBytes } from 'node:crypto';
import yaml from 'js-yaml';

/** Strings at least this long skip js-yaml's per-character style choice (shorter ones keep its readable block styles). */
export const BIG = 64 * 1024;

// Not printable in YAML (c-printable), or line breaks in YAML 1.1 readers: escaped, never raw.
// JSON.stringify already escapes C0 controls, quotes, backslashes and lone surrogates.
const YAML_UNSAFE = /[\x7f-\x9f\u2028\u2029\ufffe\uffff]/g;

/** `s` as a YAML double-quoted scalar (one line). */
export function doubleQuoted(s: string): string {
  return JSON.stringify(s).replace(YAML_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** yaml.dump(doc, opts), with every string of BIG or more written by doubleQuoted(). */
export function dumpYaml(doc: unknown, opts: yaml.DumpOptions): string {
  const big: string[] = [];
  const tag = `gg-big-${randomBytes(8).toString('hex')}-`;
  const swap = (v: unknown): unknown => {
    if (typeof v === 'string') return v.length >= BIG ? `${tag}${big.push(v) - 1}` : v;
    if (Array.isArray(v)) return v.map(swap);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, swap(x)]));
    return v;
  };
  const swapped = swap(doc);
  if (!big.length) return yaml.dump(doc, opts);
  const text = yaml.dump(swapped, opts);
  // Each placeholder must stand alone as a plain scalar exactly once, else take the slow road.
  const parts = text.split(new RegExp(`${tag}(\\d+)(?=\\n)`));
  if (parts.length !== 2 * big.length + 1) return yaml.dump(doc, opts);
  let out = parts[0]!;
  for (let i = 1; i < parts.length; i += 2) out += doubleQuoted(big[Number(parts[i])]!) + parts[i + 1]!;
  return out;
}
