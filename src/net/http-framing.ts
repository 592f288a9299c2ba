// HTTP/1.1 response framing for the streaming client: the status line and headers, then the body by
// Content-Length, chunked transfer coding, or until the connection closes. Pure: bytes in, body
// views out (chunk data is handed on as subarrays of the input, never copied).

export interface ResponseHead {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
}

export function parseHead(text: string): ResponseHead {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
  if (!m) throw new Error(`bad status line ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const c = line.indexOf(':');
    if (c <= 0) throw new Error(`bad header line ${JSON.stringify(line.slice(0, 80))}`);
    const k = line.slice(0, c).trim().toLowerCase();
    const v = line.slice(c + 1).trim();
    headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  }
  return { status: Number(m[1]), headers };
}

type ChunkState = 'size' | 'data' | 'data-crlf' | 'trailer' | 'done';

export class BodyFraming {
  /** The body ends when the connection does. */
  readonly untilClose: boolean;
  #left: number;
  readonly #chunked: boolean;
  #state: ChunkState = 'size';
  #line = '';

  constructor(headers: Readonly<Record<string, string>>) {
    const te = headers['transfer-encoding']?.toLowerCase();
    this.#chunked = te !== undefined && te.split(',').at(-1)!.trim() === 'chunked';
    const cl = headers['content-length'];
    if (!this.#chunked && cl !== undefined) {
      if (!/^\d+$/.test(cl)) throw new Error(`bad Content-Length ${JSON.stringify(cl)}`);
      this.#left = Number(cl);
    } else this.#left = this.#chunked ? 0 : Infinity;
    this.untilClose = !this.#chunked && cl === undefined;
  }

  get done(): boolean {
    return this.#chunked ? this.#state === 'done' : this.#left === 0;
  }

  /** The body bytes in `data` (bytes after the body's end are an error). */
  feed(data: Buffer): Buffer[] {
    if (!this.#chunked) {
      if (data.length > this.#left) throw new Error('more bytes than Content-Length');
      this.#left -= data.length;
      return data.length ? [data] : [];
    }
    const out: Buffer[] = [];
    let i = 0;
    while (i < data.length) {
      switch (this.#state) {
        case 'size':
        case 'trailer': {
          const nl = data.indexOf(0x0a, i);
          const end = nl < 0 ? data.length : nl + 1;
          this.#line += data.subarray(i, end).toString('latin1');
          if (this.#line.length > 4096) throw new Error('chunk line too long');
          i = end;
          if (nl < 0) break;
          const line = this.#line.replace(/\r?\n$/, '');
          this.#line = '';
          if (this.#state === 'trailer') {
            if (line === '') this.#state = 'done';
            break;
          }
          const m = /^([0-9a-fA-F]+)\s*(?:;.*)?$/.exec(line);
          if (!m) throw new Error(`bad chunk size line ${JSON.stringify(line.slice(0, 40))}`);
          this.#left = Number.parseInt(m[1]!, 16);
          this.#state = this.#left === 0 ? 'trailer' : 'data';
          break;
        }
        case 'data': {
          const n = Math.min(this.#left, data.length - i);
          out.push(data.subarray(i, i + n));
          i += n;
          this.#left -= n;
          if (this.#left === 0) this.#state = 'data-crlf';
          break;
        }
        case 'data-crlf': {
          const nl = data.indexOf(0x0a, i);
          const end = nl < 0 ? data.length : nl + 1;
          this.#line += data.subarray(i, end).toString('latin1');
          i = end;
          if (nl < 0) {
            if (this.#line.length > 2) throw new Error('no CRLF after chunk data');
            break;
          }
          if (this.#line !== '\r\n' && this.#line !== '\n') throw new Error('no CRLF after chunk data');
          this.#line = '';
          this.#state = 'size';
          break;
        }
        case 'done':
          throw new Error('bytes after the last chunk');
      }
    }
    return out;
  }
}
