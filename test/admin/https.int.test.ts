// The admin API over HTTPS for remote orchestrators: a client certificate signed by client_ca is
// required at the TLS layer; with one, the same API answers.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Service } from '../../src/service.ts';
import { inProcess, layout, type Layout } from '../helpers/service.ts';

let l: Layout;
let svc: Service;
let port = 0;

const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: l.dir, stdio: 'pipe' });

beforeAll(async () => {
  l = layout(
    { demo: 'name: demo\nidentity: {}\n' },
    'admin:\n  https:\n    listen: "127.0.0.1:0"\n    cert: ./server.crt\n    key: ./server.key\n    client_ca: ./ca.crt\n',
  );
  ssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=test-ca',
  );
  for (const [name, subj, ext] of [
    ['server', '/CN=localhost', 'subjectAltName=IP:127.0.0.1'],
    ['client', '/CN=orchestrator', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    ssl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      subj,
    );
    writeFileSync(join(l.dir, `${name}.ext`), `${ext}\n`);
    ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
    );
  }
  svc = await inProcess(l);
  port = Number(svc.admin!.httpsAddress!.split(':').pop());
}, 180_000);

afterAll(async () => {
  await svc?.stop();
  l.cleanup();
});

const get = (path: string, withCert: boolean) =>
  new Promise<{ status: number; text: string }>((resolve, reject) => {
    const f = (n: string) => readFileSync(join(l.dir, n));
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        ca: f('ca.crt'),
        ...(withCert ? { cert: f('client.crt'), key: f('client.key') } : {}),
      },
      (r) => {
        let t = '';
        r.on('data', (c: Buffer) => (t += c));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, text: t }));
      },
    );
    req.on('error', reject);
    req.end();
  });

it('answers a client with a certificate signed by client_ca', async () => {
  const r = await get('/1.0/instances', true);
  expect(r.status).toBe(200);
  expect(JSON.parse(r.text).map((i: { key: string }) => i.key)).toEqual(['demo']);
});

it('refuses a client without a certificate at the TLS layer', async () => {
  await expect(get('/healthz', false)).rejects.toThrow(/certificate|alert|socket hang up|ECONNRESET/i);
});
