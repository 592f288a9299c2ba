// Go's json.Decoder.Decode into `struct { State string `json:"state"` }`, for the errors only: the first
// value of the body is scanned as Go's scanner does (encoding/json/scanner.go) and every failure is worded
// as Go words it, because the guest API sends that text back (PATCH /1.0). Pure.

export class GoJsonError extends Error {}

const quoteChar = (c: string): string =>
  c === "'" ? `'\\''` : c === '"' ? `'"'` : `'${JSON.stringify(c).slice(1, -1)}'`;
const invalid = (c: string, context: string) => new GoJsonError(`invalid character ${quoteChar(c)} ${context}`);
const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r';
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

/** Scans one JSON value from `s` at `i`; returns its end. Throws GoJsonError with Go's text. */
function scanValue(s: string, i: number): number {
  while (isSpace(s[i])) i++;
  const c = s[i];
  if (c === undefined) throw new GoJsonError('unexpected EOF');
  if (c === '{') return scanObject(s, i + 1);
  if (c === '[') return scanArray(s, i + 1);
  if (c === '"') return scanString(s, i + 1);
  if (c === '-' || isDigit(c)) return scanNumber(s, i);
  for (const lit of ['true', 'false', 'null']) {
    if (c !== lit[0]) continue;
    for (let k = 1; k < lit.length; k++) {
      const x = s[i + k];
      if (x === undefined) throw new GoJsonError('unexpected EOF');
      if (x !== lit[k]) throw invalid(x, `in literal ${lit} (expecting ${quoteChar(lit[k]!)})`);
    }
    return i + lit.length;
  }
  throw invalid(c, 'looking for beginning of value');
}

function scanString(s: string, i: number): number {
  for (;;) {
    const c = s[i];
    if (c === undefined) throw new GoJsonError('unexpected EOF');
    if (c === '"') return i + 1;
    if (c < ' ') throw invalid(c, 'in string literal');
    if (c === '\\') {
      const e = s[i + 1];
      if (e === undefined) throw new GoJsonError('unexpected EOF');
      if (e === 'u') {
        for (let k = 2; k < 6; k++) {
          const h = s[i + k];
          if (h === undefined) throw new GoJsonError('unexpected EOF');
          if (!/[0-9a-fA-F]/.test(h)) throw invalid(h, 'in \\u hexadecimal character escape');
        }
        i += 6;
        continue;
      }
      if (!'"\\/bfnrt'.includes(e)) throw invalid(e, 'in string escape code');
      i += 2;
      continue;
    }
    i++;
  }
}

function scanNumber(s: string, i: number): number {
  if (s[i] === '-') {
    i++;
    if (s[i] === undefined) throw new GoJsonError('unexpected EOF');
    if (!isDigit(s[i])) throw invalid(s[i]!, 'in numeric literal');
  }
  if (s[i] === '0') i++;
  else while (isDigit(s[i])) i++;
  if (s[i] === '.') {
    i++;
    if (s[i] === undefined) throw new GoJsonError('unexpected EOF');
    if (!isDigit(s[i])) throw invalid(s[i]!, 'after decimal point in numeric literal');
    while (isDigit(s[i])) i++;
  }
  if (s[i] === 'e' || s[i] === 'E') {
    i++;
    if (s[i] === '+' || s[i] === '-') i++;
    if (s[i] === undefined) throw new GoJsonError('unexpected EOF');
    if (!isDigit(s[i])) throw invalid(s[i]!, 'in exponent of numeric literal');
    while (isDigit(s[i])) i++;
  }
  return i;
}

function skip(s: string, i: number): number {
  while (isSpace(s[i])) i++;
  if (s[i] === undefined) throw new GoJsonError('unexpected EOF');
  return i;
}

function scanObject(s: string, i: number): number {
  i = skip(s, i);
  if (s[i] === '}') return i + 1;
  for (;;) {
    if (s[i] !== '"') throw invalid(s[i]!, 'looking for beginning of object key string');
    i = skip(s, scanString(s, i + 1));
    if (s[i] !== ':') throw invalid(s[i]!, 'after object key');
    i = skip(s, scanValue(s, i + 1));
    if (s[i] === '}') return i + 1;
    if (s[i] !== ',') throw invalid(s[i]!, 'after object key:value pair');
    i = skip(s, i + 1);
  }
}

function scanArray(s: string, i: number): number {
  i = skip(s, i);
  if (s[i] === ']') return i + 1;
  for (;;) {
    i = skip(s, scanValue(s, i));
    if (s[i] === ']') return i + 1;
    if (s[i] !== ',') throw invalid(s[i]!, 'after array element');
    i = skip(s, i + 1);
  }
}

const goKind = (v: unknown): string =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'array'
      : typeof v === 'number'
        ? 'number'
        : typeof v === 'boolean'
          ? 'bool'
          : typeof v === 'object'
            ? 'object'
            : 'string';

/**
 * Decodes the body's first JSON value into `{ State string }` named `putType`; returns the state (undefined
 * when absent or null). An empty body is Go's `EOF`; bytes after the first value are ignored (Decode reads one).
 */
export function decodeGoStatePut(body: string, putType: string): string | undefined {
  let i = 0;
  while (isSpace(body[i])) i++;
  if (i === body.length) throw new GoJsonError('EOF');
  const end = scanValue(body, i);
  const v = JSON.parse(body.slice(i, end)) as unknown;
  if (v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v))
    throw new GoJsonError(`json: cannot unmarshal ${goKind(v)} into Go value of type api.${putType}`);
  // Go matches field names case-insensitively; the last matching key wins.
  let state: unknown;
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) if (k.toLowerCase() === 'state') state = val;
  if (state === undefined || state === null) return undefined;
  if (typeof state !== 'string')
    throw new GoJsonError(
      `json: cannot unmarshal ${goKind(state)} into Go struct field ${putType}.state of type string`,
    );
  return state;
}
