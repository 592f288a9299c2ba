// Test gateways: a temp folder with an inventory and a config, started in-process (startService) or
// as the real binary (bin/guestgate.js serve) for CLI and crash tests. Real sockets throughout.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { parseConfig } from '../../src/config/load.ts';
import { startService, type Service } from '../../src/service.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'bin', 'guestgate.js');

export interface Layout {
  readonly dir: string;
  readonly inventory: string;
  readonly configFile: string;
  readonly adminSock: string;
  readonly guestSock: string;
  cleanup(): void;
}

/** A temp gateway folder. `instances` are written as inventory files; `extra` is YAML appended to the config. */
export function layout(instances: Record<string, string>, extra = ''): Layout {
  const dir = mkdtempSync(join(tmpdir(), 'gg-admin-'));
  const inventory = join(dir, 'inventory');
  mkdirSync(inventory);
  for (const [name, text] of Object.entries(instances)) writeFileSync(join(inventory, `${name}.yaml`), text);
  const configFile = join(dir, 'guestgate.yaml');
  writeFileSync(
    configFile,
    `runtime_dir: ./run\nstate_dir: ./state\nguest:\n  demo_instance: demo\ninventory:\n  source: dir\n  dir: ./inventory\n  debounce: 20ms\nlog:\n  level: warn\n${extra}`,
  );
  return {
    dir,
    inventory,
    configFile,
    adminSock: join(dir, 'run', 'admin.sock'),
    guestSock: join(dir, 'run', 'devlxd', 'sock'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export const DEMO = `name: demo
config:
  user.role: web
  cloud-init.user-data: |
    #cloud-config
    hostname: demo
devices:
  eth0: {type: nic, name: eth0, network: lxdbr0}
  root: {type: disk, path: /, pool: default}
identity:
  cgroup: /lxc.payload.demo
  root_uid: 0
`;

export async function inProcess(l: Layout): Promise<Service> {
  const { readFileSync } = await import('node:fs');
  const config = parseConfig(readFileSync(l.configFile, 'utf8'), l.configFile);
  return startService(config, pino({ level: 'silent' }));
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): any;
}

/** One HTTP request over a unix socket. */
export function http(
  socketPath: string,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return new Promise((res, rej) => {
    const req = request(
      {
        socketPath,
        method,
        path,
        headers: { ...(body !== undefined ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}), ...headers },
      },
      (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          res({ status: r.statusCode ?? 0, headers: r.headers, text, json: () => JSON.parse(text) });
        });
      },
    );
    req.on('error', rej);
    req.end(body);
  });
}

export const json = (v: unknown): [string, Record<string, string>] => [
  JSON.stringify(v),
  { 'Content-Type': 'application/json' },
];

/** The real binary, under the Node 24 that runs the tests. */
export function spawnGateway(configFile: string): ChildProcess {
  return spawn(process.execPath, [BIN, 'serve', '--config', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
}

export async function waitHealthy(sock: string, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      const r = await http(sock, 'GET', '/healthz');
      if (r.status === 200) return;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`gateway did not become healthy on ${sock} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], env: Record<string, string> = {}, input?: string): Promise<CliResult> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c));
    p.stderr.on('data', (c: Buffer) => (stderr += c));
    p.on('close', (code) => res({ code, stdout, stderr }));
    p.stdin.end(input);
  });
}

/**
 * A Debian package a test needs: installed with apt-get when `probe` (a path) is missing and we are
 * root; returns what is still missing (for the test to fail with), or undefined.
 */
export function ensureAptPackage(pkg: string, probe: string): string | undefined {
  if (existsSync(probe)) return undefined;
  if (process.getuid?.() === 0) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = () =>
      spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', pkg], {
        env,
        stdio: 'ignore',
        timeout: 240_000,
      });
    if (install().status !== 0) {
      spawnSync('apt-get', ['update', '-q'], { env, stdio: 'ignore', timeout: 240_000 });
      install();
    }
  }
  return existsSync(probe)
    ? undefined
    : `${probe} (Debian package ${pkg}; apt-get install ${pkg} failed or we are not root)`;
}
