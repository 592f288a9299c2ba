// The NoCloud HTTP listener on loopback: identity by source address (127.0.0.1 belongs to an
// instance here) and by token, empty optional files, forwarding headers refused, unknown callers.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/service.ts';
import { http, inProcess, layout, type Layout } from '../helpers/service.ts';

let l: Layout;
let svc: Service;
let base: string;

const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
  new Promise<{ status: number; type: string; text: string }>((res, rej) => {
    const u = new URL(path, base);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method, headers }, (r) => {
      let t = '';
      r.on('data', (c: Buffer) => (t += c));
      r.on('end', () => res({ status: r.statusCode ?? 0, type: String(r.headers['content-type']), text: t }));
    });
    req.on('error', rej);
    req.end();
  });

beforeAll(async () => {
  l = layout(
    {
      demo: 'name: demo\nidentity: {}\n',
      local: `name: local\nconfig:\n  user.user-data: "#cloud-config\\n# user\\n"\n  cloud-init.user-data: "#cloud-config\\nruncmd: [echo héllo]\\n"\nidentity:\n  addresses: [127.0.0.1]\n`,
      tokened:
        'name: tokened\nconfig:\n  cloud-init.vendor-data: "#cloud-config\\ntimezone: UTC\\n"\nidentity:\n  nocloud_token: abcdefghijklmnop1234\n',
    },
    'nocloud:\n  listen: "127.0.0.1:0"\n',
  );
  svc = await inProcess(l);
  base = `http://${svc.nocloud!.address}/`;
});
afterAll(async () => {
  await svc.stop();
  l.cleanup();
});

describe('NoCloud listener', () => {
  it('serves the caller by source address, cloud-init.* over user.*, UTF-8 text', async () => {
    const md = await get('/meta-data');
    expect(md.status).toBe(200);
    expect(md.text).toBe('instance-id: local\nlocal-hostname: local\n');
    const ud = await get('/user-data');
    expect(ud.text).toBe('#cloud-config\nruncmd: [echo héllo]\n');
    expect(ud.type).toBe('text/plain; charset=utf-8');
  });

  it('serves optional files as empty 200s', async () => {
    for (const f of ['vendor-data', 'network-config']) {
      const r = await get(`/${f}`);
      expect([r.status, r.text]).toEqual([200, '']);
    }
  });

  it('serves by capability token', async () => {
    expect((await get('/nocloud/abcdefghijklmnop1234/meta-data')).text).toBe(
      'instance-id: tokened\nlocal-hostname: tokened\n',
    );
    expect((await get('/nocloud/abcdefghijklmnop1234/vendor-data')).text).toBe('#cloud-config\ntimezone: UTC\n');
    const bad = await get('/nocloud/wrongwrongwrongwrong/meta-data');
    expect([bad.status, bad.text]).toEqual([403, '403 Forbidden: unknown token\n']);
  });

  it('refuses proxy forwarding headers with 400', async () => {
    for (const h of ['Forwarded', 'X-Forwarded-For', 'X-Real-IP']) {
      const r = await get('/meta-data', { [h]: '10.0.0.9' });
      expect(r.status, h).toBe(400);
      expect(r.text).toBe(
        `400 Bad Request: requests carrying a ${h.toLowerCase()} header are refused (the seed is served to instances directly, never through a proxy)\n`,
      );
    }
  });

  it('404 for other files, 405 for other methods, HEAD works', async () => {
    expect((await get('/etc/passwd')).status).toBe(404);
    expect((await get('/meta-data', {}, 'POST')).status).toBe(405);
    expect((await get('/meta-data', {}, 'HEAD')).status).toBe(200);
  });

  it('follows admin changes at once and counts requests in /metrics', async () => {
    await http(
      l.adminSock,
      'PUT',
      '/1.0/instances/local/config/cloud-init.user-data',
      JSON.stringify({ value: '#cloud-config\n# v2\n' }),
      { 'Content-Type': 'application/json' },
    );
    expect((await get('/user-data')).text).toBe('#cloud-config\n# v2\n');
    const m = await http(l.adminSock, 'GET', '/metrics');
    expect(m.text).toMatch(/guestgate_nocloud_requests_total\{file="user-data",status="200"\} [2-9]/);
  });
});
