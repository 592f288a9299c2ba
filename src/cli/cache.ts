// `guestgate cache ls | verify | gc`: the image cache, through a running gateway's admin API, or
// on the cache folder itself (under its lock) when no gateway runs.
import { Command } from 'commander';
import { gcCache, readManifests, verifyCache, type StepReport } from '../images/store/maintenance.ts';
import { manifestSize } from '../images/store/manifest.ts';
import type { ImageInfo } from '../images/types.ts';
import { cacheSettings, runningGateway, withCache } from './cache-access.ts';
import {
  configOption,
  humanBytes,
  outputOption,
  recordTable,
  render,
  ttyProgress,
  type OutputFormat,
} from './output.ts';

export { cacheSettings, type CacheSettings } from './cache-access.ts';

export interface CliIo {
  out: (s: string) => void;
  progress?: NodeJS.WriteStream;
}
const stdio: CliIo = { out: (s) => void process.stdout.write(s) };

/** A sub-command of an offline verb group: it reads the service config and prints in a chosen format. */
export const offlineVerb = (parent: Command, name: string, description: string): Command =>
  parent.command(name).description(description).addOption(configOption()).addOption(outputOption());

const stepsTable = (steps: StepReport[]): string =>
  recordTable(
    steps.map((s) => ({ step: s.step, checked: s.checked, removed: s.removed, bytes: humanBytes(s.bytes), ms: s.ms })),
    ['step', 'checked', 'removed', 'bytes', 'ms'],
  );

export function cacheCommand(io: CliIo = stdio): Command {
  const cmd = new Command('cache').description(
    'inspect and maintain the image cache (through the running gateway, else on the folder under its lock)',
  );

  offlineVerb(cmd, 'ls', 'summary of the cache: folder, images, bytes, bound').action(
    async (o: { config: string; output: OutputFormat }) => {
      const s = cacheSettings(o.config);
      const gw = await runningGateway(s);
      // A running gateway's index is the truth; offline, the manifests on disk.
      const { ok, bad } = gw
        ? { ok: await gw.call<ImageInfo[]>('GET', '/1.0/images'), bad: [] }
        : await readManifests(s.cacheDir);
      const bytes = ok.reduce((n, m) => n + manifestSize(m), 0);
      const pinned = ok.filter((m) => m.pinned || s.pinned.includes(m.fingerprint));
      const data = {
        cache_dir: s.cacheDir,
        images: ok.length,
        bytes,
        max_size: s.maxSize,
        pinned: pinned.length,
        pinned_bytes: pinned.reduce((n, m) => n + manifestSize(m), 0),
        unreadable_manifests: bad.length,
      };
      io.out(
        render(o.output, data, () =>
          recordTable(
            Object.entries(data).map(([k, v]) => ({
              key: k,
              value: k.includes('bytes') || k === 'max_size' ? `${humanBytes(Number(v))} (${v})` : v,
            })),
            ['key', 'value'],
          ),
        ),
      );
    },
  );

  offlineVerb(
    cmd,
    'verify',
    'sweep tmp files, check manifests, re-hash every blob, drop what is broken or unreferenced',
  ).action(async (o: { config: string; output: OutputFormat }) => {
    const s = cacheSettings(o.config);
    const steps = await withCache(s, 'cache verify', {
      online: (gw) => gw.call<StepReport[]>('POST', '/1.0/cache/verify'),
      offline: () => verifyCache(s.cacheDir, s.modes, ttyProgress(io.progress)),
    });
    io.out(render(o.output, steps, () => stepsTable(steps)));
  });

  offlineVerb(
    cmd,
    'gc',
    'sweep tmp files, drop unreferenced blobs, evict least recently used images down to images.max_size',
  ).action(async (o: { config: string; output: OutputFormat }) => {
    const s = cacheSettings(o.config);
    const steps = await withCache(s, 'cache gc', {
      // The gateway applies the bound it was started with (a changed max_size takes effect at its restart).
      online: (gw) => gw.call<StepReport[]>('POST', '/1.0/cache/gc'),
      offline: () => gcCache(s.cacheDir, s.maxSize, s.pinned, s.modes),
    });
    io.out(render(o.output, steps, () => stepsTable(steps)));
  });

  return cmd;
}
