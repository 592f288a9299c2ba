// The real binary (node bin/guestgate.js) against a real gateway process: every instances verb,
// --help, --output formats, exit codes, edit through $EDITOR, seed, and wait-ready latency.
import { chmodSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import {
  BIN,
  DEMO,
  cli,
  ensureAptPackage,
  http,
  layout,
  spawnGateway,
  waitHealthy,
  type Layout,
} from '../helpers/service.ts';
import { waitFor } from '../helpers/wait.ts';

let l: Layout;
let gw: ChildProcess;
const run = (...args: string[]) => cli(['instances', '--admin', l.adminSock, ...args]);

beforeAll(async () => {
  l = layout({ demo: DEMO, 'web-1': 'name: web-1\nconfig:\n  user.role: web\nidentity:\n  addresses: [10.1.0.5]\n' });
  gw = spawnGateway(l.configFile);
  await waitHealthy(l.adminSock);
});
afterAll(async () => {
  gw.kill('SIGTERM');
  await new Promise((r) => gw.once('exit', r));
  l.cleanup();
});

describe('help and usage', () => {
  it('--help on every verb', async () => {
    const verbs = [[], ['ls'], ['show'], ['create'], ['set'], ['unset'], ['edit'], ['rm'], ['wait-ready']];
    const results = await Promise.all(verbs.map((verb) => cli(['instances', ...verb, '--help'])));
    results.forEach((r, i) => {
      expect(r.code, verbs[i]!.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/^Usage: guestgate instances/);
    });
    const s = await cli(['seed', '--help']);
    expect(s.code).toBe(0);
    expect(s.stdout).toContain('--iso <file>');
  });

  it('usage errors exit 2', async () => {
    expect((await run('bogus')).code).toBe(2);
    expect((await run('show')).code).toBe(2); // missing argument
    expect((await run('ls', '-o', 'xml')).code).toBe(2);
    const kv = await run('set', 'demo', 'novalue');
    expect(kv.code).toBe(2);
    expect(kv.stderr).toBe('guestgate: expected key=value, got "novalue"\n');
  });

  it('an unreachable admin socket is a clear failure (exit 1)', async () => {
    const r = await cli(['instances', '--admin', join(l.dir, 'nowhere.sock'), 'ls']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot reach the admin API at');
    expect(r.stderr).toContain('is `guestgate serve` running?');
  });
});

describe('verbs', () => {
  it('ls: table by default, json and yaml for scripts', async () => {
    const t = await run('ls');
    expect(t.code).toBe(0);
    expect(t.stdout.split('\n')[0]).toMatch(/^NAME\s+PROJECT\s+TYPE\s+READY\s+ADDRESSES$/);
    expect(t.stdout).toMatch(/web-1\s+default\s+container\s+Unknown\s+10\.1\.0\.5/);
    const j = JSON.parse((await run('ls', '-o', 'json')).stdout);
    expect(j.map((i: { key: string }) => i.key)).toEqual(['demo', 'web-1']);
    const y = yaml.load((await run('ls', '--output', 'yaml')).stdout) as { name: string }[];
    expect(y.map((i) => i.name)).toEqual(['demo', 'web-1']);
  });

  it('show; not found exits 3', async () => {
    const s = await run('show', 'web-1');
    expect(s.stdout).toMatch(/config user\.role\s+web/);
    const n = await run('show', 'nope');
    expect(n.code).toBe(3);
    expect(n.stderr).toBe('guestgate: instance "nope" not found\n');
  });

  it('create, set, unset (config and device), rm', async () => {
    const f = join(l.dir, 'new.yaml');
    writeFileSync(f, 'name: new1\nconfig:\n  user.a: "1"\n');
    expect((await run('create', f)).code).toBe(0);
    expect((await run('set', 'new1', 'user.b=x=y', 'user.c=3')).code).toBe(0);
    expect((await run('set', 'new1', '--device', 'eth0', 'type=nic', 'name=eth0')).code).toBe(0);
    let v = JSON.parse((await run('show', 'new1', '-o', 'json')).stdout);
    expect(v.config).toMatchObject({ 'user.a': '1', 'user.b': 'x=y', 'user.c': '3' });
    expect(v.devices.eth0).toEqual({ type: 'nic', name: 'eth0' });
    expect((await run('unset', 'new1', 'user.a', 'user.c')).code).toBe(0);
    expect((await run('unset', 'new1', '--device', 'eth0')).code).toBe(0);
    v = JSON.parse((await run('show', 'new1', '-o', 'json')).stdout);
    expect(Object.keys(v.config).sort()).toEqual(['user.b', 'volatile.cloud-init.instance-id']);
    expect(v.devices).toEqual({});
    const missing = await run('unset', 'new1', 'user.zzz');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe('guestgate: instance "new1" has no config key "user.zzz"\n');
    expect((await run('rm', 'new1')).code).toBe(0);
    expect((await run('rm', 'new1')).code).toBe(3);
  });

  it('create validates locally before sending (exit 2, file and key named)', async () => {
    const f = join(l.dir, 'bad.yaml');
    writeFileSync(f, 'name: bad\nconfig:\n  user.x: [1]\n');
    const r = await run('create', f);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`guestgate: ${f}: config.user.x: expected a string value, got a list\n`);
  });

  it('edit: $EDITOR changes the YAML, the gateway gets it; invalid edits are refused and kept', async () => {
    const tmp = join(l.dir, 'tmp'); // where edit keeps a refused copy (not the machine's /tmp)
    mkdirSync(tmp, { recursive: true });
    const ed = join(l.dir, 'editor.sh');
    writeFileSync(ed, '#!/bin/sh\nsed -i "s/user.role: web/user.role: edited/" "$1"\n');
    chmodSync(ed, 0o755);
    const r = await cli(['instances', '--admin', l.adminSock, 'edit', 'web-1'], {
      EDITOR: ed,
      VISUAL: '',
      TMPDIR: tmp,
    });
    expect(r.code).toBe(0);
    expect(JSON.parse((await run('show', 'web-1', '-o', 'json')).stdout).config['user.role']).toBe('edited');
    const bad = join(l.dir, 'bad-editor.sh');
    writeFileSync(bad, '#!/bin/sh\nprintf "name: web-1\\ntype: box\\n" > "$1"\n');
    chmodSync(bad, 0o755);
    const b = await cli(['instances', '--admin', l.adminSock, 'edit', 'web-1'], {
      EDITOR: bad,
      VISUAL: '',
      TMPDIR: tmp,
    });
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(
      /web_1\.yaml: type: expected one of "container", "virtual-machine", got string "box"\nnothing was sent; your edits are kept in /,
    );
    expect(JSON.parse((await run('show', 'web-1', '-o', 'json')).stdout).type).toBe('container');
    // Valid YAML the gateway refuses: the error says where the edits are kept, too.
    const refused = join(l.dir, 'refused-editor.sh');
    writeFileSync(refused, '#!/bin/sh\nsed -i "s/^name: web-1/name: web-2/" "$1"\n');
    chmodSync(refused, 0o755);
    const c = await cli(['instances', '--admin', l.adminSock, 'edit', 'web-1'], {
      EDITOR: refused,
      VISUAL: '',
      TMPDIR: tmp,
    });
    expect(c.code, c.stderr).not.toBe(0);
    const kept = /your edits are kept in (\S+)\n$/.exec(c.stderr)?.[1];
    expect(kept, c.stderr).toBeDefined();
    expect(readFileSync(kept!, 'utf8')).toMatch(/^name: web-2$/m);
  });

  it('seed --out and --iso (cidata volume, Joliet + Rock Ridge)', async () => {
    const missing = ensureAptPackage('genisoimage', '/usr/bin/genisoimage');
    expect(missing, `the ISO test needs ${missing}`).toBeUndefined();
    const out = join(l.dir, 'seed');
    const r = await cli(['seed', 'demo', '--admin', l.adminSock, '--out', out, '-o', 'json']);
    expect(r.code).toBe(0);
    expect(readFileSync(join(out, 'meta-data'), 'utf8')).toBe('instance-id: demo\nlocal-hostname: demo\n');
    expect(readFileSync(join(out, 'user-data'), 'utf8')).toBe('#cloud-config\nhostname: demo\n');
    expect(readFileSync(join(out, 'vendor-data'), 'utf8')).toBe('');
    expect(readFileSync(join(out, 'network-config'), 'utf8')).toBe(
      'version: 2\nethernets:\n  eth0:\n    dhcp4: true\n',
    );
    const iso = join(l.dir, 'seed.iso');
    const i = await cli(['seed', 'demo', '--admin', l.adminSock, '--iso', iso]);
    expect(i.code, i.stderr).toBe(0);
    const info = spawnSync('isoinfo', ['-d', '-i', iso], { encoding: 'utf8' });
    expect(info.error, 'isoinfo (Debian package genisoimage) is needed to check the ISO').toBeUndefined();
    expect(info.stdout).toContain('Volume id: cidata');
    expect(info.stdout).toMatch(/Joliet with UCS level 3 found/);
    expect(info.stdout).toMatch(/Rock Ridge signatures version 1 found/);
    const ud = spawnSync('isoinfo', ['-i', iso, '-R', '-x', '/user-data'], { encoding: 'utf8' });
    expect(ud.stdout).toBe('#cloud-config\nhostname: demo\n');
    const none = await cli(['seed', 'demo', '--admin', l.adminSock, '--iso', iso], { PATH: '/nonexistent' });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('none of genisoimage, xorriso or mkisofs is on PATH');
    expect((await cli(['seed', 'demo', '--admin', l.adminSock])).code).toBe(2);
  }, 300_000);
});

describe('wait-ready', () => {
  it('times out with exit 4', async () => {
    const r = await run('wait-ready', 'web-1', '--timeout', '300ms');
    expect(r.code).toBe(4);
    expect(r.stderr).toBe('guestgate: instance "web-1" did not report Ready within 0.3s\n');
  });

  it('returns right after the guest PATCHes Ready (latency printed)', async () => {
    const samples: number[] = [];
    for (let round = 0; round < 3; round++) {
      const p = spawn(
        process.execPath,
        [BIN, 'instances', '--admin', l.adminSock, 'wait-ready', 'demo', '--after', 'now', '--timeout', '20s'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      let lineAt = 0;
      p.stderr.on('data', (c: Buffer) => (err += c));
      p.stdout.on('data', (c: Buffer) => {
        out += c;
        if (!lineAt && out.includes('\n')) lineAt = performance.now();
      });
      // PATCH only once the CLI's long-poll is registered on the gateway (metrics gauge), so the
      // figure is the gateway + CLI reaction, not the CLI's start-up.
      await waitFor(`wait-ready to register (${err})`, async () =>
        /guestgate_ready_waiters 1\b/.test((await http(l.adminSock, 'GET', '/metrics')).text),
      );
      const sent = performance.now();
      const g = await http(l.guestSock, 'PATCH', '/1.0', '{"state":"Ready"}');
      expect(g.status).toBe(200);
      const code = await new Promise<number | null>((r) => p.on('close', r));
      expect(code, err).toBe(0);
      expect(out).toMatch(/^demo Ready \(since /);
      samples.push(lineAt - sent);
    }
    console.log(
      `wait-ready latency (guest PATCH sent -> CLI printed Ready), ms: ${samples.map((s) => s.toFixed(1)).join(', ')}`,
    );
  });
});

describe('wait-ready from a real guest in its own pid namespace', () => {
  it('returns right after a process in a new pid namespace (unshare) PATCHes Ready', async () => {
    for (const tool of ['unshare', 'curl'])
      expect(spawnSync(tool, ['--version']).error, `${tool} is needed for this test`).toBeUndefined();
    expect(process.getuid?.(), 'root is needed for unshare --pid').toBe(0);
    // The guest: waits for a line on stdin, then PATCHes over the shared guest socket.
    const guest = spawn(
      'unshare',
      [
        '--pid',
        '--fork',
        '--mount-proc',
        'sh',
        '-c',
        `read go; exec curl -s -o /dev/null -w '%{http_code}' -X PATCH -d '{"state":"Ready"}' --unix-socket '${l.guestSock}' http://lxd/1.0`,
      ],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let guestOut = '';
    let guestErr = '';
    guest.stdout.on('data', (c: Buffer) => (guestOut += c));
    guest.stderr.on('data', (c: Buffer) => (guestErr += c));
    const guestDone = new Promise((r) => guest.on('close', r));
    // its init: the child of unshare's fork is pid 1 in the new namespace
    let inode = 0;
    let initPid = 0;
    await waitFor('unshare to fork the guest into its pid namespace', () => {
      try {
        const kids = readFileSync(`/proc/${guest.pid}/task/${guest.pid}/children`, 'utf8').trim();
        if (kids) {
          initPid = Number(kids.split(' ')[0]);
          inode = Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${initPid}/ns/pid`))![1]);
        }
      } catch {
        // not forked yet
      }
      return inode > 0;
    });
    const created = await cli(
      ['instances', '--admin', l.adminSock, 'create', '-'],
      {},
      `name: nsguest\nidentity:\n  init_pid: ${initPid}\n  root_uid: 0\n`,
    );
    expect(created.code, created.stderr).toBe(0);
    const p = spawn(
      process.execPath,
      [BIN, 'instances', '--admin', l.adminSock, 'wait-ready', 'nsguest', '--timeout', '20s'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let lineAt = 0;
    const cliDone = new Promise((r) => p.on('close', r));
    p.stdout.on('data', (b: Buffer) => {
      out += b;
      if (!lineAt && out.includes('\n')) lineAt = performance.now();
    });
    await waitFor('wait-ready to register', async () =>
      /guestgate_ready_waiters 1\b/.test((await http(l.adminSock, 'GET', '/metrics')).text),
    );
    const sent = performance.now();
    guest.stdin.end('go\n');
    await guestDone;
    expect(guestOut, guestErr).toBe('200');
    expect(await cliDone).toBe(0);
    expect(out).toMatch(/^nsguest Ready \(since /);
    const ms = lineAt - sent;
    console.log(
      `wait-ready latency, guest in its own pid namespace (trigger -> curl PATCH -> CLI printed Ready): ${ms.toFixed(1)} ms`,
    );
  });
});
