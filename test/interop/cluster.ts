// The 2-member LXD 5.0.2 or Incus 6.0.4 cluster of scripts/cluster-setup.sh, for the cluster interop suites
// and bench/cluster: build (or reuse) it, drive one member through its client with that member's state dir,
// stop and start a member's daemon, tear everything down. Every failure carries the script's output.
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { Cli } from './lxd-harness.ts';

const SCRIPT = resolve(import.meta.dirname, '../../scripts/cluster-setup.sh');

export type Flavour = 'lxd' | 'incus';

export interface Cluster {
  readonly flavour: Flavour;
  /** The server's name in messages ("LXD 5.0.2", "Incus 6.0.4"). */
  readonly server: string;
  readonly dir: string;
  /** Member names: [database leader, stand-by]. */
  readonly members: readonly [string, string];
  /** The member's API socket (its state dir's unix.socket). */
  socket(member: string): string;
  /** The client talking to this member over its unix socket (no network namespace needed). */
  cli(member: string): Cli;
  setup(): Promise<void>;
  teardown(): Promise<string>;
  /** SIGTERM the member's daemon (its containers keep running). */
  stopMember(member: string): Promise<string>;
  startMember(member: string): Promise<string>;
}

export function cluster(flavour: Flavour): Cluster {
  const prefix = flavour === 'lxd' ? 'ggcl' : 'ggci';
  const dir = process.env.GUESTGATE_CLUSTER_DIR ?? `/var/lib/guestgate-ci/${prefix}`;
  const members = [`${prefix}-m1`, `${prefix}-m2`] as const;
  const n = (m: string): string => {
    const i = members.indexOf(m as (typeof members)[number]);
    if (i < 0) throw new Error(`no member ${m} in the ${flavour} cluster (${members.join(', ')})`);
    return String(i + 1);
  };
  const script = (args: string[], timeoutMs = 300_000): Promise<string> =>
    new Promise((res, rej) => {
      execFile(
        SCRIPT,
        [flavour, ...args],
        { timeout: timeoutMs, encoding: 'utf8', env: { ...process.env, GUESTGATE_CLUSTER_DIR: dir } },
        (err, stdout, stderr) => {
          if (err)
            rej(new Error(`${SCRIPT} ${flavour} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
          else res(stdout);
        },
      );
    });
  return {
    flavour,
    server: flavour === 'lxd' ? 'LXD 5.0.2' : 'Incus 6.0.4',
    dir,
    members,
    socket: (m) => join(dir, `m${n(m)}`, 'unix.socket'),
    cli: (m) =>
      flavour === 'lxd'
        ? {
            bin: 'lxc',
            env: { ...process.env, LXD_DIR: join(dir, `m${n(m)}`) },
            guestDir: '/dev/lxd',
            enabledKey: 'security.devlxd',
          }
        : {
            bin: 'incus',
            env: { ...process.env, INCUS_DIR: join(dir, `m${n(m)}`) },
            guestDir: '/dev/incus',
            enabledKey: 'security.guestapi',
          },
    async setup() {
      if (process.getuid?.() !== 0)
        throw new Error(`the ${flavour} cluster suite needs root (network namespaces, ${flavour} daemons)`);
      const out = await script([], 600_000);
      if (!out.includes('CLUSTER_READY'))
        throw new Error(`cluster-setup.sh ${flavour} did not say CLUSTER_READY:\n${out}`);
    },
    teardown: () => script(['--teardown'], 1_800_000),
    stopMember: (m) => script(['--stop-member', n(m)]),
    startMember: (m) => script(['--start-member', n(m)]),
  };
}
