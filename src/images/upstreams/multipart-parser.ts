// A streaming multipart/form-data parser for upstream export responses. Push-based and pure:
// feed it chunks, it calls the handlers; part data is forwarded as it arrives (never buffered
// whole) and a handler may return a promise to apply backpressure.

export interface PartHeaders {
  readonly name: string | undefined;
  readonly filename: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
}

export interface MultipartHandlers {
  onPart(part: PartHeaders): void | Promise<void>;
  onData(chunk: Buffer): void | Promise<void>;
  onPartEnd(): void | Promise<void>;
}

export class MultipartError extends Error {}

const MAX_HEADER_BYTES = 16 * 1024;
const CRLF = Buffer.from('\r\n');

type State = 'preamble' | 'after-delimiter' | 'headers' | 'body' | 'done';

export class MultipartParser {
  readonly #handlers: MultipartHandlers;
  /** CRLF--boundary: every delimiter but the first is preceded by CRLF. */
  readonly #delimiter: Buffer;
  #buf: Buffer = Buffer.alloc(0);
  #state: State = 'preamble';
  #parts = 0;

  constructor(boundary: string, handlers: MultipartHandlers) {
    if (!boundary || boundary.length > 200) throw new MultipartError('bad boundary');
    this.#delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
    this.#handlers = handlers;
    // Pretend the body starts with CRLF so the first delimiter matches like the others.
    this.#buf = Buffer.from(CRLF);
  }

  get done(): boolean {
    return this.#state === 'done';
  }

  get parts(): number {
    return this.#parts;
  }

  async write(chunk: Buffer): Promise<void> {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
    for (;;) {
      const progressed = await this.#step();
      if (!progressed) return;
    }
  }

  /** Call at end of input: throws if the closing delimiter never came. */
  end(): void {
    if (this.#state !== 'done') throw new MultipartError(`multipart body ended early (in ${this.#state})`);
  }

  async #step(): Promise<boolean> {
    const d = this.#delimiter;
    switch (this.#state) {
      case 'preamble': {
        const i = this.#buf.indexOf(d);
        if (i < 0) {
          this.#buf = this.#buf.subarray(Math.max(0, this.#buf.length - d.length + 1));
          return false;
        }
        this.#buf = this.#buf.subarray(i + d.length);
        this.#state = 'after-delimiter';
        return true;
      }
      case 'after-delimiter': {
        // "--" closes the body; otherwise optional whitespace then CRLF starts a part.
        if (this.#buf.length < 2) return false;
        if (this.#buf[0] === 0x2d && this.#buf[1] === 0x2d) {
          this.#state = 'done';
          this.#buf = Buffer.alloc(0);
          return false;
        }
        const eol = this.#buf.indexOf(CRLF);
        if (eol < 0) {
          if (this.#buf.length > 256) throw new MultipartError('garbage after boundary');
          return false;
        }
        if (this.#buf.subarray(0, eol).toString('latin1').trim() !== '')
          throw new MultipartError('garbage after boundary');
        this.#buf = this.#buf.subarray(eol + 2);
        this.#state = 'headers';
        return true;
      }
      case 'headers': {
        const end = this.#buf.indexOf('\r\n\r\n');
        const empty = this.#buf.length >= 2 && this.#buf[0] === 0x0d && this.#buf[1] === 0x0a;
        if (end < 0 && !empty) {
          if (this.#buf.length > MAX_HEADER_BYTES) throw new MultipartError('part headers too large');
          return false;
        }
        const raw = empty ? '' : this.#buf.subarray(0, end).toString('latin1');
        this.#buf = this.#buf.subarray(empty ? 2 : end + 4);
        this.#state = 'body';
        this.#parts++;
        await this.#handlers.onPart(parsePartHeaders(raw));
        return true;
      }
      case 'body': {
        // A delimiter counts only when followed by "--" or (optional whitespace and) CRLF, as in Go.
        let from = 0;
        for (;;) {
          const i = this.#buf.indexOf(d, from);
          if (i < 0) {
            // Keep only a tail that could be the start of a delimiter split across chunks (rarely any:
            // the next chunk then goes on as it is, not copied into a joined buffer).
            const cut = partialDelimiterAt(this.#buf, d);
            const out = this.#buf.subarray(0, cut);
            this.#buf = this.#buf.subarray(cut);
            if (out.length) await this.#handlers.onData(out);
            return false;
          }
          const verdict = delimiterEnds(this.#buf, i + d.length);
          if (verdict === 'need-more') {
            const out = this.#buf.subarray(0, i);
            this.#buf = this.#buf.subarray(i);
            if (out.length) await this.#handlers.onData(out);
            return false;
          }
          if (verdict === 'no') {
            from = i + 1;
            continue;
          }
          const out = this.#buf.subarray(0, i);
          this.#buf = this.#buf.subarray(i + d.length);
          if (out.length) await this.#handlers.onData(out);
          await this.#handlers.onPartEnd();
          this.#state = 'after-delimiter';
          return true;
        }
      }
      case 'done':
        this.#buf = Buffer.alloc(0); // epilogue is ignored
        return false;
    }
  }
}

/** Where the longest end of `buf` that is a proper start of `d` begins (buf.length: none). */
function partialDelimiterAt(buf: Buffer, d: Buffer): number {
  for (let at = Math.max(0, buf.length - d.length + 1); at < buf.length; at++)
    if (buf[at] === d[0] && buf.subarray(at).equals(d.subarray(0, buf.length - at))) return at;
  return buf.length;
}

/** After a delimiter at `at`: "--", or spaces/tabs then CRLF, make it real. */
function delimiterEnds(buf: Buffer, at: number): 'yes' | 'no' | 'need-more' {
  let j = at;
  if (j + 2 > buf.length) return 'need-more';
  if (buf[j] === 0x2d && buf[j + 1] === 0x2d) return 'yes';
  while (j < buf.length && (buf[j] === 0x20 || buf[j] === 0x09)) j++;
  if (j + 2 > buf.length) return j - at > 256 ? 'no' : 'need-more';
  return buf[j] === 0x0d && buf[j + 1] === 0x0a ? 'yes' : 'no';
}

export function parsePartHeaders(raw: string): PartHeaders {
  const headers: Record<string, string> = {};
  for (const line of raw.split('\r\n')) {
    if (!line) continue;
    const c = line.indexOf(':');
    if (c <= 0) throw new MultipartError(`bad part header line ${JSON.stringify(line.slice(0, 80))}`);
    headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
  }
  const cd = headers['content-disposition'] ?? '';
  return { name: param(cd, 'name'), filename: param(cd, 'filename'), headers };
}

function param(header: string, key: string): string | undefined {
  const re = new RegExp(`;\\s*${key}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, 'i');
  const m = re.exec(header);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2];
}
