// A small harness over the `lxc` client for the interop suite: it creates and drives containers of the
// `guestgate-ci` image that scripts/lxd-setup.sh builds and imports. Every failure names the command
// and carries its stderr.
import { execFile, spawn } from 'node:child_process';

export const IMAGE_ALIAS = 'guestgate-ci';

/** Which server a harness call drives: LXD through `lxc`, or Incus through `incus` (scripts/incus-setup.sh). */
export interface Cli {
  readonly bin: 'lxc' | 'incus';
  readonly env: NodeJS.ProcessEnv;
  /** Where the guest API lives inside containers, and the key that turns the server's own one off. */
  readonly guestDir: '/dev/lxd' | '/dev/incus';
  readonly enabledKey: 'security.devlxd' | 'security.guestapi';
}
export const LXD_CLI: Cli = { bin: 'lxc', env: process.env, guestDir: '/dev/lxd', enabledKey: 'security.devlxd' };
/** INCUS_DIR as scripts/incus-setup.sh sets it (override with INCUS_DIR). */
export const INCUS_DIR = process.env.INCUS_DIR ?? `${process.env.GUESTGATE_CI_STATE ?? '/var/lib/guestgate-ci'}/incus`;
export const INCUS_CLI: Cli = {
  bin: 'incus',
  env: { ...process.env, INCUS_DIR },
  guestDir: '/dev/incus',
  enabledKey: 'security.guestapi',
};
/** Name of the disk device that bind-mounts guestgate's socket directory at /dev/lxd. */
export const GUEST_SOCKET_DEVICE = 'guestgate';

const DEFAULT_TIMEOUT_MS = 120_000;
const MAX_BUFFER = 64 * 1024 * 1024;

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface LaunchOptions {
  /** Instance config keys set at creation (`lxc init -c k=v`). */
  config?: Record<string, string>;
  /**
   * Host directory bind-mounted at /dev/lxd (disk device `guestgate`); LXD's own devlxd is turned off
   * (`security.devlxd=false`) so the socket in that directory is what the container sees at /dev/lxd/sock.
   */
  guestSocketDir?: string;
  /** Profiles, replacing `default` (include `default` yourself: it holds the root disk). */
  profiles?: string[];
  /** Delete a container of the same name first (a leftover of an interrupted run). */
  replace?: boolean;
  /** How long to wait for the container to run commands after `lxc start` (default 60 s). */
  readyTimeoutMs?: number;
  /** The server (default LXD). */
  cli?: Cli;
  /** Cluster member to create the container on (`--target`). */
  target?: string;
}

export interface ExpandedConfig {
  config: Record<string, string>;
  devices: Record<string, Record<string, string>>;
}

export interface Container {
  readonly name: string;
  /** `lxc exec <name> -- argv`; resolves with the exit code whatever it is (rejects only if lxc could not run). */
  exec(argv: string[], opts?: { input?: string | Buffer; timeoutMs?: number }): Promise<ExecResult>;
  /** Host pid of the container's init process. */
  initPid(): Promise<number>;
  setConfig(key: string, value: string): Promise<void>;
  unsetConfig(key: string): Promise<void>;
  /** `cfg` must hold `type` (e.g. `{ type: 'disk', source: '/x', path: '/y' }`). */
  addDevice(name: string, cfg: Record<string, string>): Promise<void>;
  removeDevice(name: string): Promise<void>;
  /** The instance's expanded config and devices, as LXD reports them. */
  expandedConfig(): Promise<ExpandedConfig>;
  /** `lxc delete --force`; no error if the container is already gone. */
  delete(): Promise<void>;
}

export class LxcError extends Error {
  readonly command: string;
  readonly code: number | string | null;
  readonly stderr: string;
  constructor(command: string, code: number | string | null, stderr: string, detail?: string) {
    super(`${command} failed (${detail ?? `exit ${String(code)}`}): ${stderr.trim() || '(no stderr)'}`);
    this.name = 'LxcError';
    this.command = command;
    this.code = code;
    this.stderr = stderr;
  }
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

function commandLine(file: string, args: readonly string[]): string {
  const shown = [file, ...args].map(quote).join(' ');
  return shown.length > 400 ? `${shown.slice(0, 400)}...` : shown;
}

/** Runs `lxc ...args` and resolves with its stdout; rejects with an LxcError on a non-zero exit. */
export function lxc(args: readonly string[], opts: { timeoutMs?: number; cli?: Cli } = {}): Promise<string> {
  const cli = opts.cli ?? LXD_CLI;
  return new Promise((resolve, reject) => {
    const child = execFile(
      cli.bin,
      [...args],
      { timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, maxBuffer: MAX_BUFFER, encoding: 'utf8', env: cli.env },
      (err, stdout, stderr) => {
        if (err) {
          const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean; signal?: string };
          const detail = e.killed
            ? `killed after ${opts.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`
            : e.signal
              ? `signal ${e.signal}`
              : typeof e.code === 'string'
                ? e.message
                : undefined;
          reject(new LxcError(commandLine(cli.bin, args), e.code ?? null, stderr, detail));
          return;
        }
        resolve(stdout);
      },
    );
    // Several lxc commands (init, launch, storage create, ...) read YAML from a non-terminal stdin:
    // give them an empty one, or they wait forever.
    child.stdin?.on('error', () => {});
    child.stdin?.end();
  });
}

/** `lxc query <path>` parsed as JSON. */
export async function lxcQuery<T = unknown>(path: string, cli: Cli = LXD_CLI): Promise<T> {
  const out = await lxc(['query', path], { cli });
  return JSON.parse(out) as T;
}

export async function lxdAvailable(cli: Cli = LXD_CLI): Promise<{ ok: true } | { ok: false; why: string }> {
  const setup = cli.bin === 'lxc' ? 'scripts/lxd-setup.sh' : 'scripts/incus-setup.sh';
  const steps: [string[], string][] = [
    [['version'], `${cli.bin} does not run`],
    [['info'], `the ${cli.bin === 'lxc' ? 'LXD' : 'Incus'} daemon does not answer (run ${setup})`],
    [['image', 'info', IMAGE_ALIAS], `image ${IMAGE_ALIAS} is missing (run ${setup})`],
  ];
  for (const [args, why] of steps) {
    try {
      await lxc(args, { timeoutMs: 15_000, cli });
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ENOENT')
        return { ok: false, why: `${cli.bin} is not installed (run ${setup})` };
      return { ok: false, why: `${why}: ${(err as Error).message}` };
    }
  }
  return { ok: true };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The end of every exec's stdout. `lxc exec` of LXD 5.0.2 sometimes exits before forwarding its
 * command's output, most often on a loaded machine (canonical/lxd#11422, fixed in 5.14 by lxd#11606;
 * seen here as "exit 0, empty stdout"). The command runs under `sh`, which prints this marker after
 * it; a result without the marker (and without an error of lxc's own) lost its output, and the command
 * runs again, as LXD's maintainers advise: tests exec reads, or writes that are idempotent.
 */
const END_MARK = '<<guestgate-test:exec-end>>';
const LOST_OUTPUT_ATTEMPTS = 4;

async function execIn(
  cli: Cli,
  name: string,
  argv: string[],
  opts: { input?: string | Buffer; timeoutMs?: number } = {},
): Promise<ExecResult> {
  const marked = ['sh', '-c', `"$@"; r=$?; printf '%s' '${END_MARK}'; exit $r`, 'sh', ...argv];
  for (let attempt = 1; ; attempt++) {
    const r = await execOnce(cli, name, marked, opts);
    if (r.stdout.endsWith(END_MARK)) return { ...r, stdout: r.stdout.slice(0, -END_MARK.length) };
    // lxc itself failed (instance not running, no such instance): no command ran, nothing was lost.
    if (/^Error: /m.test(r.stderr)) return r;
    if (attempt === LOST_OUTPUT_ATTEMPTS)
      throw new LxcError(
        commandLine(cli.bin, ['exec', name, '--', ...argv]),
        r.code,
        r.stderr,
        `lxc exec lost the output ${attempt} times (LXD 5.0.2 bug, canonical/lxd#11422); last stdout ${JSON.stringify(r.stdout.slice(-200))}`,
      );
    process.stderr.write(`lxc exec ${name} -- ${argv.join(' ')}: output lost (canonical/lxd#11422), running again\n`);
  }
}

function execOnce(
  cli: Cli,
  name: string,
  argv: string[],
  opts: { input?: string | Buffer; timeoutMs?: number },
): Promise<ExecResult> {
  const args = ['exec', name, '--force-noninteractive', '--', ...argv];
  const cmd = commandLine(cli.bin, args);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(cli.bin, args, { stdio: ['pipe', 'pipe', 'pipe'], env: cli.env });
    const out: Buffer[] = [];
    const errs: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => errs.push(b));
    child.stdin.on('error', () => {}); // the command may exit without reading its input
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new LxcError(cmd, null, Buffer.concat(errs).toString('utf8'), err.message));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(errs).toString('utf8');
      if (timedOut) reject(new LxcError(cmd, null, stderr, `killed after ${timeoutMs} ms`));
      else if (code === null) reject(new LxcError(cmd, null, stderr, `signal ${String(signal)}`));
      else resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

function container(name: string, cli: Cli = LXD_CLI): Container {
  const run = (args: string[]) => lxc(args, { cli });
  return {
    name,
    exec: (argv, opts) => execIn(cli, name, argv, opts),
    async initPid() {
      const state = await lxcQuery<{ pid?: number; status?: string }>(`/1.0/instances/${name}/state`, cli);
      if (typeof state.pid !== 'number' || state.pid <= 0) {
        throw new Error(`lxc query /1.0/instances/${name}/state: no init pid (status ${String(state.status)})`);
      }
      return state.pid;
    },
    async setConfig(key, value) {
      await run(['config', 'set', name, `${key}=${value}`]);
    },
    async unsetConfig(key) {
      await run(['config', 'unset', name, key]);
    },
    async addDevice(dev, cfg) {
      const { type, ...rest } = cfg;
      if (!type) throw new Error(`addDevice ${name}/${dev}: cfg.type is required`);
      await run(['config', 'device', 'add', name, dev, type, ...Object.entries(rest).map(([k, v]) => `${k}=${v}`)]);
    },
    async removeDevice(dev) {
      await run(['config', 'device', 'remove', name, dev]);
    },
    async expandedConfig() {
      const inst = await lxcQuery<{
        expanded_config?: Record<string, string>;
        expanded_devices?: Record<string, Record<string, string>>;
      }>(`/1.0/instances/${name}`, cli);
      return { config: inst.expanded_config ?? {}, devices: inst.expanded_devices ?? {} };
    },
    async delete() {
      try {
        await run(['delete', '--force', name]);
      } catch (err) {
        if (err instanceof LxcError && /not found/i.test(err.stderr)) return;
        throw err;
      }
    },
  };
}

/** A handle on an existing container (no check that it exists). */
export function existingContainer(name: string, cli: Cli = LXD_CLI): Container {
  return container(name, cli);
}

/**
 * Creates and starts a container of the `guestgate-ci` image, with `/bin/sleep infinity` as init
 * (minbase has no init system), and waits until `lxc exec <name> -- true` works.
 */
export async function launchContainer(name: string, opts: LaunchOptions = {}): Promise<Container> {
  const cli = opts.cli ?? LXD_CLI;
  const config: Record<string, string> = {
    'raw.lxc': 'lxc.init.cmd = /bin/sleep infinity',
    ...(opts.guestSocketDir !== undefined ? { [cli.enabledKey]: 'false' } : {}),
    ...opts.config,
  };
  if (opts.replace) await container(name, cli).delete();
  const args = ['init', IMAGE_ALIAS, name];
  if (opts.profiles) {
    if (opts.profiles.length === 0) args.push('--no-profiles');
    for (const p of opts.profiles) args.push('--profile', p);
  }
  for (const [k, v] of Object.entries(config)) args.push('--config', `${k}=${v}`);
  if (opts.target !== undefined) args.push('--target', opts.target);
  await lxc(args, { timeoutMs: 300_000, cli });
  const c = container(name, cli);
  try {
    if (opts.guestSocketDir !== undefined) {
      await c.addDevice(GUEST_SOCKET_DEVICE, { type: 'disk', source: opts.guestSocketDir, path: cli.guestDir });
    }
    await lxc(['start', name], { timeoutMs: 180_000, cli });
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
    let last = '';
    for (;;) {
      try {
        const r = await execIn(cli, name, ['true'], { timeoutMs: 20_000 });
        if (r.code === 0) break;
        last = `exit ${r.code}: ${r.stderr.trim()}`;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > deadline) throw new Error(`container ${name} did not run \`true\` in time: ${last}`);
      await sleep(200);
    }
  } catch (err) {
    await c.delete().catch(() => {});
    throw err;
  }
  return c;
}

/** Deletes every container whose name starts with `prefix` (default `gg-`). */
export async function deleteContainers(prefix = 'gg-'): Promise<string[]> {
  const out = await lxc(['list', '--format', 'csv', '--columns', 'n']);
  const names = out
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s.startsWith(prefix));
  for (const n of names) await container(n).delete();
  return names;
}
