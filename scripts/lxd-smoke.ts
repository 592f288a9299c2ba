// Smoke check of the LXD setup and test/interop/lxd-harness.ts (run after scripts/lxd-setup.sh):
//   node scripts/lxd-smoke.ts        (Node 24; prints what it sees, exits non-zero on a failed check)
import { chmod, mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchContainer, lxdAvailable } from '../test/interop/lxd-harness.ts';
import type { Container } from '../test/interop/lxd-harness.ts';

let failed = 0;
function check(what: string, ok: boolean, detail = ''): void {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? `: ${detail}` : ''}`);
  if (!ok) failed++;
}

async function hostView(c: Container): Promise<void> {
  const pid = await c.initPid();
  const ns = await readlink(`/proc/${pid}/ns/pid`);
  const cgroup = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).trim().split('\n');
  const uidMap = (await readFile(`/proc/${pid}/uid_map`, 'utf8')).trim().replace(/\s+/g, ' ');
  console.log(`     ${c.name}: init pid ${pid}, pid ns ${ns}, uid_map "${uidMap}"`);
  for (const line of cgroup) console.log(`     ${c.name}: cgroup ${line}`);
}

const avail = await lxdAvailable();
if (!avail.ok) {
  console.log(`LXD not available: ${avail.why}`);
  process.exit(1);
}

const made: Container[] = [];
let server: Server | undefined;
const dir = await mkdtemp(join(tmpdir(), 'gg-smoke-'));
try {
  let t = Date.now();
  const c1 = await launchContainer('gg-smoke', { config: { 'user.foo': 'bar' }, replace: true });
  made.push(c1);
  check('launch gg-smoke (unprivileged, LXD devlxd)', true, `${Date.now() - t} ms`);
  const r = await c1.exec(['curl', '-s', '--unix-socket', '/dev/lxd/sock', 'http://lxd/1.0/config/user.foo']);
  check('LXD devlxd answers user.foo', r.code === 0 && r.stdout === 'bar', JSON.stringify(r));
  const cat = await c1.exec(['cat'], { input: 'piped input' });
  check('exec passes stdin', cat.stdout === 'piped input', JSON.stringify(cat));
  const exit3 = await c1.exec(['sh', '-c', 'echo err >&2; exit 3']);
  check('exec reports exit code and stderr', exit3.code === 3 && exit3.stderr === 'err\n', JSON.stringify(exit3));
  await c1.setConfig('user.x', 'a=b c');
  let cfg = await c1.expandedConfig();
  check('setConfig', cfg.config['user.x'] === 'a=b c', JSON.stringify(cfg.config['user.x']));
  const r2 = await c1.exec(['curl', '-s', '--unix-socket', '/dev/lxd/sock', 'http://lxd/1.0/config/user.x']);
  check('devlxd sees the new key', r2.stdout === 'a=b c', r2.stdout);
  await c1.unsetConfig('user.x');
  await c1.addDevice('extra', { type: 'disk', source: dir, path: '/mnt/extra' });
  cfg = await c1.expandedConfig();
  check('unsetConfig', !('user.x' in cfg.config));
  check('addDevice', cfg.devices['extra']?.['path'] === '/mnt/extra', JSON.stringify(cfg.devices));
  await c1.removeDevice('extra');
  cfg = await c1.expandedConfig();
  check('removeDevice', !('extra' in cfg.devices), JSON.stringify(Object.keys(cfg.devices)));
  await hostView(c1);

  // An unprivileged container's root is an unmapped uid on the host: the socket directory must be
  // searchable (o+x) and the socket writable (o+w) by others, or connect() fails with EACCES.
  await chmod(dir, 0o755);
  const sock = join(dir, 'sock');
  server = createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`hello from the host: ${req.method} ${req.url}`);
  });
  await new Promise<void>((resolve, reject) => server?.once('error', reject).listen(sock, resolve));
  await chmod(sock, 0o666);
  t = Date.now();
  const c2 = await launchContainer('gg-smoke2', { guestSocketDir: dir, replace: true });
  made.push(c2);
  check('launch gg-smoke2 (guestSocketDir)', true, `${Date.now() - t} ms`);
  const ls = await c2.exec([
    'sh',
    '-c',
    'test -d /dev/lxd && ls -la /dev/lxd && grep " /dev/lxd " /proc/self/mountinfo',
  ]);
  check('/dev/lxd is the bind-mounted dir', ls.code === 0, ls.stdout + ls.stderr);
  const hello = await c2.exec(['curl', '-s', '--unix-socket', '/dev/lxd/sock', 'http://lxd/1.0']);
  check(
    'host socket answers at /dev/lxd/sock inside',
    hello.stdout === 'hello from the host: GET /1.0',
    JSON.stringify(hello),
  );
  cfg = await c2.expandedConfig();
  check('security.devlxd=false', cfg.config['security.devlxd'] === 'false');
  await hostView(c2);

  t = Date.now();
  const c3 = await launchContainer('gg-smoke-priv', { config: { 'security.privileged': 'true' }, replace: true });
  made.push(c3);
  check('launch gg-smoke-priv (privileged)', true, `${Date.now() - t} ms`);
  await hostView(c3);
} catch (err) {
  check('unexpected error', false, (err as Error).stack ?? String(err));
} finally {
  for (const c of made) await c.delete();
  server?.close();
  await rm(dir, { recursive: true, force: true });
}
console.log(failed === 0 ? 'smoke: all checks passed' : `smoke: ${failed} check(s) failed`);
process.exit(failed === 0 ? 0 : 1);
