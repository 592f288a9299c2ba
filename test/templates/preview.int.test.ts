// `guestgate preview`: guest API view per dialect, NoCloud files with their source, rendered image
// templates with paths; -o json|yaml. The CLI runs as a real process (int).
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { buildPreview } from '../../src/cloudinit/preview.ts';
import { instanceFromDocument } from '../../src/inventory/parse.ts';
import { loadTemplateDir } from '../../src/templates/load-dir.ts';
import { cli } from '../helpers/service.ts';

const ROOT = join(import.meta.dirname, '../..');
const DEMO = join(ROOT, 'fixtures/demo/inventory/demo.yaml');
const SET = join(import.meta.dirname, 'fixtures/lxd-set');

describe('preview', () => {
  it('pure: guest API per dialect, NoCloud sources, templates for the trigger', () => {
    const i = instanceFromDocument(
      {
        name: 'p1',
        identity: {},
        config: { 'user.user-data': '#cloud-config\n', 'user.role': 'db', 'limits.cpu': '2' },
      },
      't',
    );
    const p = buildPreview(i, loadTemplateDir(SET, 'lxd-set'), 'start', 'lxd');
    expect(p.guest_api.config).toEqual({ 'user.role': 'db', 'user.user-data': '#cloud-config\n' });
    expect(p.guest_api.meta_data).toBe('instance-id: p1\nlocal-hostname: p1\n');
    expect(p.nocloud['user-data']).toEqual({
      content: '#cloud-config\n',
      from: 'user.user-data',
      lines: [{ line: 1, keys: ['user.user-data'] }],
    });
    expect(p.nocloud['network-config'].from).toBe('NIC devices (default)');
    expect(p.templates.files.map((f) => f.path)).toEqual([
      '/ggt/createonly',
      '/ggt/ifelse',
      '/ggt/props',
      '/ggt/trigger',
      'ggt/relative',
    ]);
    // Per line, the keys behind it: the if/elif conditions and the values printed.
    const ifelse = p.templates.files.find((f) => f.path === '/ggt/ifelse')!;
    expect(ifelse.content.split('\n')[0]).toBe('database');
    expect(ifelse.lines[0]).toEqual({ line: 1, keys: ['user.role'] });
    expect(ifelse.lines[1]).toEqual({ line: 3, keys: ['instance.name', 'user.count (unset)'] });
    const create = buildPreview(i, loadTemplateDir(SET, 'lxd-set'), 'create', 'lxd-5.0');
    expect(create.guest_api.meta_data.startsWith('#cloud-config\n')).toBe(true);
    expect(create.nocloud['user-data']).toEqual({
      content: '#cloud-config\n',
      from: 'lxd-set: cloud-init-user.tpl',
      lines: [{ line: 1, keys: ['user.user-data'] }],
    });
    const vendor = create.templates.files.find((f) => f.path.endsWith('/vendor-data'))!;
    expect(vendor.lines.map((l) => l.keys)).toEqual([
      ['properties.default', 'user.vendor-data (unset)'],
      ['properties.default', 'user.vendor-data (unset)'],
    ]);
  });

  it('CLI: -o json and yaml, and the text view', async () => {
    const env = { GUESTGATE_CONFIG: '/nonexistent.yaml' };
    const j = await cli(['preview', '--from-file', DEMO, '--templates', SET, '-o', 'json'], env);
    expect(j.code, j.stderr).toBe(0);
    const p = JSON.parse(j.stdout);
    expect(p.dialect).toBe('lxd-5.0');
    expect(p.templates.files.find((f: { path: string }) => f.path === '/ggt/hostname')).toMatchObject({
      content: 'demo\n',
      lines: [{ line: 1, keys: ['instance.name'] }],
    });
    const y = await cli(
      ['preview', '--from-file', DEMO, '-o', 'yaml', '--dialect', 'incus', '-c', '/nonexistent.yaml'],
      env,
    );
    expect((yaml.load(y.stdout) as { nocloud: Record<string, { from: string }> }).nocloud['meta-data']?.from).toBe(
      'default templates: cloud-init-meta.tpl',
    );
    const t = await cli(['preview', '--from-file', DEMO, '-c', '/nonexistent.yaml'], env);
    // The text view marks each line with the keys behind it.
    expect(t.stdout).toContain(
      '== image templates (default templates)\n/etc/hostname (hostname.tpl):\n  demo    « instance.name\n',
    );
    expect(t.stdout).toContain(
      'user-data (from default templates: cloud-init-user.tpl):\n  #cloud-config    « cloud-init.user-data\n',
    );
  });
});
