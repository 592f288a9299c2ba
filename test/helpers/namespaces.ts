// Real "instances" for tests: a process tree in a new pid namespace (and optionally in its own
// cgroup), with a way to run commands inside it as any uid. No mocks: guestgate sees real kernel facts.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireCgroup2, requireCommand, requireRoot } from './requirements.ts';

export interface TestNamespace {
  /** Host pid of the namespace's init (pid 1 inside). */
  readonly initPid: number;
  /** Inode of the pid namespace. */
  readonly pidns: number;
  /** Cgroup path (relative to the v2 root) the namespace's processes live in, if any. */
  readonly cgroup: string | undefined;
  /** Run a command inside the namespace (and its cgroup), as `uid` (default 0). */
  exec(
    argv: string[],
    opts?: { uid?: number; input?: string; timeoutMs?: number },
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Start a long-running command inside; the caller kills it. */
  spawn(argv: string[], opts?: { uid?: number }): ChildProcess;
  close(): Promise<void>;
}

const nsInodeOf = (pid: number): number => Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/pid`))![1]);

/** Create a pid namespace whose init sleeps; optionally put it in cgroup `<v2 root><cgroup>`. */
export async function createNamespace(
  opts: { cgroup?: string; userns?: { hostBase: number; count: number } } = {},
): Promise<TestNamespace> {
  requireRoot('an instance in a new pid namespace');
  requireCommand('unshare', 'util-linux');
  requireCommand('nsenter', 'util-linux');
  requireCommand('setpriv', 'util-linux');
  let cgDir: string | undefined;
  if (opts.cgroup) {
    cgDir = requireCgroup2() + opts.cgroup;
    mkdirSync(cgDir, { recursive: true });
  }
  // Optionally a user namespace too, like an unprivileged container: inner root is host uid hostBase.
  const user = opts.userns
    ? [
        '--user',
        `--map-users=${opts.userns.hostBase},0,${opts.userns.count}`,
        `--map-groups=${opts.userns.hostBase},0,${opts.userns.count}`,
      ]
    : [];
  const child = spawn('unshare', [...user, '--pid', '--fork', '--kill-child', 'sleep', 'infinity'], {
    stdio: 'ignore',
  });
  const initPid = await childPid(child.pid!);
  if (cgDir) writeFileSync(`${cgDir}/cgroup.procs`, String(initPid));
  const pidns = nsInodeOf(initPid);
  const wrap = (argv: string[], uid = 0): string[] => {
    // Enter the cgroup first (as root), then the pid namespace, then drop to the uid.
    const inner = [
      'nsenter',
      '-t',
      String(initPid),
      ...(opts.userns ? ['-U'] : []),
      '-p',
      '--',
      'setpriv',
      `--reuid=${uid}`,
      `--regid=${uid}`,
      '--clear-groups',
      '--',
      ...argv,
    ];
    return cgDir ? ['sh', '-c', `echo $$ > ${cgDir}/cgroup.procs && exec "$@"`, 'sh', ...inner] : inner;
  };
  return {
    initPid,
    pidns,
    cgroup: opts.cgroup,
    exec: (argv, o = {}) =>
      new Promise((resolve) => {
        const [cmd, ...args] = wrap(argv, o.uid);
        const p = execFile(
          cmd!,
          args,
          { timeout: o.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
          (err, stdout, stderr) =>
            resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
        );
        if (o.input !== undefined) p.stdin!.end(o.input);
      }),
    spawn: (argv, o = {}) => {
      const [cmd, ...args] = wrap(argv, o.uid);
      return spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    },
    close: async () => {
      // The init first, so `unshare` (its parent) reaps it: an orphan would wait for the host's pid 1,
      // which may be slow to reap (or never, in some sandboxes), keeping its pid and namespace alive.
      const exited = child.exitCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', r));
      try {
        process.kill(initPid, 'SIGKILL');
      } catch {}
      await Promise.race([exited, sleep(5000)]);
      child.kill('SIGKILL');
      if (cgDir) await removeCgroupTree(cgDir);
    },
  };
}

/** rmdir a cgroup and its sub-cgroups, deepest first, once their processes are gone. */
export async function removeCgroupTree(dir: string): Promise<void> {
  let subdirs: string[] = [];
  try {
    subdirs = readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => `${dir}/${d.name}`);
  } catch {
    return;
  }
  for (const d of subdirs) await removeCgroupTree(d);
  for (let i = 0; i < 100; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      await sleep(20);
    }
  }
}

async function childPid(parent: number): Promise<number> {
  // Time-bounded, generously: on a loaded machine unshare's fork + exec can take seconds.
  for (const end = Date.now() + 30_000; Date.now() < end; ) {
    try {
      // unshare may fork a short-lived helper (to write uid maps) before the real child: wait for `sleep`.
      for (const kid of readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8')
        .trim()
        .split(/\s+/)
        .filter(Boolean)) {
        if (readFileSync(`/proc/${kid}/comm`, 'utf8').trim() === 'sleep') return Number(kid);
      }
    } catch {}
    await sleep(10);
  }
  throw new Error(`unshare (pid ${parent}) did not fork its child within 30 s`);
}

/** curl over a unix socket from inside a namespace: status, content type and body. */
export async function curlIn(
  ns: TestNamespace,
  socket: string,
  path: string,
  opts: { uid?: number; method?: string; data?: string } = {},
): Promise<{ status: number; contentType: string; body: string; raw: string }> {
  const argv = ['curl', '-s', '-i', '--unix-socket', socket];
  if (opts.method) argv.push('-X', opts.method);
  if (opts.data !== undefined) argv.push('--data-binary', opts.data);
  argv.push(`http://lxd${path}`);
  const r = await ns.exec(argv, { uid: opts.uid });
  if (r.code !== 0) throw new Error(`curl ${path} failed (${r.code}): ${r.stderr}`);
  return parseHttp(r.stdout);
}

export function parseHttp(raw: string): { status: number; contentType: string; body: string; raw: string } {
  const sep = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, sep);
  const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1]);
  const contentType = /\r\ncontent-type: ([^\r]*)/i.exec(head)?.[1] ?? '';
  return { status, contentType, body: raw.slice(sep + 4), raw };
}
