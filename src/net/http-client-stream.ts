// A GET whose body is big and read once (image exports), over a unix socket without node:http: the
// socket reads straight into large slabs (one read takes whatever the kernel holds, not 64 KiB), the
// body is handed on as views of those slabs (no copy), and reading pauses only when the consumer is
// HIGH_WATER behind. One request per connection (Connection: close). Same deadlines as the client.
// The slabs come from a pool (util/slabs.ts): a consumer that gives the body's bytes back with
// giveBack() once it is done with them gets its slabs read into again, instead of new ones. Given an
// allocator of aligned slabs (`slabs`), body byte b is placed at an address congruent to b modulo
// `align` and each slab after the first is filled up to a body offset that is a multiple of it, so a
// consumer writing with O_DIRECT can hand the body's own memory to the disk (no staging copy).
import net from 'node:net';
import { GuestgateError } from '../errors.ts';
import { SlabPool } from '../util/slabs.ts';
import { BodyFraming, parseHead, type ResponseHead } from './http-framing.ts';
import type { UpstreamTimeouts } from './http-client.ts';

export interface StreamResponse extends ResponseHead {
  /** The body bytes, in order; throws if the connection failed or the body ended early. */
  readonly body: AsyncIterable<Buffer>;
  /** True once the whole body arrived (its framing said so). */
  readonly complete: boolean;
  destroy(err?: Error): void;
}

const SLAB = 4 * 1024 * 1024;
const MIN_READ = 256 * 1024;
const HIGH_WATER = 8 * 1024 * 1024;
/** Free slabs kept per response for reuse. */
const KEEP_SLABS = 8;
const MAX_HEAD = 64 * 1024;

/** Slabs whose first byte sits on an `align` boundary (for O_DIRECT consumers). */
export interface AlignedSlabs {
  readonly align: number;
  alloc(size: number): Buffer;
}

const stalled = (where: string, path: string, what: string): GuestgateError =>
  new GuestgateError('E_UPSTREAM', `upstream ${where}: ${path}: ${what}`, { upstream: where, path, timeout: what });

export function streamGetUnix(
  socketPath: string,
  path: string,
  opts: {
    where: string;
    timeouts?: UpstreamTimeouts | undefined;
    signal?: AbortSignal | undefined;
    slabs?: AlignedSlabs | undefined;
  },
): Promise<StreamResponse> {
  const { where, timeouts: t, signal } = opts;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const pool = new SlabPool(SLAB, KEEP_SLABS, opts.slabs?.alloc);
    const align = opts.slabs?.align;
    let slab = pool.take();
    let used = 0;
    /** Where reads into this slab stop: SLAB, or (aligned placement) a body offset that is a multiple of `align`. */
    let limit = SLAB;
    let alignedSlab = false;
    /** Bytes read from the socket so far, and where the body starts among them (once the head is parsed). */
    let raw = 0;
    let bodyStart: number | undefined;
    const nextSlab = (): void => {
      slab = pool.next(slab);
      alignedSlab = align !== undefined && bodyStart !== undefined;
      used = alignedSlab ? (raw - bodyStart!) % align! : 0;
      // Offsets in the slab are congruent to body offsets: ending on an aligned offset ends on an aligned body offset.
      limit = alignedSlab ? SLAB - (SLAB % align!) : SLAB;
    };
    let head: Buffer[] = [];
    let headBytes = 0;
    let framing: BodyFraming | undefined;
    const queue: Buffer[] = [];
    let queued = 0;
    let failure: Error | undefined;
    let ended = false;
    let paused = false;
    let wake: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const arm = (ms: number | undefined, what: string): void => {
      clearTimeout(timer);
      if (ms !== undefined) timer = setTimeout(() => fail(stalled(where, path, what)), ms);
    };
    const notify = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const fail = (e: Error): void => {
      if (failure || ended) return;
      failure = e;
      pool.drain();
      clearTimeout(timer);
      sock.destroy();
      reject(e); // no-op once resolved
      notify();
    };
    const onAbort = (): void => fail(signal!.reason as Error);
    signal?.addEventListener('abort', onAbort, { once: true });
    const push = (b: Buffer): void => {
      pool.lend(b);
      queue.push(b);
      queued += b.length;
    };

    const sock = net.connect({
      path: socketPath,
      onread: {
        buffer: () => {
          // An aligned slab is read into until exactly full (its last segment then ends aligned too).
          if (used === limit || (!alignedSlab && limit - used < MIN_READ)) nextSlab();
          return slab.subarray(used, limit);
        },
        callback: (n: number, buf: Uint8Array) => {
          const data = (buf as Buffer).subarray(0, n);
          used += n;
          raw += n;
          if (t) arm(t.idleMs, `no bytes for ${t.idleMs} ms`);
          try {
            if (!framing) {
              head.push(Buffer.from(data));
              headBytes += n;
              const all = Buffer.concat(head);
              const end = all.indexOf('\r\n\r\n');
              if (end < 0) {
                if (headBytes > MAX_HEAD) throw new Error('response head too large');
                return true;
              }
              const h = parseHead(all.subarray(0, end).toString('latin1'));
              bodyStart = end + 4;
              framing = new BodyFraming(h.headers);
              head = [];
              for (const b of framing.feed(all.subarray(end + 4))) push(b);
              resolve(response(h));
            } else for (const b of framing.feed(data)) push(b);
            if (framing.done) finish();
          } catch (e) {
            fail(
              new GuestgateError('E_UPSTREAM', `upstream ${where}: ${path}: ${(e as Error).message}`, {
                upstream: where,
                path,
              }),
            );
          }
          notify();
          if (queued > HIGH_WATER) {
            paused = true;
            return false;
          }
          return true;
        },
      },
    } as net.NetConnectOpts);
    const finish = (): void => {
      if (ended) return;
      ended = true;
      pool.drain();
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      sock.destroy();
    };
    arm(t?.connectMs, `no connection in ${t?.connectMs} ms`);
    sock.on('connect', () => {
      arm(t?.firstByteMs, `no response in ${t?.firstByteMs} ms`);
      sock.write(`GET ${path} HTTP/1.1\r\nHost: unix.socket\r\nUser-Agent: guestgate\r\nConnection: close\r\n\r\n`);
    });
    sock.on('error', (e) =>
      fail(
        new GuestgateError('E_UPSTREAM', `upstream ${where}: ${e.message}`, { upstream: where, path }, { cause: e }),
      ),
    );
    sock.on('end', () => {
      if (framing?.untilClose) finish();
      else if (!ended)
        fail(
          new GuestgateError('E_UPSTREAM', `upstream ${where}: ${path}: connection closed early`, {
            upstream: where,
            path,
          }),
        );
    });
    sock.on('close', () => {
      if (!ended && !failure)
        fail(
          new GuestgateError('E_UPSTREAM', `upstream ${where}: ${path}: connection closed`, { upstream: where, path }),
        );
      notify();
    });

    const response = (h: ResponseHead): StreamResponse => ({
      ...h,
      get complete() {
        return ended && !failure;
      },
      destroy: (err) => fail(err ?? new Error('destroyed')),
      body: {
        async *[Symbol.asyncIterator]() {
          try {
            for (;;) {
              if (queue.length) {
                const b = queue.shift()!;
                queued -= b.length;
                if (paused && queued < HIGH_WATER / 2) {
                  paused = false;
                  sock.resume();
                }
                yield b;
                continue;
              }
              if (failure) throw failure;
              if (ended) return;
              await new Promise<void>((r) => {
                wake = r;
              });
            }
          } finally {
            if (!ended) fail(new Error('body no longer read'));
          }
        },
      },
    });
  });
}
