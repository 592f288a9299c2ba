// An export's connection gets a bigger send buffer: on a real unix socket pair, SO_SNDBUF read back by
// getsockopt grows to EXPORT_SNDBUF (as root: SO_SNDBUFFORCE; the kernel doubles the figure for its
// bookkeeping), or at least does not shrink (without CAP_NET_ADMIN: capped by net.core.wmem_max).
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { getsockopt, SO_SNDBUF, SOL_SOCKET } from '../../src/identity/native.ts';
import { EXPORT_SNDBUF, raiseSendBuffer } from '../../src/images/export/socket-tuning.ts';

const dir = mkdtempSync(join(tmpdir(), 'gg-sndbuf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sndbuf = (s: net.Socket): number => {
  const fd = (s as unknown as { _handle: { fd: number } })._handle.fd;
  const out = Buffer.alloc(4);
  expect(getsockopt(fd, SOL_SOCKET, SO_SNDBUF, out, [4])).toBe(0);
  return out.readInt32LE();
};

it('raises the send buffer of a connected unix socket', async () => {
  const path = join(dir, 'sock');
  let onAccept!: (s: net.Socket) => void;
  const accepted = new Promise<net.Socket>((res) => {
    onAccept = res;
  });
  const srv = net.createServer((s) => {
    onAccept(s);
    srv.close();
  });
  await new Promise<void>((res) => srv.listen(path, res));
  const client = net.connect(path);
  const server = await accepted;
  try {
    const before = sndbuf(server);
    raiseSendBuffer(server);
    const after = sndbuf(server);
    if (process.getuid?.() === 0) expect(after).toBeGreaterThanOrEqual(EXPORT_SNDBUF);
    else expect(after).toBeGreaterThanOrEqual(before);
    // A socket without a descriptor (destroyed): nothing happens, nothing throws.
    client.destroy();
    server.destroy();
    expect(() => raiseSendBuffer(server)).not.toThrow();
    expect(() => raiseSendBuffer(undefined)).not.toThrow();
  } finally {
    client.destroy();
    server.destroy();
  }
});
