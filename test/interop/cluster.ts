// The 2-member LXD 5.0.2 cluster of scripts/lxd-cluster-setup.sh, for the cluster interop suite and
// bench/cluster: build (or reuse) it, drive one member through `lxc` with that member's LXD_DIR, stop and
// start a member's daemon, tear everything down. Every failure carries the script's output.
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { Cli } from './lxd-harness.ts';

const SCRIPT = resolve(import.meta.dirname, '../../scripts/lxd-cluster-setup.sh');
export const CLUSTER_DIR = process.env.GUESTGATE_CLUSTER_DIR ?? '/var/lib/guestgate-ci/ggcl';
export const MEMBERS = ['ggcl-m1', 'ggcl-m2'] as const;
export type Member = (typeof MEMBERS)[number];

const n = (m: Member): 1 | 2 => (m === 'ggcl-m1' ? 1 : 2);

/** The member's API socket (its LXD_DIR's unix.socket). */
export const memberSocket = (m: Member): string => join(CLUSTER_DIR, `m${n(m)}`, 'unix.socket');

/** `lxc` talking to this member (over its unix socket: no network namespace needed). */
export const memberCli = (m: Member): Cli => ({
  bin: 'lxc',
  env: { ...process.env, LXD_DIR: join(CLUSTER_DIR, `m${n(m)}`) },
  guestDir: '/dev/lxd',
  enabledKey: 'security.devlxd',
});

function script(args: string[], timeoutMs = 300_000): Promise<string> {
  return new Promise((res, rej) => {
    execFile(
      SCRIPT,
      args,
      { timeout: timeoutMs, encoding: 'utf8', env: { ...process.env, GUESTGATE_CLUSTER_DIR: CLUSTER_DIR } },
      (err, stdout, stderr) => {
        if (err) rej(new Error(`${SCRIPT} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
        else res(stdout);
      },
    );
  });
}

/** Build the cluster (or reuse a healthy one). Throws with what is missing (root, LXD, the image). */
export async function setupCluster(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the LXD cluster suite needs root (network namespaces, LXD daemons)');
  const out = await script([]);
  if (!out.includes('CLUSTER_READY')) throw new Error(`lxd-cluster-setup.sh did not say CLUSTER_READY:\n${out}`);
}

export const teardownCluster = (): Promise<string> => script(['--teardown']);
export const stopMember = (m: Member): Promise<string> => script(['--stop-member', String(n(m))]);
export const startMember = (m: Member): Promise<string> => script(['--start-member', String(n(m))]);
