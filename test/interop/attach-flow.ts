// `guestgate attach` / `detach` on a RUNNING container of a real server (LXD 5.0.2 or Incus 6.0.4), the CLI
// run as a process against the config of a gateway that fronts that server. Before: the server's own
// guest API answers. After attach: guestgate answers at every guest path (its own GET /1.0, with a
// location only guestgate reports, and the instance's own meta-data), live, without a restart. A second
// attach changes nothing. After detach: the server's own guest API answers again, the instance's own
// config and devices are what they were, and guestgate's paths that the server does not have are gone.
import { expect } from 'vitest';
import { cli as runCli } from '../helpers/service.ts';
import type { Container, ExpandedConfig } from './lxd-harness.ts';
import type { LxdGateway } from './lxd-gateway.ts';

/** What guestgate reports as `location` in GET /1.0 (the lxd and incus dialects): no server says this. */
export const MARKER = 'ggop-attach-gateway';

export interface GuestAnswer {
  readonly status: number;
  readonly body: string;
}

/** GET `path` on `<dir>/sock` from inside the container; status 0 when the socket is not there. */
export async function guestGet(c: Container, dir: string, path: string): Promise<GuestAnswer> {
  const r = await c.exec(['curl', '-s', '-w', '\n%{http_code}', '--unix-socket', `${dir}/sock`, `http://x${path}`]);
  const i = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(i + 1)), body: r.stdout.slice(0, i) };
}

const own = (e: ExpandedConfig, local: { config: Record<string, string>; devices: unknown }) => ({
  config: Object.fromEntries(Object.entries(local.config).filter(([k]) => !k.startsWith('volatile.'))),
  devices: local.devices,
  expandedKeys: Object.keys(e.devices).sort(),
});

export async function attachDetachFlow(opts: {
  gw: LxdGateway;
  c: Container;
  /** The server's guest API folder, then where cloud-init looks (Incus: /dev/incus, /dev/lxd). */
  dirs: readonly string[];
  switchKey: string;
  deviceNames: readonly string[];
  /** The instance's own config and devices as the server stores them. */
  local(): Promise<{ config: Record<string, string>; devices: unknown }>;
}): Promise<void> {
  const { gw, c, dirs, switchKey, deviceNames } = opts;
  const cfg = ['-c', gw.configFile];
  const [serverDir] = dirs as [string];
  const before = own(await c.expandedConfig(), await opts.local());
  const serverAnswer = await guestGet(c, serverDir, '/1.0');
  expect(serverAnswer.status, "the server's own guest API answers before attach").toBe(200);
  expect(serverAnswer.body).not.toContain(MARKER);

  const a1 = await runCli(['attach', c.name, ...cfg]);
  expect(a1, 'first attach').toMatchObject({ code: 0 });
  expect(a1.stdout.trim().split('\n')).toEqual([
    `${c.name}: set ${switchKey}=false`,
    ...deviceNames.map((n, i) => `${c.name}: added device ${n} (disk ${gw.socketDir} at ${dirs[i]})`),
  ]);
  const e = await c.expandedConfig();
  expect(e.config[switchKey]).toBe('false');
  for (const [i, n] of deviceNames.entries())
    expect(e.devices[n]).toEqual({ type: 'disk', source: gw.socketDir, path: dirs[i] });

  // Live: the running container reaches guestgate at every path, identified as itself.
  await gw.until(() => gw.service.inventory.get(c.name)?.identity.initPid !== undefined, 30_000, `${c.name} known`);
  for (const dir of dirs) {
    const info = await guestGet(c, dir, '/1.0');
    expect(info.status, `GET /1.0 at ${dir}/sock after attach`).toBe(200);
    expect(JSON.parse(info.body)).toMatchObject({ api_version: '1.0', location: MARKER });
    const md = await guestGet(c, dir, '/1.0/meta-data');
    expect(md).toMatchObject({ status: 200 });
    expect(md.body).toContain(`local-hostname: ${c.name}`);
  }
  // guestgate does not show its own plumbing to the guest.
  const devices = JSON.parse((await guestGet(c, serverDir, '/1.0/devices')).body) as Record<string, unknown>;
  for (const n of deviceNames) expect(Object.keys(devices)).not.toContain(n);

  const a2 = await runCli(['attach', c.name, ...cfg]);
  expect(a2, 'second attach').toMatchObject({ code: 0, stdout: `${c.name}: already attached (nothing changed)\n` });
  expect(await c.expandedConfig()).toEqual(e);

  const d1 = await runCli(['detach', c.name, ...cfg]);
  expect(d1, 'detach').toMatchObject({ code: 0 });
  expect(d1.stdout.trim().split('\n')).toEqual([
    ...deviceNames.map((n) => `${c.name}: removed device ${n}`),
    `${c.name}: unset ${switchKey}`,
  ]);
  expect(own(await c.expandedConfig(), await opts.local()), 'own config and devices as before attach').toEqual(before);
  const back = await guestGet(c, serverDir, '/1.0');
  expect(back.status, "the server's own guest API answers again after detach").toBe(200);
  expect(back.body).toBe(serverAnswer.body);
  for (const dir of dirs.slice(1))
    expect((await c.exec(['test', '-e', dir])).code, `${dir} is gone after detach (the server has none)`).toBe(1);

  const d2 = await runCli(['detach', c.name, ...cfg]);
  expect(d2).toMatchObject({ code: 0, stdout: `${c.name}: not attached (nothing changed)\n` });

  const unknown = await runCli(['attach', 'ggop-no-such', ...cfg]);
  expect(unknown.code, unknown.stderr).toBe(3);
  expect(unknown.stderr).toMatch(/instance ggop-no-such not found .*nothing was changed/);
}
