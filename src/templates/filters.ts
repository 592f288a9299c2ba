// pongo2's common filters, same results (Go semantics: characters are runes, joins use String()).
// A filter that could build huge strings checks the size budget it is given.
import {
  Float,
  goLower,
  goUpper,
  isFloat,
  isMap,
  isNumber,
  length,
  runes,
  toFloat,
  toInt,
  toStr,
  truthy,
  type Value,
} from './values.ts';

export type Filter = (v: Value, arg: Value, hasArg: boolean, room: (n: number) => void) => Value;

const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => HTML[c]!);

const items = (v: Value): Value[] =>
  typeof v === 'string' ? runes(v) : Array.isArray(v) ? [...v] : isMap(v) ? Object.keys(v).sort() : [];

function pad(v: Value, arg: Value, room: (n: number) => void, side: 'l' | 'r' | 'c'): string {
  const s = toStr(v);
  const width = toInt(arg);
  const n = runes(s).length;
  if (width <= n) return s;
  room(width);
  const fill = width - n;
  if (side === 'l') return s + ' '.repeat(fill);
  if (side === 'r') return ' '.repeat(fill) + s;
  const left = Math.floor(fill / 2);
  return ' '.repeat(left) + s + ' '.repeat(fill - left);
}

export const FILTERS: Readonly<Record<string, Filter>> = {
  default: (v, arg) => (truthy(v) ? v : arg),
  default_if_none: (v, arg) => (v === null ? arg : v),
  lower: (v) => goLower(toStr(v)),
  upper: (v) => goUpper(toStr(v)),
  title: (v) => goLower(toStr(v)).replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_, a, b) => a + goUpper(b)),
  capfirst: (v) => {
    const r = runes(toStr(v));
    return r.length ? r[0]!.toUpperCase() + r.slice(1).join('') : '';
  },
  length: (v) => length(v),
  length_is: (v, arg) => length(v) === toInt(arg),
  join: (v, arg, _h, room) => {
    if (!(typeof v === 'string' || Array.isArray(v))) return v;
    const out = items(v).map(toStr).join(toStr(arg));
    room(out.length);
    return out;
  },
  split: (v, arg) => toStr(v).split(toStr(arg)),
  first: (v) => items(v)[0] ?? '',
  last: (v) => items(v).at(-1) ?? '',
  make_list: (v) => runes(toStr(v)),
  integer: (v) => toInt(v),
  float: (v) => new Float(toFloat(v)),
  add: (v, arg, _h, room) => {
    if (isNumber(v) && isNumber(arg))
      return isFloat(v) || isFloat(arg) ? new Float(toFloat(v) + toFloat(arg)) : toInt(v) + toInt(arg);
    const s = toStr(v) + toStr(arg);
    room(s.length);
    return s;
  },
  escape: (v) => escapeHtml(toStr(v)),
  e: (v) => escapeHtml(toStr(v)),
  safe: (v) => v,
  cut: (v, arg) => toStr(v).split(toStr(arg)).join(''),
  addslashes: (v) => toStr(v).replace(/[\\"']/g, (c) => `\\${c}`),
  linebreaksbr: (v) => toStr(v).replace(/\n/g, '<br />'),
  wordcount: (v) => toStr(v).split(/\s+/).filter(Boolean).length,
  urlencode: (v) =>
    encodeURIComponent(toStr(v))
      .replace(/%20/g, '+')
      .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
  ljust: (v, arg, _h, room) => pad(v, arg, room, 'l'),
  rjust: (v, arg, _h, room) => pad(v, arg, room, 'r'),
  center: (v, arg, _h, room) => pad(v, arg, room, 'c'),
  truncatechars: (v, arg) => {
    const r = runes(toStr(v));
    const n = toInt(arg);
    if (r.length <= n) return r.join('');
    return n >= 3 ? `${r.slice(0, n - 3).join('')}...` : r.slice(0, n).join('');
  },
  yesno: (v, arg, hasArg) => {
    const words = (hasArg ? toStr(arg) : 'yes,no,maybe').split(',');
    if (v === null) return words[2] ?? words[1] ?? '';
    return truthy(v) ? (words[0] ?? '') : (words[1] ?? '');
  },
  striptags: (v) => toStr(v).replace(/<[^>]*>/g, ''),
};
