// cloud-init 25.1.4 (Debian trixie's package, cached by scripts/debs-fetch.sh) installed with dpkg -i over
// 22.4.2 in a bookworm container of the CI image, then run through every boot stage against guestgate.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Container } from './lxd-harness.ts';

export const DEBS_DIR = join(process.env.GUESTGATE_CI_CACHE ?? '/var/cache/guestgate-ci', 'debs');
export const USER_DATA =
  '#cloud-config\n# olá, ação, 日本語 ✓\nwrite_files:\n  - path: /root/ggx-written\n    content: "naïve ✓ 日本\\n"\nruncmd:\n  - echo "são paulo" > /root/ggx-ran\n';
export const VENDOR_DATA = '#cloud-config\n# vendor ✓\nbootcmd: [echo vd]\n';
export const META = 'public-keys:\n  - ssh-ed25519 AAAAC3Nza tést@example\n';
export const CONFIG = {
  'cloud-init.user-data': USER_DATA,
  'cloud-init.vendor-data': VENDOR_DATA,
  'user.meta-data': META,
  'user.role': 'dbé',
};

/** Copies the cached .debs in and installs them; fails naming what is missing. */
export async function installCloudInit25(c: Container): Promise<void> {
  let debs: string[];
  try {
    debs = readdirSync(DEBS_DIR).filter((f) => /^(cloud-init_25\.1\.4-|netcat-openbsd_).*\.deb$/.test(f));
  } catch {
    debs = [];
  }
  if (debs.length !== 2) throw new Error(`cloud-init 25.1.4 .debs missing in ${DEBS_DIR} (run scripts/debs-fetch.sh)`);
  for (const f of debs) {
    const put = await c.exec(['sh', '-c', `cat > /root/${f}`], { input: readFileSync(join(DEBS_DIR, f)) });
    if (put.code !== 0) throw new Error(`copy ${f} into ${c.name}: ${put.stderr}`);
  }
  const r = await c.exec(['sh', '-c', 'DEBIAN_FRONTEND=noninteractive dpkg -i /root/*.deb && cloud-init --version'], {
    timeoutMs: 120_000,
  });
  if (r.code !== 0 || !r.stdout.includes('25.1.4'))
    throw new Error(`dpkg -i cloud-init 25.1.4 in ${c.name}: ${r.stdout}${r.stderr}`);
}

export interface Run {
  readonly stages: Record<string, number>;
  readonly all: Record<string, unknown>;
  readonly log: string;
  readonly files: { written: string; ran: string };
}

/** init --local, init, modules config, modules final, query --all: each stage's exit code and the results. */
export async function runStages(c: Container): Promise<Run> {
  const stages: Record<string, number> = {};
  for (const argv of [['init', '--local'], ['init'], ['modules', '--mode', 'config'], ['modules', '--mode', 'final']]) {
    const r = await c.exec(['cloud-init', ...argv], { timeoutMs: 120_000 });
    stages[argv.join(' ')] = r.code;
    if (r.code !== 0) throw new Error(`cloud-init ${argv.join(' ')} in ${c.name} failed (${r.code}): ${r.stderr}`);
  }
  const q = await c.exec(['cloud-init', 'query', '--all'], { timeoutMs: 60_000 });
  if (q.code !== 0) throw new Error(`cloud-init query --all in ${c.name}: ${q.stderr}`);
  const log = (await c.exec(['cat', '/var/log/cloud-init.log'])).stdout;
  const read = async (p: string) => (await c.exec(['cat', p])).stdout;
  return {
    stages,
    all: JSON.parse(q.stdout) as Record<string, unknown>,
    log,
    files: { written: await read('/root/ggx-written'), ran: await read('/root/ggx-ran') },
  };
}
