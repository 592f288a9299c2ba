// GET /1.0/instances/<name>/preview on the real admin socket: JSON and YAML, trigger and dialect
// parameters, bad values refused with a named key.
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/service.ts';
import { DEMO, http, inProcess, layout, type Layout } from '../helpers/service.ts';

let l: Layout;
let svc: Service;
const A = (p: string, h?: Record<string, string>) => http(l.adminSock, 'GET', p, undefined, h);

beforeAll(async () => {
  l = layout({ demo: DEMO });
  svc = await inProcess(l);
});
afterAll(async () => {
  await svc.stop();
  l.cleanup();
});

describe('admin preview', () => {
  it('shows the guest API view, NoCloud files and rendered templates', async () => {
    const r = await A('/1.0/instances/demo/preview?dialect=lxd');
    expect(r.status).toBe(200);
    const p = r.json();
    expect(p.instance).toBe('demo');
    expect(p.guest_api.meta_data.startsWith('instance-id: ')).toBe(true);
    expect(p.nocloud['meta-data'].from).toBe('default templates: cloud-init-meta.tpl');
    expect(p.templates.files.map((f: { path: string }) => f.path)).toContain('/etc/hostname');
    const y = await A('/1.0/instances/demo/preview?trigger=start', { Accept: 'application/yaml' });
    expect((yaml.load(y.text) as { templates: { files: unknown[] } }).templates.files).toEqual([]);
  });
  it('refuses unknown triggers and dialects, naming the key', async () => {
    const r = await A('/1.0/instances/demo/preview?trigger=boot');
    expect(r.status).toBe(400);
    expect(r.json().error).toMatchObject({ code: 'E_BAD_REQUEST', key: 'trigger' });
    expect((await A('/1.0/instances/nosuch/preview')).status).toBe(404);
  });
});
