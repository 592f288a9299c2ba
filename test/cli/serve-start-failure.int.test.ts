// A start that fails ends: when a listener cannot start, the real `guestgate serve` closes what it had
// already opened and exits non-zero, naming the config key (NoCloud port in use; a guest socket
// already served by a running gateway).
import { afterEach, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { BIN, DEMO, layout, spawnGateway, waitHealthy, type Layout } from '../helpers/service.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** Run `serve` to its exit (30 s at most: it used to never exit). */
function serve(configFile: string): Promise<{ code: number | null; stderr: string; ms: number }> {
  const started = Date.now();
  const p = spawn(process.execPath, [BIN, 'serve', '--config', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  p.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stderr, ms: Date.now() - started });
    });
  });
}

it('exits non-zero naming nocloud.listen when its port is in use, and leaves no socket behind', async () => {
  const taken: Server = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  cleanups.push(() => taken.close());
  const port = (taken.address() as { port: number }).port;
  const l: Layout = layout({ demo: DEMO }, `nocloud:\n  listen: 127.0.0.1:${port}\n`);
  cleanups.push(() => l.cleanup());
  const r = await serve(l.configFile);
  console.log(`serve exited ${r.code} after ${r.ms} ms`);
  expect(r.code).not.toBe(0);
  expect(r.code).not.toBeNull(); // not killed by the 30 s guard
  expect(r.stderr).toContain(`nocloud.listen 127.0.0.1:${port}: address in use`);
  // Everything opened before was closed: the guest and admin sockets are gone.
  expect(existsSync(l.guestSock)).toBe(false);
  expect(existsSync(l.adminSock)).toBe(false);
});

it('exits non-zero naming guest.socket when a running gateway already serves it', async () => {
  const l: Layout = layout({ demo: DEMO });
  cleanups.push(() => l.cleanup());
  const first = spawnGateway(l.configFile);
  cleanups.push(() => first.kill('SIGKILL'));
  await waitHealthy(l.adminSock);
  // Its own state (and image cache), the same sockets: the guest socket is what collides.
  const second = join(l.dir, 'second.yaml');
  writeFileSync(second, readFileSync(l.configFile, 'utf8').replace('state_dir: ./state', 'state_dir: ./state-2'));
  const r = await serve(second);
  expect(r.code).not.toBe(0);
  expect(r.code).not.toBeNull();
  expect(r.stderr).toContain(`guest.socket ${join(l.dir, 'run', 'devlxd', 'sock')}: `);
  // The running gateway was left alone.
  expect(first.exitCode).toBeNull();
  await waitHealthy(l.adminSock);
});

it('a second gateway on the same image cache exits non-zero naming the lock holder', async () => {
  const l: Layout = layout({ demo: DEMO });
  cleanups.push(() => l.cleanup());
  const first = spawnGateway(l.configFile);
  cleanups.push(() => first.kill('SIGKILL'));
  await waitHealthy(l.adminSock);
  const r = await serve(l.configFile);
  expect(r.code).not.toBe(0);
  expect(r.code).not.toBeNull();
  expect(r.stderr).toContain(`is locked by pid ${first.pid}`);
  expect(first.exitCode).toBeNull();
  await waitHealthy(l.adminSock);
});

it('exits non-zero naming nocloud.templates_dir when the folder holds no template set', async () => {
  const l: Layout = layout({ demo: DEMO }, 'nocloud:\n  listen: 127.0.0.1:0\n  templates_dir: ./empty-templates\n');
  cleanups.push(() => l.cleanup());
  mkdirSync(join(l.dir, 'empty-templates'));
  const r = await serve(l.configFile);
  expect(r.code).not.toBe(0);
  expect(r.code).not.toBeNull();
  // Refused by config validation, before any listener opens.
  expect(r.stderr).toContain('nocloud.templates_dir: expected a folder holding metadata.yaml and templates/');
  expect(r.stderr).toContain(`${join(l.dir, 'empty-templates')} has no metadata.yaml`);
  expect(existsSync(l.guestSock)).toBe(false);
});
