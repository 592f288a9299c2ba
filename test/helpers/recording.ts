// Reads a probe recording of a real daemon's guest API (fixtures/reference/<daemon>/probe-responses.txt):
//   ## step <name>
//   ### <METHOD> <path> [note]
//     status: HTTP/1.1 404 Not Found
//     header: Content-Type: text/plain; charset=utf-8
//     body: b'not found\n'          (a Python bytes literal; long bodies: "<n> bytes sha256=...")
import { readFileSync } from 'node:fs';

export interface Recorded {
  readonly step: string;
  readonly request: string;
  readonly status: number;
  readonly headers: readonly (readonly [string, string])[];
  /** Exact bytes, or undefined where only a length and hash were recorded. */
  readonly body: Buffer | undefined;
}

/** Decode a Python bytes literal: b'...' or b"..." with \\n \\r \\t \\\\ \\' \\" \\xNN escapes. */
export function pyBytes(literal: string): Buffer {
  const m = /^b(['"])(.*)\1$/s.exec(literal.trim());
  if (!m) throw new Error(`not a Python bytes literal: ${literal.slice(0, 80)}`);
  const s = m[2]!;
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      out.push(c.charCodeAt(0));
      continue;
    }
    const e = s[++i]!;
    if (e === 'x') {
      out.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push({ n: 10, r: 13, t: 9, '\\': 92, "'": 39, '"': 34 }[e] ?? Number.NaN);
    if (Number.isNaN(out.at(-1))) throw new Error(`unknown escape \\${e} in ${literal.slice(0, 80)}`);
  }
  return Buffer.from(out);
}

export function readRecording(file: URL): Recorded[] {
  const out: Recorded[] = [];
  let step = '';
  let cur: { request: string; status?: number; headers: [string, string][]; body?: Buffer } | undefined;
  const flush = (): void => {
    if (cur?.status !== undefined)
      out.push({ step, request: cur.request, status: cur.status, headers: cur.headers, body: cur.body });
    cur = undefined;
  };
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('## step ')) {
      flush();
      step = line.slice(8);
    } else if (line.startsWith('### ')) {
      flush();
      cur = { request: line.slice(4), headers: [] };
    } else if (cur && line.startsWith('  status: '))
      cur.status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(line.slice(10))?.[1]);
    else if (cur && line.startsWith('  header: ')) {
      const h = line.slice(10);
      const i = h.indexOf(': ');
      cur.headers.push([h.slice(0, i), h.slice(i + 2)]);
    } else if (cur && line.startsWith('  body: ')) {
      const b = line.slice(8);
      if (b.startsWith('b')) cur.body = pyBytes(b);
    }
  }
  flush();
  return out;
}

/** The one recorded exchange whose request line (and step, if given) matches; throws if not exactly one. */
export function recorded(all: readonly Recorded[], request: string, step?: string): Recorded {
  const hits = all.filter((r) => r.request === request && (step === undefined || r.step.startsWith(step)));
  if (hits.length !== 1)
    throw new Error(`${hits.length} recorded exchanges for "${request}"${step ? ` in step ${step}` : ''}`);
  return hits[0]!;
}

export const header = (r: Recorded, name: string): string | undefined =>
  r.headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
