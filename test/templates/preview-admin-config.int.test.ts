// The admin preview follows the gateway's configuration: guest.dialect is the default dialect, and
// nocloud.templates_dir is the template set for instances whose image carries none.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/service.ts';
import { DEMO, http, inProcess, layout, type Layout } from '../helpers/service.ts';

let l: Layout;
let svc: Service;

beforeAll(async () => {
  l = layout({ demo: DEMO });
  const tdir = join(l.dir, 'mytemplates');
  mkdirSync(join(tdir, 'templates'), { recursive: true });
  writeFileSync(join(tdir, 'metadata.yaml'), 'templates:\n  /etc/motd:\n    when: [create]\n    template: motd.tpl\n');
  writeFileSync(join(tdir, 'templates', 'motd.tpl'), 'custom set for {{ instance.name }}\n');
  const cfg = readFileSync(l.configFile, 'utf8').replace('guest:\n', 'guest:\n  dialect: incus\n');
  writeFileSync(l.configFile, `${cfg}nocloud:\n  templates_dir: ./mytemplates\n`);
  svc = await inProcess(l);
});
afterAll(async () => {
  await svc?.stop();
  l?.cleanup();
});

describe('admin preview with a configured dialect and templates_dir', () => {
  it("defaults to the config's dialect and renders the configured template set", async () => {
    const r = await http(l.adminSock, 'GET', '/1.0/instances/demo/preview');
    expect(r.status, r.text).toBe(200);
    const p = r.json();
    expect(p.dialect).toBe('incus');
    expect(p.templates.origin).toContain('mytemplates');
    expect(p.templates.files).toEqual([
      expect.objectContaining({
        path: '/etc/motd',
        template: 'motd.tpl',
        content: 'custom set for demo\n',
        lines: [{ line: 1, keys: ['instance.name'] }],
      }),
    ]);
    // A query parameter still overrides the dialect.
    expect((await http(l.adminSock, 'GET', '/1.0/instances/demo/preview?dialect=lxd')).json().dialect).toBe('lxd');
  });
});
