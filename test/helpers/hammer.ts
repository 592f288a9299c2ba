// Clients for restart tests: a hammer that opens a new connection for every request (so each one is a
// connection attempt a restart could refuse) and counts answers and connection errors by code, and a
// slow image pull that reports its first bytes (to restart while it is in flight).
import { request as httpRequest, type RequestOptions } from 'node:http';

export interface HammerCounts {
  answered: number;
  /** Connection errors (ECONNREFUSED, ENOENT, ECONNRESET, ...) by code, with the first message of each. */
  errors: Record<string, { count: number; first: string }>;
}

export interface Hammer {
  readonly counts: Readonly<Record<string, HammerCounts>>;
  /** Stop after the requests in flight; resolves with the counts. */
  stop(): Promise<Record<string, HammerCounts>>;
}

/** `parallel` loops per target, one request at a time each, every one on a fresh connection (no keep-alive). */
export function hammer(targets: Record<string, RequestOptions>, parallel = 8): Hammer {
  const counts: Record<string, HammerCounts> = {};
  let running = true;
  const once = (opts: RequestOptions): Promise<string | undefined> =>
    new Promise((resolve) => {
      const req = httpRequest({ ...opts, agent: false, headers: { host: 'lxd', ...opts.headers } }, (res) => {
        res.resume();
        res.on('end', () => resolve(undefined));
        res.on('error', (e) => resolve(`${(e as NodeJS.ErrnoException).code ?? 'ERR'} ${e.message}`));
      });
      req.on('error', (e) => resolve(`${(e as NodeJS.ErrnoException).code ?? 'ERR'} ${e.message}`));
      req.end();
    });
  const loops = Object.entries(targets).flatMap(([name, opts]) => {
    const c: HammerCounts = { answered: 0, errors: {} };
    counts[name] = c;
    return Array.from({ length: parallel }, () => loop(opts, c));
  });
  async function loop(opts: RequestOptions, c: HammerCounts): Promise<void> {
    while (running) {
      const err = await once(opts);
      if (err === undefined) c.answered++;
      else {
        const code = err.split(' ')[0]!;
        c.errors[code] ??= { count: 0, first: err };
        c.errors[code].count++;
      }
    }
  }
  return {
    counts,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return counts;
    },
  };
}

export interface Pulled {
  status: number;
  body: Buffer;
  complete: boolean;
}

/** GET with a reader that takes 64 KiB every 10 ms; `onFirstBytes` runs once bytes arrive. */
export function slowPull(sock: string, path: string, onFirstBytes: () => void): Promise<Pulled> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath: sock, path, headers: { host: 'lxd' } }, (res) => {
      const chunks: Buffer[] = [];
      let first = true;
      const pump = (): void => {
        let n = 0;
        for (
          let c = res.read() as Buffer | null;
          c !== null;
          c = n < 64 * 1024 ? (res.read() as Buffer | null) : null
        ) {
          chunks.push(c);
          n += c.length;
        }
        if (n && first) {
          first = false;
          onFirstBytes();
        }
        if (!res.readableEnded && !res.destroyed) setTimeout(pump, 10);
      };
      res.on('readable', () => {}); // paused mode: read() pulls
      setTimeout(pump, 10);
      const done = () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), complete: res.complete });
      res.on('end', done);
      res.on('close', done);
      res.on('error', done);
    });
    req.on('error', reject);
    req.end();
  });
}
