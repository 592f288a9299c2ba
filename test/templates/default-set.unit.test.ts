// guestgate's default template set (templates/) renders exactly guestgate's own NoCloud files and
// guest API meta-data; an operator's nocloud.templates_dir replaces it, validated in config.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderMetaData } from '../../src/cloudinit/meta-data.ts';
import { NOCLOUD_FILES, noCloudFiles } from '../../src/cloudinit/seed.ts';
import { templatedSeed } from '../../src/cloudinit/seed-templates.ts';
import { parseConfig } from '../../src/config/load.ts';
import { instanceFromDocument } from '../../src/inventory/parse.ts';
import { DEFAULT_TEMPLATES_DIR, loadTemplateDir } from '../../src/templates/load-dir.ts';

const inst = (doc: Record<string, unknown>) => instanceFromDocument({ identity: {}, ...doc }, 'test');
const samples = [
  inst({ name: 'a' }),
  inst({
    name: 'web',
    config: {
      'user.meta-data': 'foo: bar\nlocal-hostname: other\n',
      'cloud-init.user-data': '#cloud-config\npackages: [vim]\n',
      'user.vendor-data': '#cloud-config\n{}\n',
      'volatile.cloud-init.instance-id': 'abc-123',
    },
    devices: { eth0: { type: 'nic', name: 'eth0', hwaddr: '00:16:3E:00:00:01' } },
  }),
  inst({ name: 'x', config: { 'user.meta-data': 'not: [valid', 'user.user-data': 'héllo\r\n\n' } }),
];

describe('default template set', () => {
  const set = loadTemplateDir(DEFAULT_TEMPLATES_DIR, 'default templates');
  it('lists the cloud-init four and hostname, for create and copy', () => {
    expect(set.entries.map((e) => [e.path, e.when.join(',')])).toEqual([
      ['/etc/hostname', 'create,copy'],
      ...['meta-data', 'network-config', 'user-data', 'vendor-data'].map((f) => [
        `/var/lib/cloud/seed/nocloud-net/${f}`,
        'create,copy',
      ]),
    ]);
  });
  it.each(samples)('renders the same NoCloud files as guestgate computes ($name)', (i) => {
    for (const trigger of ['create', 'copy'] as const) {
      const seed = templatedSeed(set, i, trigger);
      expect(seed.files).toEqual(noCloudFiles(i));
      expect(Object.values(seed.from).every((f) => f.startsWith('default templates: cloud-init-'))).toBe(true);
      expect(seed.rendered.find((r) => r.path === '/etc/hostname')!.content).toBe(`${i.name}\n`);
    }
    const start = templatedSeed(set, i, 'start');
    expect(start.rendered).toEqual([]);
    expect(start.files).toEqual(noCloudFiles(i));
  });
  it('guest API meta-data: instance-id, local-hostname, user.meta-data appended raw; header per dialect', () => {
    expect(renderMetaData(samples[1]!, { header: true })).toBe(
      '#cloud-config\ninstance-id: abc-123\nlocal-hostname: web\nfoo: bar\nlocal-hostname: other\n',
    );
    expect(renderMetaData(samples[0]!, { header: false })).toBe('instance-id: a\nlocal-hostname: a\n');
  });
});

describe('nocloud.templates_dir', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ggt-tpldir-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'guestgate.yaml');
  const base = `inventory: {source: dir, dir: ${dir}}\n`;
  it('replaces the default set; LXD-style templates work', () => {
    mkdirSync(join(dir, 'mine', 'templates'), { recursive: true });
    writeFileSync(
      join(dir, 'mine', 'metadata.yaml'),
      'templates:\n  /var/lib/cloud/seed/nocloud/user-data: {when: [create], template: u.tpl, properties: {default: "#cloud-config\\n{}"}}\n',
    );
    writeFileSync(join(dir, 'mine', 'templates', 'u.tpl'), '{{ config_get("user.user-data", properties.default) }}\n');
    const cfg = parseConfig(`${base}nocloud: {templates_dir: mine}\n`, file);
    expect(cfg.nocloud.templates_dir).toBe(join(dir, 'mine'));
    const seed = templatedSeed(loadTemplateDir(cfg.nocloud.templates_dir!), samples[2]!, 'create');
    expect(seed.files['user-data']).toBe('héllo\n');
    expect(seed.files['meta-data']).toBe(noCloudFiles(samples[2]!)['meta-data']);
    expect(NOCLOUD_FILES.filter((f) => seed.from[f])).toEqual(['user-data']);
  });
  it('a folder without metadata.yaml or templates/ is refused, naming the key', () => {
    mkdirSync(join(dir, 'empty'));
    expect(() => parseConfig(`${base}nocloud: {templates_dir: empty}\n`, file)).toThrow(
      /nocloud\.templates_dir: expected a folder holding metadata\.yaml and templates\/, but .*empty has no metadata\.yaml/,
    );
    expect(() => parseConfig(`${base}nocloud: {templates_dir: nosuch}\n`, file)).toThrow(
      /nocloud\.templates_dir: expected an existing directory/,
    );
  });
});
