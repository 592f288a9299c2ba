// The package an operator installs: `npm pack` (prepack builds dist/), `npm i -g` into a temp prefix with
// Node 24 first on PATH, then the installed `guestgate` prints its version and serves a temp config.
// An older node running the installed package gets an error naming Node 24 (no dev dependency there).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { http, layout, ROOT, waitHealthy, type Layout } from '../helpers/service.ts';

const NODE24_BIN = join(ROOT, 'node_modules', 'node', 'bin');
const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
let work = '';
let prefix = '';
let l: Layout | undefined;
const children: ChildProcess[] = [];
const env = () => ({ ...process.env, PATH: `${NODE24_BIN}:${process.env.PATH}`, npm_config_loglevel: 'error' });

beforeAll(() => {
  if (!existsSync(join(NODE24_BIN, 'node'))) throw new Error(`Node 24 is needed at ${NODE24_BIN}: run npm ci`);
  work = mkdtempSync(join(tmpdir(), 'ggo-pack-'));
  prefix = join(work, 'prefix');
  execFileSync('npm', ['pack', '--pack-destination', work], { cwd: ROOT, env: env(), stdio: 'pipe' });
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack left no tarball in ${work}`);
  execFileSync(
    'npm',
    ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(work, tarball)],
    { cwd: work, env: env(), stdio: 'pipe' },
  );
}, 600_000);

afterAll(() => {
  for (const c of children) c.kill('SIGTERM');
  l?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

it('ships dist/ and no TypeScript sources', () => {
  const pkg = join(prefix, 'lib', 'node_modules', 'guestgate');
  expect(existsSync(join(pkg, 'dist', 'cli', 'main.js'))).toBe(true);
  expect(existsSync(join(pkg, 'templates', 'metadata.yaml'))).toBe(true); // the default template set
  expect(existsSync(join(pkg, 'src'))).toBe(false);
  expect(existsSync(join(pkg, 'node_modules', 'node'))).toBe(false);
});

it('the installed guestgate prints its version under Node 24', () => {
  const r = spawnSync(join(prefix, 'bin', 'guestgate'), ['--version'], { env: env(), encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.stdout.trim()).toBe(version);
  expect(r.status).toBe(0);
});

it('the installed guestgate serves a temp config: admin /healthz and the guest API answer', async () => {
  l = layout({ demo: 'name: demo\nconfig:\n  user.role: packed\nidentity: {}\n' });
  const gw = spawn(join(prefix, 'bin', 'guestgate'), ['serve', '--config', l.configFile], {
    env: env(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(gw);
  let err = '';
  gw.stderr?.on('data', (c: Buffer) => (err += c));
  try {
    await waitHealthy(l.adminSock, 60_000);
  } catch (e) {
    throw new Error(`${(e as Error).message}; stderr: ${err}`);
  }
  const role = await http(l.guestSock, 'GET', '/1.0/config/user.role');
  expect(role.status).toBe(200);
  expect(role.text).toBe('packed');
  // /1.0/meta-data renders through the default template set the package ships.
  const meta = await http(l.guestSock, 'GET', '/1.0/meta-data');
  expect(meta.status).toBe(200);
  expect(meta.text).toContain('local-hostname: demo');
  gw.kill('SIGTERM');
  const code = await new Promise<number | null>((res) => gw.on('exit', (c) => res(c)));
  expect(code).toBe(0);
});

it('an older node running the installed package is told Node 24 is required', () => {
  const old = spawnSync('/usr/bin/node', ['--version'], { encoding: 'utf8' });
  const major = Number(old.stdout.trim().replace(/^v/, '').split('.')[0]);
  if (!(major < 24)) throw new Error(`this test needs a Node older than 24 at /usr/bin/node (found ${old.stdout})`);
  const bin = join(prefix, 'lib', 'node_modules', 'guestgate', 'bin', 'guestgate.js');
  const r = spawnSync('/usr/bin/node', [bin, '--version'], { encoding: 'utf8' });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/Node\.js 24 or newer is required \(this is v\d+/);
  expect(r.stderr).toContain('install Node.js 24');
});
