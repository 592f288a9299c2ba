// guestgate in-process for the interop suite, with its instances taken from the real LXD (inventory
// source `lxd` on LXD's unix socket). Its guest socket folder (0755, socket 0666) is what containers
// bind-mount at /dev/lxd (launchContainer's `guestSocketDir`).
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import yaml from 'js-yaml';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/log.ts';
import { startService, type Service } from '../../src/service.ts';
import { INCUS_DIR, LXD_CLI, launchContainer, lxdAvailable, type Cli, type Container } from './lxd-harness.ts';

export const LXD_SOCKET = '/var/lib/lxd/unix.socket';
export const INCUS_SOCKET = `${INCUS_DIR}/unix.socket`;
/** LXD's own devlxd answers with these; guestgate must too. */
export const GUEST_DIALECT = { dialect: 'lxd-5.0', raw_content_type: 'dialect' } as const;
/** The same for Incus 6.0.4's guest API. */
export const INCUS_DIALECT = { dialect: 'incus', raw_content_type: 'dialect' } as const;

export interface LxdGateway {
  readonly service: Service;
  /** The server it fronts (its instances come from there). */
  readonly cli: Cli;
  /** The folder to bind-mount at /dev/lxd (holds `sock`). */
  readonly socketDir: string;
  /** Its config file (for the CLI: `guestgate attach -c <file>`). */
  readonly configFile: string;
  /** Wait until the inventory has an instance matching `pred` (events from LXD arrive asynchronously). */
  until(pred: () => boolean, ms?: number, what?: string): Promise<void>;
  close(): Promise<void>;
}

/** Every interop test calls this in beforeAll: it throws (fails the file) when LXD is not usable. */
export async function requireLxd(cli: Cli = LXD_CLI): Promise<void> {
  const what = cli.bin === 'lxc' ? 'LXD' : 'Incus';
  if (process.getuid?.() !== 0) throw new Error(`the ${what} interop suite needs root (CI runs it as root)`);
  const a = await lxdAvailable(cli);
  if (!a.ok) throw new Error(`${what} is not available: ${a.why}`);
}

export async function startLxdGateway(
  opts: {
    guest?: Record<string, unknown>;
    images?: Record<string, unknown>;
    logLevel?: string;
    cli?: Cli;
    /** The server's API socket (default: the host's LXD or the CI Incus); `inventory` adds source keys. */
    socket?: string;
    inventory?: Record<string, unknown>;
    /** Prefix of the temp dir holding its runtime and state dirs. */
    dirPrefix?: string;
  } = {},
): Promise<LxdGateway> {
  const cli = opts.cli ?? LXD_CLI;
  const incus = cli.bin === 'incus';
  const dir = mkdtempSync(join(tmpdir(), opts.dirPrefix ?? 'gg-interop-'));
  chmodSync(dir, 0o755);
  const file = join(dir, 'guestgate.yaml');
  const text = yaml.dump({
    runtime_dir: join(dir, 'run'),
    state_dir: join(dir, 'state'),
    guest: { ...(incus ? INCUS_DIALECT : GUEST_DIALECT), events: { keepalive: '10s' }, ...opts.guest },
    inventory: {
      source: incus ? 'incus' : 'lxd',
      socket: opts.socket ?? (incus ? INCUS_SOCKET : LXD_SOCKET),
      ...opts.inventory,
    },
    ...(opts.images ? { images: opts.images } : {}),
    log: { level: opts.logLevel ?? process.env.GG_LOG ?? 'silent' },
  });
  writeFileSync(file, text);
  const config = parseConfig(text, file);
  const service = await startService(config, createLogger(config.log.level));
  // Unprivileged containers' root (host uid 100000) must traverse every folder up to the socket.
  for (let d = dirname(service.guest.path); d.startsWith(dir); d = dirname(d)) chmodSync(d, 0o755);
  return {
    service,
    cli,
    socketDir: dirname(service.guest.path),
    configFile: file,
    until: async (pred, ms = 15_000, what = 'condition') => {
      const end = Date.now() + ms;
      while (!pred()) {
        if (Date.now() > end) throw new Error(`${what}: not reached within ${ms} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: async () => {
      await service.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Twin containers with the same config: `<base>-gg` answered by guestgate (its socket folder mounted at
 * /dev/lxd), `<base>-lxd` (`<base>-incus`) by the server's own guest API. Resolves once guestgate knows the first one's init pid.
 */
export async function launchTwins(
  gw: LxdGateway,
  base: string,
  config: Record<string, string>,
  /** Suffix of the server-answered twin (default `lxd` / `incus`; same length as `gg` keeps lengths equal). */
  serverSuffix = gw.cli.bin === 'lxc' ? 'lxd' : 'incus',
): Promise<[Container, Container]> {
  const cli = gw.cli;
  const twins = await Promise.all([
    launchContainer(`${base}-gg`, { replace: true, guestSocketDir: gw.socketDir, config, cli }),
    launchContainer(`${base}-${serverSuffix}`, { replace: true, config, cli }),
  ]);
  await gw.until(
    () => gw.service.inventory.get(`${base}-gg`)?.identity.initPid !== undefined,
    15_000,
    `${base}-gg in the inventory`,
  );
  return twins;
}
