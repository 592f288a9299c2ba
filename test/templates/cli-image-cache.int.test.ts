// `guestgate seed` and `guestgate preview` render the instance's own image templates
// (volatile.base_image) from guestgate's image cache: offline by reading the cache folder (no lock
// taken: reading is safe while another process holds it), and through the running gateway's admin
// API (GET /1.0/images/<fp>/templates) when one answers.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { createImageService } from '../../src/images/index.ts';
import { lockCache } from '../../src/images/store/lock.ts';
import { defaultCacheDir } from '../../src/images/store/paths.ts';
import type { Service } from '../../src/service.ts';
import { cli, DEMO, http, inProcess, layout, type Layout } from '../helpers/service.ts';

let l: Layout;
let fp: string;
let cacheDir: string;
let instFile: string;

const USER_TPL = '{{ config_get("user.user-data", properties.default) }}\n# image template for {{ instance.name }}\n';

beforeAll(async () => {
  l = layout({ demo: DEMO });
  const tree = join(l.dir, 'tree');
  mkdirSync(join(tree, 'templates'), { recursive: true });
  mkdirSync(join(tree, 'rootfs', 'etc'), { recursive: true });
  writeFileSync(
    join(tree, 'metadata.yaml'),
    'architecture: x86_64\ncreation_date: 1700000000\ntemplates:\n  /var/lib/cloud/seed/nocloud-net/user-data:\n    when: [create, copy]\n    template: cloud-init-user.tpl\n    properties: {default: "#cloud-config\\n{}\\n"}\n',
  );
  writeFileSync(join(tree, 'templates', 'cloud-init-user.tpl'), USER_TPL);
  const image = join(l.dir, 'image.tar.gz');
  execFileSync('tar', ['-czf', image, '-C', tree, 'metadata.yaml', 'templates', 'rootfs']);
  fp = createHash('sha256').update(readFileSync(image)).digest('hex');
  const config = parseConfig(readFileSync(l.configFile, 'utf8'), l.configFile);
  cacheDir = defaultCacheDir(config.images, config.state_dir);
  const images = await createImageService(config.images, {
    stateDir: config.state_dir,
    log: pino({ level: 'silent' }),
  });
  expect((await images.import([image])).fingerprint).toBe(fp);
  await images.close();
  const inst = `name: withimg\nconfig:\n  volatile.base_image: ${fp}\n  user.user-data: "#cloud-config\\nx: 1\\n"\nidentity: {}\n`;
  instFile = join(l.dir, 'withimg.yaml');
  writeFileSync(instFile, inst);
  writeFileSync(join(l.inventory, 'withimg.yaml'), inst);
});
afterAll(() => l?.cleanup());

const EXPECTED = '#cloud-config\nx: 1\n# image template for withimg\n';

describe('offline: the cache folder, read without its lock', () => {
  it('preview and seed --out render the cached image templates while another process holds the lock', async () => {
    const lock = await lockCache(cacheDir, 'test holder');
    try {
      const p = await cli(['preview', '--from-file', instFile, '-c', l.configFile, '-o', 'json']);
      expect(p.code, p.stderr).toBe(0);
      const j = JSON.parse(p.stdout);
      expect(j.templates.origin).toBe(`image ${fp.slice(0, 12)}`);
      expect(j.nocloud['user-data'].content).toBe(EXPECTED);
      const out = join(l.dir, 'seed-offline');
      const s = await cli(['seed', '--from-file', instFile, '-c', l.configFile, '--out', out, '-o', 'json']);
      expect(s.code, s.stderr).toBe(0);
      expect(readFileSync(join(out, 'user-data'), 'utf8')).toBe(EXPECTED);
    } finally {
      await lock.release();
    }
  });
  it('an instance whose image is not cached gets the default set', async () => {
    const other = join(l.dir, 'other.yaml');
    writeFileSync(other, `name: other\nconfig:\n  volatile.base_image: ${'0'.repeat(64)}\nidentity: {}\n`);
    const p = await cli(['preview', '--from-file', other, '-c', l.configFile, '-o', 'json']);
    expect(p.code, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout).templates.origin).toBe('default templates');
  });
});

describe('online: through the running gateway', () => {
  let svc: Service;
  beforeAll(async () => {
    svc = await inProcess(l);
  });
  afterAll(async () => svc?.stop());

  it('GET /1.0/images/<fp>/templates gives the set; an uncached image is 404', async () => {
    const r = await http(l.adminSock, 'GET', `/1.0/images/${fp}/templates`);
    expect(r.status, r.text).toBe(200);
    expect(r.json()).toEqual({
      origin: `image ${fp.slice(0, 12)}`,
      entries: [
        {
          path: '/var/lib/cloud/seed/nocloud-net/user-data',
          template: 'cloud-init-user.tpl',
          when: ['create', 'copy'],
          create_only: false,
          properties: { default: '#cloud-config\n{}\n' },
        },
      ],
      sources: { 'cloud-init-user.tpl': USER_TPL },
    });
    const missing = await http(l.adminSock, 'GET', `/1.0/images/${'0'.repeat(64)}/templates`);
    expect(missing.status).toBe(404);
    expect(missing.json().error.code).toBe('E_IMAGE_NOT_FOUND');
  });
  it('preview <instance> and seed <instance> --rootfs render the image templates', async () => {
    const p = await cli(['preview', 'withimg', '-c', l.configFile, '-o', 'json']);
    expect(p.code, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout).templates.files[0].content).toBe(EXPECTED);
    const rootfs = join(l.dir, 'rootfs-online');
    mkdirSync(rootfs);
    const s = await cli(['seed', 'withimg', '-c', l.configFile, '--rootfs', rootfs, '-o', 'json']);
    expect(s.code, s.stderr).toBe(0);
    expect(readdirSync(join(rootfs, 'var/lib/cloud/seed/nocloud-net'))).toEqual(['user-data']);
    expect(readFileSync(join(rootfs, 'var/lib/cloud/seed/nocloud-net/user-data'), 'utf8')).toBe(EXPECTED);
  });
});
