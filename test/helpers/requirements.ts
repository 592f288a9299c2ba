// Tests that need root, namespaces, cgroups or external programs call these first: they FAIL with a
// message naming what is missing (CI runs as root with everything installed), never skip silently.
import { accessSync, constants, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0)
    throw new Error(`${what} needs root (real pid namespaces, cgroups and uid changes); run the tests as root`);
}

export function requireCommand(cmd: string, pkg: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`this test needs \`${cmd}\` (Debian package ${pkg}): apt-get install -y ${pkg}`);
  }
}

export const CGROUP2_ROOT = existsSync('/sys/fs/cgroup/unified/cgroup.procs')
  ? '/sys/fs/cgroup/unified'
  : '/sys/fs/cgroup';

export function requireCgroup2(): string {
  try {
    accessSync(`${CGROUP2_ROOT}/cgroup.procs`, constants.W_OK);
  } catch {
    throw new Error(`this test needs a writable cgroup v2 hierarchy at ${CGROUP2_ROOT}`);
  }
  return CGROUP2_ROOT;
}
