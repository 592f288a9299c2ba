// `guestgate seed --rootfs DIR --trigger T` writes template files where LXD 5.0.2 does: pending
// trigger then start; new files 0644 root (or --owner), parents 0755, existing files keep mode and
// owner, create_only skips existing files, relative paths and `..` stay inside the rootfs, symlinks
// refused. Root: files are chowned.
import {
  chmodSync,
  existsSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/service.ts';

const dir = mkdtempSync(join(tmpdir(), 'ggt-rootfs-'));
const tpl = join(dir, 'set');
const inst = join(dir, 'c1.yaml');
const META = `templates:
  /etc/hostname: {when: [create, copy], template: hostname.tpl}
  /etc/keepmode: {when: [create], template: hostname.tpl}
  /etc/shipped: {when: [create], create_only: true, template: hostname.tpl}
  /deep/new/dir/file: {when: [start], create_only: true, template: trig.tpl}
  rel/path: {when: [create], template: trig.tpl}
  /../../escape: {when: [rename], template: trig.tpl}
  /etc/link: {when: [copy], template: trig.tpl}
`;

beforeAll(() => {
  expect(process.getuid?.(), 'this test chowns files: run it as root').toBe(0);
  mkdirSync(join(tpl, 'templates'), { recursive: true });
  writeFileSync(join(tpl, 'metadata.yaml'), META);
  writeFileSync(join(tpl, 'templates', 'hostname.tpl'), '{{ instance.name }}\n');
  writeFileSync(join(tpl, 'templates', 'trig.tpl'), '{{ trigger }} {{ path }}');
  writeFileSync(inst, 'name: c1\ntype: container\nconfig: {}\ndevices: {}\nidentity: {}\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function rootfs(name: string): string {
  const r = join(dir, name);
  mkdirSync(join(r, 'etc'), { recursive: true });
  writeFileSync(join(r, 'etc', 'keepmode'), 'old\n');
  chmodSync(join(r, 'etc', 'keepmode'), 0o640);
  chownSync(join(r, 'etc', 'keepmode'), 1000, 1001);
  writeFileSync(join(r, 'etc', 'shipped'), 'shipped\n');
  return r;
}
const seed = (r: string, trigger: string, ...more: string[]) =>
  cli(['seed', '--from-file', inst, '--templates', tpl, '--rootfs', r, '--trigger', trigger, '-o', 'json', ...more]);
const mode = (p: string): string => (statSync(p).mode & 0o7777).toString(8);

describe('seed --rootfs', () => {
  it('create: create templates, then start templates, with LXD modes and owners', async () => {
    const r = rootfs('a');
    const res = await seed(r, 'create', '--owner', '1000000:1000000');
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout) as { files: { trigger: string; path: string; action: string }[] };
    expect(out.files.map((f) => `${f.trigger} ${f.path} ${f.action}`)).toEqual([
      'create /etc/hostname created',
      'create /etc/keepmode overwritten',
      'create /etc/shipped skipped',
      'create rel/path created',
      'start /deep/new/dir/file created',
    ]);
    expect(readFileSync(join(r, 'etc/hostname'), 'utf8')).toBe('c1\n');
    expect([mode(join(r, 'etc/hostname')), statSync(join(r, 'etc/hostname')).uid]).toEqual(['644', 1000000]);
    const keep = statSync(join(r, 'etc/keepmode'));
    expect([readFileSync(join(r, 'etc/keepmode'), 'utf8'), mode(join(r, 'etc/keepmode')), keep.uid, keep.gid]).toEqual([
      'c1\n',
      '640',
      1000,
      1001,
    ]);
    expect(readFileSync(join(r, 'etc/shipped'), 'utf8')).toBe('shipped\n');
    expect(readFileSync(join(r, 'rel/path'), 'utf8')).toBe('create rel/path');
    expect([mode(join(r, 'deep/new/dir')), statSync(join(r, 'deep/new/dir')).uid]).toEqual(['755', 1000000]);
    expect(readFileSync(join(r, 'deep/new/dir/file'), 'utf8')).toBe('start /deep/new/dir/file');
  });

  it('rename: `..` cannot leave the rootfs; start renders start templates only once created', async () => {
    const r = rootfs('b');
    expect((await seed(r, 'rename')).code).toBe(0);
    expect(readFileSync(join(r, 'escape'), 'utf8')).toBe('rename /../../escape');
    const again = await seed(r, 'start');
    expect(JSON.parse(again.stdout).files.map((f: { action: string }) => f.action)).toEqual(['skipped']);
  });

  it('a symlink at the target or on the way is refused (LXD would follow it on the host)', async () => {
    const r = rootfs('c');
    symlinkSync('/tmp', join(r, 'etc', 'link'));
    const res = await seed(r, 'copy');
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/etc\/link is a symlink: refusing to write it/);
  });

  it('a template error names the set, template, line and column at once, and writes nothing', async () => {
    const bad = join(dir, 'bad');
    mkdirSync(join(bad, 'templates'), { recursive: true });
    writeFileSync(
      join(bad, 'metadata.yaml'),
      'templates:\n  /a: {when: [create], template: ok.tpl}\n  /b: {when: [create], template: broken.tpl}\n',
    );
    writeFileSync(join(bad, 'templates', 'ok.tpl'), 'fine\n');
    writeFileSync(join(bad, 'templates', 'broken.tpl'), 'line one\n  {{ instance.name|nosuch }}\n');
    const r = rootfs('d');
    const res = await cli(['seed', '--from-file', inst, '--templates', bad, '--rootfs', r, '--trigger', 'create']);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain(
      `templates folder ${bad}, template broken.tpl: line 2, column 20: filter 'nosuch' does not exist`,
    );
    expect(existsSync(join(r, 'a'))).toBe(false);
  });
});
