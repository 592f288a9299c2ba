// A NoCloud cidata ISO 9660 image (volume id "cidata", Joliet + Rock Ridge, as cloud-localds and LXD
// make it) from a folder of seed files, with whichever tool is installed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { GuestgateError } from '../errors.ts';

const TOOLS = [
  { bin: 'genisoimage', args: [] as string[] },
  { bin: 'xorriso', args: ['-as', 'mkisofs'] },
  { bin: 'mkisofs', args: [] as string[] },
];

function which(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, bin);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

export function makeCidataIso(srcDir: string, files: readonly string[], out: string): string {
  for (const t of TOOLS) {
    const path = which(t.bin);
    if (!path) continue;
    const r = spawnSync(path, [...t.args, '-output', out, '-volid', 'cidata', '-joliet', '-rock', '-quiet', ...files], {
      cwd: srcDir,
      encoding: 'utf8',
    });
    if (r.status !== 0)
      throw new GuestgateError(
        'E_INTERNAL',
        `${t.bin} failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.error?.message || '').trim()}`,
      );
    return t.bin;
  }
  throw new GuestgateError(
    'E_UNAVAILABLE',
    'cannot write an ISO: none of genisoimage, xorriso or mkisofs is on PATH (Debian/Ubuntu: apt-get install genisoimage, or xorriso); --out DIR writes the seed as a folder instead',
  );
}
