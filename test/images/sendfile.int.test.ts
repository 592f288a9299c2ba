// Committed images leave through sendfile(2) on dup()ed descriptors (src/images/export/sendfile.ts).
// Guests that leave mid-transfer, or stop reading (20 of them: more than the thread pool's threads),
// cost nothing that outlives them: the gateway's open descriptors come back to what they were (no dup
// leaks; a number reused while a call was in flight would have written into someone else's file), and
// the next guest still gets the exact image, whole or a Range. The dups are close-on-exec: a process
// started meanwhile (a restart's successor) inherits none of them, so no guest connection stays open in it; a split image's whole body is chunked
// (each file one chunk framed on the socket) and the nested LXD client's parser accepts it.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { splitImage, unifiedImage, writeToDir, type MadeImage } from '../../fixtures/images/make.ts';
import type { ImageService } from '../../src/images/index.ts';
import { exportServer, get, nestedClientAccepts, service, tempDir, type ExportServer } from '../helpers/images.ts';
import { waitFor } from '../helpers/wait.ts';

let t: { dir: string; cleanup: () => Promise<void> };
let svc: ImageService;
let srv: ExportServer;
let img: MadeImage;
const openFds = async (): Promise<number> => (await readdir('/proc/self/fd')).length;
const path = (): string => `/1.0/images/${img.fingerprint}/export`;

async function start(made: MadeImage): Promise<void> {
  t = await tempDir();
  const upstream = join(t.dir, 'up');
  await mkdir(upstream);
  img = made;
  await writeToDir(upstream, img);
  svc = await service(join(t.dir, 'state'), { upstreams: [{ type: 'dir', path: upstream, public: true }] });
  srv = await exportServer(svc, join(t.dir, 'export.sock'));
  expect((await get(srv.socket, path())).status).toBe(200); // fills the cache: the rest is warm
}
afterEach(async () => {
  await srv?.close();
  await svc?.close();
  await t.cleanup();
});

/** Ask for the export, read about `bytes` of the answer, then leave (or stall: keep the socket unread). */
async function partialGuest(bytes: number, leave: boolean): Promise<() => void> {
  const s = connect(srv.socket);
  await new Promise<void>((r) => s.once('connect', () => r()));
  s.write(`GET ${path()} HTTP/1.1\r\nHost: lxd\r\n\r\n`);
  let got = 0;
  await new Promise<void>((r) =>
    s.on('data', (c: Buffer) => {
      got += c.length;
      if (got >= bytes) {
        s.pause();
        r();
      }
    }),
  );
  if (leave) s.destroy();
  return () => s.destroy();
}

it('guests that leave mid-transfer or stall leak no descriptor; the next guest gets the exact bytes', async () => {
  await start(await unifiedImage(48 * 1024 * 1024, 'gzip', { os: 'debian', release: 'bookworm' }));
  const before = await openFds();
  for (let i = 0; i < 5; i++) await partialGuest(1024 * 1024 * (i + 1), true);
  // More stalled guests than the thread pool has threads: a wait for a full socket never holds one.
  const stalled = await Promise.all(Array.from({ length: 20 }, () => partialGuest(512 * 1024, false)));
  const whole = await get(srv.socket, path());
  expect(whole.status).toBe(200);
  expect(createHash('sha256').update(whole.body).digest('hex')).toBe(img.fingerprint);
  const range = await get(srv.socket, path(), { headers: { Range: 'bytes=1000-4194303' } });
  expect(range.status).toBe(206);
  expect(range.body.equals(img.files[0]!.subarray(1000, 4194304))).toBe(true);
  for (const leave of stalled) leave();
  await waitFor('the gateway to hold no more descriptors than before', async () => (await openFds()) <= before);
});

it('split image: guests leave mid-transfer, the next whole body is chunked right and accepted by the nested client', async () => {
  await start(await splitImage(24 * 1024 * 1024));
  const before = await openFds();
  for (let i = 0; i < 3; i++) await partialGuest(1024 * 1024 * (i + 1), true);
  const whole = await get(srv.socket, path());
  expect(whole.headers['transfer-encoding']).toBe('chunked');
  expect(await nestedClientAccepts(whole, img.fingerprint)).toMatchObject({ ok: true });
  const range = await get(srv.socket, path(), { headers: { Range: 'bytes=0-99999' } });
  expect(range.status).toBe(206);
  expect(range.body.length).toBe(100000);
  await waitFor('the gateway to hold no more descriptors than before', async () => (await openFds()) <= before);
});

/** The descriptors a child gets when spawned now with only its stdio (what a restart's successor gets). */
async function childFds(): Promise<number[]> {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    const dir = `/proc/${child.pid}/fd`;
    // Until it has exec'd, the child is a copy of this process with all of its descriptors.
    const comm = `/proc/${child.pid}/comm`;
    await waitFor('the child to exec sleep', async () => (await readFile(comm, 'utf8').catch(() => '')) === 'sleep\n');
    return (await readdir(dir)).map(Number).sort((a, b) => a - b);
  } finally {
    child.kill('SIGKILL');
  }
}

it('a process started while transfers are in flight inherits none of their descriptors', async () => {
  await start(await unifiedImage(48 * 1024 * 1024, 'gzip', { os: 'debian', release: 'bookworm' }));
  const before = await childFds(); // stdio, and whatever this test runner itself passes down
  const stalled = await Promise.all(Array.from({ length: 3 }, () => partialGuest(512 * 1024, false)));
  try {
    expect(await childFds()).toEqual(before);
  } finally {
    for (const leave of stalled) leave();
  }
});
