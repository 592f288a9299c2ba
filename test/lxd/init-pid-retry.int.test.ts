// A container that is starting answers /state with 500 for a moment (seen with Incus 6.0.4: "Invalid PID"
// while its pid file is written; it failed a gateway's start in the full suite). The client asks again
// a few times before the error stands; a 4xx or an error that lasts is still an error.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { LxdClient } from '../../src/lxd/client.ts';

let server: Server | undefined;
let dir = '';
afterEach(async () => {
  await new Promise((r) => server?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** A fake daemon whose /state fails `failures` times with `status`, then reports pid 4242. */
async function daemon(failures: number, status: number): Promise<{ client: LxdClient; asked: () => number }> {
  dir = mkdtempSync(join(tmpdir(), 'gg-initpid-'));
  const socket = join(dir, 'unix.socket');
  let asked = 0;
  server = createServer((_req, res) => {
    asked++;
    res.setHeader('Content-Type', 'application/json');
    if (asked <= failures) {
      res.statusCode = status;
      res.end(JSON.stringify({ type: 'error', error: "Invalid PID '\\xff'", error_code: status }));
      return;
    }
    res.end(JSON.stringify({ type: 'sync', status: 'Success', status_code: 200, metadata: { pid: 4242 } }));
  });
  await new Promise<void>((r) => server!.listen(socket, r));
  return { client: new LxdClient({ socket }), asked: () => asked };
}

it('a /state that answers 500 twice, then the pid: the pid', async () => {
  const d = await daemon(2, 500);
  expect(await d.client.initPid('default', 'c1')).toBe(4242);
  expect(d.asked()).toBe(3);
});

it('a 500 that lasts is still an error, after the retries; a 403 is one at once', async () => {
  const lasting = await daemon(100, 500);
  await expect(lasting.client.initPid('default', 'c1')).rejects.toThrow(/500 Invalid PID/);
  expect(lasting.asked()).toBe(6);
  await new Promise((r) => server!.close(r));
  rmSync(dir, { recursive: true, force: true });
  const refused = await daemon(100, 403);
  await expect(refused.client.initPid('default', 'c1')).rejects.toThrow(/403/);
  expect(refused.asked()).toBe(1);
});
