// The guest socket file: a stale one is replaced only after a connect probe shows no live server.
import { describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenUnix } from '../../src/net/unix-listen.ts';

const dir = mkdtempSync(join(tmpdir(), 'gg-sock-'));
const close = (s: ReturnType<typeof createServer>) => new Promise((r) => s.close(r));

describe('listenUnix', () => {
  it('refuses to replace a socket a live server answers on', async () => {
    const path = join(dir, 'live.sock');
    const a = createServer();
    await listenUnix(a, path);
    await expect(listenUnix(createServer(), path)).rejects.toThrow(/in use by a running server/);
    await close(a);
  });

  it('replaces a stale socket file left by a killed server', async () => {
    const path = join(dir, 'stale.sock');
    // A server process killed with SIGKILL leaves its socket file behind.
    const child = spawn(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`,
    ]);
    await new Promise((r) => child.stdout.once('data', r));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(existsSync(path)).toBe(true);
    const b = createServer();
    await listenUnix(b, path);
    await close(b);
  });

  it('never deletes something that is not a socket', async () => {
    const path = join(dir, 'file');
    writeFileSync(path, 'important');
    await expect(listenUnix(createServer(), path)).rejects.toThrow(/is not a socket/);
    expect(existsSync(path)).toBe(true);
  });
});

process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
