// Differential test against the real LXD 5.0.2: an image derived from `guestgate-ci` carrying the
// template set in fixtures/lxd-set (published with `lxc publish`), containers launched, copied,
// renamed and restarted with varied user.* config; every template target read back from the
// container and compared byte for byte (and by mode) with guestgate's rendering of the same set,
// read from the image LXD exported, replayed into a shadow rootfs per trigger.
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Instance } from '../../src/inventory/model.ts';
import { renderTrigger } from '../../src/templates/apply.ts';
import type { Trigger } from '../../src/templates/context.ts';
import { loadImageTemplates } from '../../src/templates/load-image.ts';
import type { TemplateSet } from '../../src/templates/model.ts';
import { targetIn, writeRendered } from '../../src/templates/rootfs.ts';
import { sniffExtension } from '../../src/images/magic.ts';
import { existingContainer, IMAGE_ALIAS, lxc, lxdAvailable } from '../interop/lxd-harness.ts';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'lxd-set');
const IMAGE = 'ggt-t2-image';
const INIT = 'raw.lxc=lxc.init.cmd = /bin/sleep infinity';
const work = mkdtempSync(join(tmpdir(), 'ggt-lxd-tpl-'));
let set: TemplateSet;
const tally = { compared: 0, identical: 0 };

/** `lxc args` with stdin (the harness's lxc() has none). */
function lxcIn(args: string[], input: string): void {
  const r = spawnSync('lxc', args, { input, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`lxc ${args.join(' ')} failed (exit ${r.status}): ${r.stderr}`);
}

async function cleanup(): Promise<void> {
  for (const n of ['ggt-t2-base', 'ggt-t2-a', 'ggt-t2-a2', 'ggt-t2-b0', 'ggt-t2-b'])
    await existingContainer(n).delete();
  await lxc(['image', 'delete', IMAGE]).catch(() => {});
}

async function startAndWait(name: string, verb = 'start'): Promise<void> {
  await lxc(verb === 'start' ? ['start', name] : ['restart', '--force', name], { timeoutMs: 180_000 });
  const deadline = Date.now() + 60_000;
  while ((await existingContainer(name).exec(['true'], { timeoutMs: 20_000 })).code !== 0) {
    if (Date.now() > deadline) throw new Error(`${name} does not run commands after start`);
  }
}

/** guestgate's model of the LXD instance, from LXD's own expanded config and devices. */
async function instanceOf(name: string): Promise<Instance> {
  const { config, devices } = await existingContainer(name).expandedConfig();
  return { key: name, name, project: 'default', type: 'container', location: 'none', config, devices, identity: {} };
}

/** A shadow rootfs holding what the image ships (/ggt/shipped), as guestgate writes into it. */
function shadow(label: string): string {
  const r = join(work, label);
  mkdirSync(join(r, 'ggt'), { recursive: true });
  writeFileSync(join(r, 'ggt', 'shipped'), 'shipped by the image\n');
  return r;
}

function replay(root: string, instance: Instance, triggers: readonly Trigger[]): void {
  for (const t of triggers) writeRendered(root, renderTrigger(set, instance, t));
}

/** A target's mode and content in the container (undefined: absent). */
async function readInContainer(name: string, path: string): Promise<string | undefined> {
  const script = 'test -e "$1" || exit 3; stat -c %a "$1" && cat "$1"';
  const r = await existingContainer(name).exec(['sh', '-c', script, 'sh', path]);
  if (r.code === 3) return undefined;
  if (r.code !== 0) throw new Error(`reading ${path} in ${name}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Every template target: content and mode in the container vs the shadow rootfs. */
async function compare(name: string, root: string): Promise<string[]> {
  const diffs: string[] = [];
  for (const e of set.entries) {
    const theirs = await readInContainer(name, e.path.startsWith('/') ? e.path : `/${e.path}`);
    let mine: string | undefined;
    try {
      const t = targetIn(root, e.path);
      const mode = (spawnSync('stat', ['-c', '%a', t], { encoding: 'utf8' }).stdout ?? '').trim();
      mine = `${mode}\n${readFileSync(t, 'utf8')}`;
    } catch {
      mine = undefined;
    }
    tally.compared++;
    if (theirs === mine) tally.identical++;
    else diffs.push(`${name}:${e.path}: LXD ${JSON.stringify(theirs)} guestgate ${JSON.stringify(mine)}`);
  }
  return diffs;
}

const CONFIG_A: Record<string, string> = {
  'user.user-data': '#cloud-config\npackages: [vim]\nwrite_files:\n  - content: "olá ☃"\n    path: /x\n\n',
  'user.meta-data': 'foo: bär\n',
  'user.role': 'db',
  'user.greeting': 'hello wörld\r\n',
  'user.empty': '',
  'user.vendor-data': '#cloud-config\n{}\n',
};
const CONFIG_B: Record<string, string> = {
  'user.role': 'web',
  'user.count': '41',
  'user.network-config': 'version: 2\nethernets: {eth0: {dhcp4: true}}\n',
  'cloud-init.user-data': '#cloud-config\n{}\n',
};
const cfgArgs = (c: Record<string, string>): string[] => Object.entries(c).flatMap(([k, v]) => ['-c', `${k}=${v}`]);

beforeAll(async () => {
  const lxd = await lxdAvailable();
  if (!lxd.ok) throw new Error(`this test needs the real LXD 5.0.2: ${lxd.why}`);
  await cleanup();
  // The derived image: guestgate-ci's rootfs + /ggt/shipped, metadata.yaml with templates:, templates/.
  await lxc(['init', IMAGE_ALIAS, 'ggt-t2-base', '-c', INIT], { timeoutMs: 300_000 });
  lxcIn(['config', 'metadata', 'edit', 'ggt-t2-base'], readFileSync(join(FIXTURE, 'metadata.yaml'), 'utf8'));
  for (const f of readdirSync(join(FIXTURE, 'templates'))) {
    await lxc(['config', 'template', 'create', 'ggt-t2-base', f]);
    lxcIn(['config', 'template', 'edit', 'ggt-t2-base', f], readFileSync(join(FIXTURE, 'templates', f), 'utf8'));
  }
  writeFileSync(join(work, 'shipped'), 'shipped by the image\n');
  await lxc(['file', 'push', '-p', join(work, 'shipped'), 'ggt-t2-base/ggt/shipped']);
  await lxc(['publish', 'ggt-t2-base', '--alias', IMAGE, '--compression', 'none'], { timeoutMs: 600_000 });
  await existingContainer('ggt-t2-base').delete();
  // guestgate reads the templates from the image as LXD exports it.
  const exp = join(work, 'export');
  mkdirSync(exp);
  await lxc(['image', 'export', IMAGE, join(exp, 'img')], { timeoutMs: 300_000 });
  const file = join(exp, readdirSync(exp)[0]!);
  const head = Buffer.alloc(262);
  const fd = openSync(file, 'r');
  readSync(fd, head, 0, 262, 0);
  closeSync(fd);
  set = await loadImageTemplates(file, sniffExtension(head), `image ${IMAGE}`);
  expect(set.entries.length).toBe(12);
}, 900_000);

afterAll(async () => {
  await cleanup();
  rmSync(work, { recursive: true, force: true });
  console.log(`templates vs LXD 5.0.2: ${tally.compared} files compared, ${tally.identical} identical`);
}, 300_000);

describe('image templates: guestgate renders what LXD 5.0.2 writes', () => {
  it('launch (create, then start), then rename and restart (rename, then start)', async () => {
    await lxc(['init', IMAGE, 'ggt-t2-a', '-c', INIT, ...cfgArgs(CONFIG_A)], { timeoutMs: 300_000 });
    await startAndWait('ggt-t2-a');
    const root = shadow('a');
    replay(root, await instanceOf('ggt-t2-a'), ['create', 'start']);
    expect(await compare('ggt-t2-a', root)).toEqual([]);
    await lxc(['stop', '--force', 'ggt-t2-a'], { timeoutMs: 120_000 });
    await lxc(['rename', 'ggt-t2-a', 'ggt-t2-a2']);
    await startAndWait('ggt-t2-a2');
    replay(root, await instanceOf('ggt-t2-a2'), ['rename', 'start']);
    expect(await compare('ggt-t2-a2', root)).toEqual([]);
  }, 600_000);

  it('copy of a never-started container (copy, then start), then restart (start)', async () => {
    await lxc(['init', IMAGE, 'ggt-t2-b0', '-c', INIT, ...cfgArgs(CONFIG_B)], { timeoutMs: 300_000 });
    await lxc(['copy', 'ggt-t2-b0', 'ggt-t2-b'], { timeoutMs: 300_000 });
    await startAndWait('ggt-t2-b');
    const root = shadow('b');
    replay(root, await instanceOf('ggt-t2-b'), ['copy', 'start']);
    expect(await compare('ggt-t2-b', root)).toEqual([]);
    await startAndWait('ggt-t2-b', 'restart');
    replay(root, await instanceOf('ggt-t2-b'), ['start']);
    expect(await compare('ggt-t2-b', root)).toEqual([]);
  }, 600_000);
});
