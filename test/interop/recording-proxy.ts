// A unix socket in front of a server's socket that forwards bytes both ways and records the request lines
// clients send through it (keep-alive connections included): proof of what a client asked the server.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REQUEST_LINE = /(?:^|\r\n)([A-Z]+) (\S+) HTTP\/1\.[01]\r\n/g;

export interface RecordingProxy {
  /** Folder (0755) holding `sock` (0666): bind-mount it into a container. */
  readonly dir: string;
  /** Request lines seen so far, `METHOD target`. */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startRecordingProxy(upstream: string): Promise<RecordingProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'ggx-proxy-'));
  chmodSync(dir, 0o755);
  const requests: string[] = [];
  const conns = new Set<Socket>();
  const server: Server = createServer((c) => {
    const up = createConnection(upstream);
    conns.add(c).add(up);
    let tail = '';
    c.on('data', (b: Buffer) => {
      // Request heads are ASCII; bodies may hold anything: scan a sliding window of text.
      const text = tail + b.toString('latin1');
      for (const m of text.matchAll(REQUEST_LINE))
        if (m.index + m[0].length > tail.length) requests.push(`${m[1]} ${m[2]}`); // not counted with the tail

      tail = text.slice(-256);
    });
    c.pipe(up).pipe(c);
    const drop = () => {
      c.destroy();
      up.destroy();
      conns.delete(c);
      conns.delete(up);
    };
    c.on('error', drop).on('close', drop);
    up.on('error', drop).on('close', drop);
  });
  const path = join(dir, 'sock');
  await new Promise<void>((r) => server.listen(path, r));
  chmodSync(path, 0o666);
  return {
    dir,
    requests,
    close: async () => {
      for (const c of conns) c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
