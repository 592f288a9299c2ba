// Isolation on the one shared socket: containers whose names share prefixes (gg-c1, gg-c10, gg-c1-x),
// unprivileged (root = host uid 100000, per uid map) and privileged (root = host uid 0), each read only
// their own user.* data through guestgate; a non-root user inside gets 401; the host gets 500.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { readCallerFacts } from '../../src/identity/facts.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchContainer, type Container } from './lxd-harness.ts';
import { requireLxd, startLxdGateway, type LxdGateway } from './lxd-gateway.ts';
import { parseDump } from './http-dump.ts';

const SPECS = [
  { name: 'gg-c1', privileged: false },
  { name: 'gg-c10', privileged: true },
  { name: 'gg-c1-x', privileged: false },
];
const secrets = new Map(SPECS.map((s) => [s.name, randomBytes(12).toString('hex')]));

let gw: LxdGateway | undefined;
const cs: Container[] = [];

beforeAll(async () => {
  await requireLxd();
  gw = await startLxdGateway();
  cs.push(
    ...(await Promise.all(
      SPECS.map((s) =>
        launchContainer(s.name, {
          replace: true,
          guestSocketDir: gw!.socketDir,
          config: {
            'user.who': s.name,
            'user.secret': secrets.get(s.name)!,
            ...(s.privileged ? { 'security.privileged': 'true' } : {}),
          },
        }),
      ),
    )),
  );
  await gw.until(
    () => SPECS.every((s) => gw!.service.inventory.get(s.name)?.identity.initPid !== undefined),
    15_000,
    'all in the inventory',
  );
}, 120_000);

afterAll(async () => {
  await Promise.all(cs.map((c) => c.delete()));
  await gw?.close();
});

const get = async (c: Container, path: string, uid?: number) => {
  const curl = ['curl', '-s', '-i', '--unix-socket', '/dev/lxd/sock', `http://lxd${path}`];
  const argv =
    uid === undefined ? curl : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', ...curl];
  const r = await c.exec(argv);
  expect(r.code, r.stderr).toBe(0);
  const d = parseDump(r.stdout);
  if (!d)
    throw new Error(
      `${c.name}: no HTTP answer to ${path} (curl exit 0); stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`,
    );
  return d;
};

describe('isolation between containers on one guestgate socket', () => {
  it('root in each container reads only its own user.* keys and meta-data', async () => {
    await Promise.all(
      cs.map(async (c) => {
        expect((await get(c, '/1.0/config/user.who')).body).toBe(c.name);
        expect((await get(c, '/1.0/config/user.secret')).body).toBe(secrets.get(c.name));
        expect(JSON.parse((await get(c, '/1.0/config')).body).sort()).toEqual([
          '/1.0/config/user.secret',
          '/1.0/config/user.who',
        ]);
        expect((await get(c, '/1.0/meta-data')).body).toContain(`\nlocal-hostname: ${c.name}\n`);
      }),
    );
  });

  it('kernel facts: each init resolves to its own instance; root is host uid 100000 (unprivileged) or 0 (privileged)', () => {
    const inv = gw!.service.inventory;
    for (const s of SPECS) {
      const pid = inv.get(s.name)!.identity.initPid!;
      const r = inv.resolve(readCallerFacts({ pid, uid: 0, gid: 0 })!);
      expect(r?.instance.key).toBe(s.name);
      expect(r?.rootUid).toBe(s.privileged ? 0 : 100000);
      expect(readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/).slice(0, 2)).toEqual([
        '0',
        s.privileged ? '0' : '100000',
      ]);
    }
  });

  it('a non-root user inside gets 401, in unprivileged and privileged containers', async () => {
    for (const c of cs) {
      const d = await get(c, '/1.0/config/user.who', 1000);
      expect([d.status, d.body]).toEqual(['HTTP/1.1 401 Unauthorized', 'Access denied for non-root user\n']);
    }
  });

  it('a host process (even with the uid of an unprivileged container root) gets 500', async () => {
    const { stdout } = await promisify(execFile)('setpriv', [
      '--reuid=100000',
      '--regid=100000',
      '--clear-groups',
      '--',
      'curl',
      '-s',
      '-i',
      '--unix-socket',
      gw!.service.guest.path,
      'http://lxd/1.0/config/user.who',
    ]);
    const d = parseDump(stdout)!;
    expect([d.status, d.body]).toEqual(['HTTP/1.1 500 Internal Server Error', 'pid not in container?\n']);
  });
});
