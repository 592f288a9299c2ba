// The NoCloud HTTP seed renders the instance's image templates (volatile.base_image, an image in
// guestgate's cache) for `create`; an instance whose image is not cached gets the default set.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { parseConfig } from '../../src/config/load.ts';
import { createImageService } from '../../src/images/index.ts';
import type { Service } from '../../src/service.ts';
import { inProcess, layout, type Layout } from '../helpers/service.ts';

const work = mkdtempSync(join(tmpdir(), 'ggt-nocloud-img-'));
let l: Layout;
let svc: Service;
let fp: string;

const get = (path: string) =>
  new Promise<{ status: number; text: string }>((res, rej) => {
    const u = new URL(path, `http://${svc.nocloud!.address}/`);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname }, (r) => {
      let t = '';
      r.on('data', (c: Buffer) => (t += c));
      r.on('end', () => res({ status: r.statusCode ?? 0, text: t }));
    });
    req.on('error', rej);
    req.end();
  });

beforeAll(async () => {
  const tree = join(work, 'tree');
  mkdirSync(join(tree, 'templates'), { recursive: true });
  mkdirSync(join(tree, 'rootfs', 'etc'), { recursive: true });
  writeFileSync(
    join(tree, 'metadata.yaml'),
    'architecture: x86_64\ncreation_date: 1700000000\ntemplates:\n  /var/lib/cloud/seed/nocloud-net/user-data:\n    when: [create, copy]\n    template: cloud-init-user.tpl\n    properties: {default: "#cloud-config\\n{}\\n"}\n',
  );
  writeFileSync(
    join(tree, 'templates', 'cloud-init-user.tpl'),
    '{{ config_get("user.user-data", properties.default) }}\n# rendered for {{ instance.name }} at {{ trigger }}\n',
  );
  const image = join(work, 'image.tar.gz');
  execFileSync('tar', ['-czf', image, '-C', tree, 'metadata.yaml', 'templates', 'rootfs']);
  fp = createHash('sha256').update(readFileSync(image)).digest('hex');
  l = layout(
    {
      demo: 'name: demo\nidentity: {}\n',
      withimg: `name: withimg\nconfig:\n  volatile.base_image: ${fp}\n  user.user-data: "#cloud-config\\nx: 1\\n\\n"\nidentity:\n  nocloud_token: tokentokentokentoken1\n`,
      uncached: `name: uncached\nconfig:\n  volatile.base_image: ${'0'.repeat(64)}\n  user.user-data: "#cloud-config\\nx: 2\\n"\nidentity:\n  nocloud_token: tokentokentokentoken2\n`,
    },
    'nocloud:\n  listen: "127.0.0.1:0"\n',
  );
  // The image goes into the cache the gateway will use, then the gateway starts.
  const config = parseConfig(readFileSync(l.configFile, 'utf8'), l.configFile);
  const images = await createImageService(config.images, {
    stateDir: config.state_dir,
    log: pino({ level: 'silent' }),
  });
  expect((await images.import([image])).fingerprint).toBe(fp);
  await images.close();
  svc = await inProcess(l);
});
afterAll(async () => {
  await svc?.stop();
  l?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe('NoCloud seed through image templates', () => {
  it("renders the cached image's template (config_get strips the value's trailing newlines)", async () => {
    const ud = await get('/nocloud/tokentokentokentoken1/user-data');
    expect(ud).toEqual({ status: 200, text: '#cloud-config\nx: 1\n# rendered for withimg at create\n' });
    const md = await get('/nocloud/tokentokentokentoken1/meta-data');
    expect(md.text).toBe('instance-id: withimg\nlocal-hostname: withimg\n');
  });
  it('an image not in the cache: the default set', async () => {
    expect((await get('/nocloud/tokentokentokentoken2/user-data')).text).toBe('#cloud-config\nx: 2\n');
  });
});
