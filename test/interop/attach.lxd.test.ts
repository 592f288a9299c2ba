// `guestgate attach` / `detach` against the real LXD 5.0.2: live on a running container (see attach-flow.ts),
// and `--all` over every instance of a project of its own (other tests' containers are never touched).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli as runCli } from '../helpers/service.ts';
import { type Container, IMAGE_ALIAS, launchContainer, lxc, lxcQuery } from './lxd-harness.ts';
import { LXD_SOCKET, requireLxd, startLxdGateway, type LxdGateway } from './lxd-gateway.ts';
import { attachDetachFlow, MARKER } from './attach-flow.ts';

const NAME = 'ggop-att';
const PROJECT = 'ggop-att-all';
const IN_PROJECT = ['ggop-all-a', 'ggop-all-b'];
let gw: LxdGateway | undefined;
let c: Container | undefined;
let dir = '';

interface Local {
  config: Record<string, string>;
  devices: Record<string, Record<string, string>>;
}
const local = (name: string, project = 'default') => lxcQuery<Local>(`/1.0/instances/${name}?project=${project}`);
const dropProject = async () => {
  for (const n of IN_PROJECT) await lxc(['delete', '--force', '--project', PROJECT, n]).catch(() => {});
  await lxc(['project', 'delete', PROJECT]).catch(() => {});
};

beforeAll(async () => {
  await requireLxd();
  gw = await startLxdGateway({ guest: { dialect: 'lxd', raw_content_type: 'utf8', location: MARKER } });
  c = await launchContainer(NAME, { replace: true });
  dir = mkdtempSync(join(tmpdir(), 'ggop-att-'));
}, 300_000);

afterAll(async () => {
  await c?.delete();
  await dropProject();
  await gw?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('guestgate attach/detach with LXD 5.0.2', () => {
  it('a running container: guestgate answers at /dev/lxd/sock after attach, LXD again after detach', async () => {
    await attachDetachFlow({
      gw: gw!,
      c: c!,
      dirs: ['/dev/lxd'],
      switchKey: 'security.devlxd',
      deviceNames: ['guestgate-lxd'],
      local: () => local(NAME),
    });
  }, 300_000);

  it('--all attaches and detaches every container of the configured project, and only those', async () => {
    await dropProject();
    await lxc(['project', 'create', PROJECT, '-c', 'features.images=false', '-c', 'features.profiles=false']);
    for (const n of IN_PROJECT)
      await lxc(['init', IMAGE_ALIAS, n, '--project', PROJECT, '-c', 'raw.lxc=lxc.init.cmd = /bin/sleep infinity']);
    const file = join(dir, 'all.yaml');
    writeFileSync(
      file,
      yaml.dump({
        runtime_dir: join(dir, 'run'),
        state_dir: join(dir, 'state'),
        inventory: { source: 'lxd', socket: LXD_SOCKET, project: PROJECT },
      }),
    );
    const socketDir = join(dir, 'run', 'devlxd');
    const a = await runCli(['attach', '--all', '-c', file]);
    expect(a, a.stderr).toMatchObject({ code: 0 });
    expect(a.stdout.trim().split('\n').sort()).toEqual(
      IN_PROJECT.flatMap((n) => [
        `${PROJECT}/${n}: set security.devlxd=false`,
        `${PROJECT}/${n}: added device guestgate-lxd (disk ${socketDir} at /dev/lxd)`,
      ]).sort(),
    );
    expect(a.stderr).toContain(`created ${socketDir}`);
    expect(a.stderr).toContain(`note: ${socketDir}/sock does not exist yet`);
    for (const n of IN_PROJECT)
      expect(await local(n, PROJECT)).toMatchObject({
        config: { 'security.devlxd': 'false' },
        devices: { 'guestgate-lxd': { type: 'disk', source: socketDir, path: '/dev/lxd' } },
      });
    expect((await local(NAME)).devices, 'a container of another project is not touched').toEqual({});

    const again = await runCli(['attach', '--all', '-c', file]);
    expect(again.stdout.trim().split('\n').sort()).toEqual(
      IN_PROJECT.map((n) => `${PROJECT}/${n}: already attached (nothing changed)`),
    );
    const d = await runCli(['detach', '--all', '-c', file]);
    expect(d, d.stderr).toMatchObject({ code: 0 });
    for (const n of IN_PROJECT) {
      const l = await local(n, PROJECT);
      expect(l.devices).toEqual({});
      expect(l.config['security.devlxd']).toBeUndefined();
    }
  }, 300_000);
});
