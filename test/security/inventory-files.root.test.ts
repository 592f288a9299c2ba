// Findings 4, 6 and 7 of the identity issue: instance files written in place, files that are not
// instance files (symlinks to /etc/shadow and /dev/zero, a FIFO named *.yaml, a huge file), and
// the modes admin writes leave.
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
  closeSync,
  ftruncateSync,
  chmodSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { parseInstanceYaml } from '../../src/inventory/parse.ts';
import type { Instance } from '../../src/inventory/model.ts';
import { DirSource } from '../../src/inventory/sources/dir.ts';
import { createLogger } from '../../src/log.ts';
import { startGateway } from '../helpers/gateway.ts';
import { CGROUP2_ROOT } from '../helpers/requirements.ts';
import { createNamespace, curlIn, removeCgroupTree } from '../helpers/namespaces.ts';

const run = `/gg-sec-${process.pid}`;
const tmp: string[] = [];
afterAll(async () => {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
  await removeCgroupTree(`${CGROUP2_ROOT}${run}`);
});

function capture(): { log: ReturnType<typeof createLogger>; text: () => string } {
  let out = '';
  const w = new Writable({
    write(chunk, _enc, cb) {
      out += String(chunk);
      cb();
    },
  });
  return { log: createLogger('debug', w), text: () => out };
}

const until = async (pred: () => boolean, what: string, ms = 20_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`${what}: not reached in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('inventory files', () => {
  it('finding 4: a file rewritten in place with a 400 ms pause is never applied half-written', async () => {
    const own = await createNamespace({ cgroup: `${run}/sib/lxc.payload.half` });
    const sibling = await createNamespace({ cgroup: `${run}/sib/other` });
    const gw = await startGateway({ inventory: { settle: '1s' } }); // the default settle
    try {
      const file = join(gw.dir, 'inventory', 'half.yaml');
      const doc = (secret: string) =>
        `name: half\nconfig:\n  user.secret: ${secret}\nidentity:\n  root_uid: 0\n  cgroup: ${run}/sib/lxc.payload.half\n`;
      writeFileSync(file, doc('v1'));
      await gw.until(() => gw.service.inventory.get('half')?.config['user.secret'] === 'v1', 10_000);
      expect((await curlIn(own, gw.socket, '/1.0/config/user.secret')).body).toBe('v1');

      // The editor: truncate, write up to the cut cgroup line (now the PARENT cgroup), pause, finish.
      const text = doc('v2');
      const cut = text.indexOf('/lxc.payload.half');
      const fd = openSync(file, 'r+');
      ftruncateSync(fd, 0);
      writeSync(fd, text.slice(0, cut), 0);
      const seen = new Set<string>();
      const pauseEnd = Date.now() + 400;
      let siblingStatus = 0;
      while (Date.now() < pauseEnd) {
        seen.add(gw.service.inventory.get('half')?.identity.cgroup ?? '');
        if (!siblingStatus) siblingStatus = (await curlIn(sibling, gw.socket, '/1.0/config/user.secret')).status;
        await new Promise((r) => setTimeout(r, 20));
      }
      writeSync(fd, text.slice(cut), cut);
      closeSync(fd);
      await gw.until(() => gw.service.inventory.get('half')?.config['user.secret'] === 'v2', 10_000);
      expect([...seen]).toEqual([`${run}/sib/lxc.payload.half`]);
      expect(siblingStatus).toBe(500);
      expect((await curlIn(sibling, gw.socket, '/1.0/config/user.secret')).status).toBe(500);
      expect((await curlIn(own, gw.socket, '/1.0/config/user.secret')).body).toBe('v2');
    } finally {
      await gw.close();
      await Promise.all([own.close(), sibling.close()]);
    }
  }, 60_000);

  it('finding 6: symlinks to /etc/shadow and /dev/zero, a FIFO named *.yaml and a huge file are refused; scans and writes go on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-sec-inv-'));
    tmp.push(dir);
    symlinkSync('/etc/shadow', join(dir, 'shadow.yaml'));
    symlinkSync('/dev/zero', join(dir, 'zero.yaml'));
    execFileSync('mkfifo', [join(dir, 'fifo.yaml')]);
    writeFileSync(join(dir, 'big.yaml'), `name: big\nconfig:\n  user.pad: "${'x'.repeat(2 * 1024 * 1024)}"\n`);
    writeFileSync(join(dir, 'shadowcopy.yaml'), readFileSync('/etc/shadow')); // content that parses as a key
    writeFileSync(join(dir, 'good.yaml'), 'name: good\nidentity: {root_uid: 0}\n');
    const { log, text } = capture();
    const src = new DirSource({ dir, debounceMs: 10, settleMs: 50, maxFileSize: 1024 * 1024, log });
    const seen = new Map<string, Instance>();
    try {
      const all = await src.start((c) => {
        if (c.kind === 'upsert') seen.set(c.after.key, c.after);
        else seen.delete(c.before.key);
      });
      expect(all.map((i) => i.key)).toEqual(['good']);
      const logs = text();
      for (const f of ['shadow.yaml', 'zero.yaml', 'fifo.yaml', 'big.yaml', 'shadowcopy.yaml'])
        expect(logs).toContain(join(dir, f));
      expect(logs).toContain('is a symbolic link');
      expect(logs).toContain('is not a regular file (a FIFO)');
      expect(logs).toContain('over inventory.max_file_size (1048576)');
      for (const line of readFileSync('/etc/shadow', 'utf8')
        .split('\n')
        .filter((l) => l.length > 0)) {
        expect(logs).not.toContain(line.split(':').slice(0, 2).join(':'));
        const hash = line.split(':')[1] ?? '';
        if (hash.length > 3) expect(logs).not.toContain(hash);
      }
      expect(process.memoryUsage().rss).toBeLessThan(1024 * 1024 * 1024);
      // Admin writes and later scans still work with the FIFO in place.
      await src.put(parseInstanceYaml('name: added\nidentity: {root_uid: 0}\n', 'added'));
      writeFileSync(join(dir, 'later.yaml'), 'name: later\nidentity: {root_uid: 0}\n');
      await until(() => seen.has('later'), 'later.yaml picked up');
      await src.reload();
      expect([...seen.keys()].sort()).toEqual(['added', 'later']);
    } finally {
      await src.stop();
    }
  }, 60_000);

  it('finding 7: admin writes keep an instance file mode; new files are 0600 whatever the umask', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gg-sec-modes-'));
    tmp.push(dir);
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'secret.yaml'), 'name: secret\nconfig: {cloud-init.user-data: "password: x"}\n');
    chmodSync(join(dir, 'secret.yaml'), 0o600);
    writeFileSync(join(dir, 'shared.yaml'), 'name: shared\n');
    chmodSync(join(dir, 'shared.yaml'), 0o640);
    const { log } = capture();
    const src = new DirSource({ dir, debounceMs: 10, settleMs: 0, log });
    const old = process.umask(0o022);
    try {
      await src.start(() => {});
      await src.put(parseInstanceYaml('name: secret\nconfig: {cloud-init.user-data: "password: y"}\n', 's'));
      await src.put(parseInstanceYaml('name: shared\nconfig: {user.a: b}\n', 's'));
      await src.put(parseInstanceYaml('name: fresh\nconfig: {user.a: b}\n', 's'));
      const mode = (f: string) => (statSync(join(dir, f)).mode & 0o777).toString(8);
      expect([mode('secret.yaml'), mode('shared.yaml'), mode('fresh.yaml')]).toEqual(['600', '640', '600']);
      expect(readFileSync(join(dir, 'secret.yaml'), 'utf8')).toContain('password: y');
    } finally {
      process.umask(old);
      await src.stop();
    }
  });
});
