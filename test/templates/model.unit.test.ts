// metadata.yaml's templates: section, trigger selection, and reading it from image tarballs
// (unified and split; gzip, zstd and xz), with the LXD context (config_get, instance, properties).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from 'tar';
import { afterAll, describe, expect, it } from 'vitest';
import type { Instance } from '../../src/inventory/model.ts';
import { renderTrigger } from '../../src/templates/apply.ts';
import { loadImageTemplates } from '../../src/templates/load-image.ts';
import { entriesFor, parseTemplates, triggersAtStart } from '../../src/templates/model.ts';

const META = `architecture: x86_64
creation_date: 1700000000
properties: {os: debian}
templates:
  /etc/hostname:
    when: [create, copy, rename]
    template: hostname.tpl
  /var/lib/cloud/seed/nocloud-net/user-data:
    when: [create, copy]
    create_only: false
    template: cloud-init-user.tpl
    properties:
      default: |
        #cloud-config
        {}
  etc/relative:
    when: [start]
    create_only: true
    template: rel.tpl
  /never:
    when: []
    template: hostname.tpl
  /odd:
    when: [reboot]
    template: hostname.tpl
`;
const inst = (config: Record<string, string>): Instance => ({
  key: 'c1',
  name: 'c1',
  project: 'default',
  type: 'container',
  location: 'none',
  config,
  devices: { eth0: { type: 'nic', name: 'eth0' } },
  identity: {},
});

describe('metadata.yaml templates:', () => {
  const entries = parseTemplates(META, 'image abc');
  it('parses entries with when, create_only, properties', () => {
    expect(entries.map((e) => e.path)).toEqual([
      '/etc/hostname',
      '/never',
      '/odd',
      '/var/lib/cloud/seed/nocloud-net/user-data',
      'etc/relative',
    ]);
    const ud = entries.find((e) => e.path.endsWith('user-data'))!;
    expect(ud.properties).toEqual({ default: '#cloud-config\n{}\n' });
    expect(entries.find((e) => e.path === 'etc/relative')!.createOnly).toBe(true);
  });
  it('selects entries per trigger; when: [] and unknown triggers never render', () => {
    const set = { origin: 'x', entries, sources: new Map() };
    expect(entriesFor(set, 'rename').map((e) => e.path)).toEqual(['/etc/hostname']);
    expect(entriesFor(set, 'start').map((e) => e.path)).toEqual(['etc/relative']);
    expect(triggersAtStart('create')).toEqual(['create', 'start']);
    expect(triggersAtStart(undefined)).toEqual(['start']);
  });
  it('refuses bad entries naming the image and the key', () => {
    expect(() => parseTemplates('templates: {/a: {template: ../x}}', 'image abc')).toThrow(
      'image abc: metadata.yaml: templates./a.template: expected a file name in templates/',
    );
    expect(() => parseTemplates('templates: {/a: {template: a, when: create}}', 'image abc')).toThrow(
      /templates\.\/a\.when: expected a list/,
    );
    expect(parseTemplates('architecture: x86_64\n', 'i')).toEqual([]);
  });
  it('renders with config_get (trailing newlines stripped from values, not defaults), properties, instance', () => {
    const set = {
      origin: 'image abc',
      entries,
      sources: new Map([
        ['hostname.tpl', '{{ container.name }}\n'],
        ['cloud-init-user.tpl', '{{ config_get("user.user-data", properties.default) }}\n'],
      ]),
    };
    const none = renderTrigger(set, inst({}), 'create');
    expect(none.map((f) => [f.path, f.content])).toEqual([
      ['/etc/hostname', 'c1\n'],
      ['/var/lib/cloud/seed/nocloud-net/user-data', '#cloud-config\n{}\n\n'],
    ]);
    const set2 = renderTrigger(set, inst({ 'user.user-data': '#cloud-config\r\nx: é\n\n', 'user.empty': '' }), 'copy');
    expect(set2[1]!.content).toBe('#cloud-config\r\nx: é\n');
    expect(() => renderTrigger({ ...set, sources: new Map() }, inst({}), 'create')).toThrow(
      'image abc: template hostname.tpl (for /etc/hostname) is missing',
    );
  });
});

describe('templates from image tarballs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ggt-model-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const tree = join(dir, 'tree');
  mkdirSync(join(tree, 'templates'), { recursive: true });
  mkdirSync(join(tree, 'rootfs'), { recursive: true });
  writeFileSync(join(tree, 'metadata.yaml'), META);
  writeFileSync(join(tree, 'templates', 'hostname.tpl'), '{{ instance.name }}\n');
  writeFileSync(join(tree, 'rootfs', 'big'), 'x'.repeat(10000));

  it.each([
    ['.tar.gz', ['-czf']],
    ['.tar.xz', ['-cJf']],
    ['.tar.zst', ['--zstd', '-cf']],
    ['.tar', ['-cf']],
  ])('%s (unified: rootfs/ beside templates/)', async (ext, flags) => {
    const file = join(dir, `img${ext}`);
    execFileSync('tar', [...flags, file, '-C', tree, 'metadata.yaml', 'rootfs', 'templates']);
    const set = await loadImageTemplates(file, ext, 'image abc');
    expect(set.entries.length).toBe(5);
    expect([...set.sources]).toEqual([['hostname.tpl', '{{ instance.name }}\n']]);
  });
  it('split metadata tarball made by node-tar (./ prefixed paths)', async () => {
    const file = join(dir, 'meta.tar.gz');
    await create({ gzip: true, file, cwd: tree }, ['./metadata.yaml', './templates']);
    const set = await loadImageTemplates(file, '.tar.gz', 'image abc');
    expect(set.sources.get('hostname.tpl')).toBe('{{ instance.name }}\n');
  });
  it('a tarball without metadata.yaml is an error naming the image', async () => {
    const file = join(dir, 'none.tar.gz');
    await create({ gzip: true, file, cwd: tree }, ['templates']);
    await expect(loadImageTemplates(file, '.tar.gz', 'image abc')).rejects.toThrow('image abc: no metadata.yaml');
  });
});
