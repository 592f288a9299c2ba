// `guestgate images import | ls | rm | pin`: the cached images, through a running gateway's admin
// API (the daemon is the cache's only writer), or on the cache folder under its lock when none runs.
import { Command } from 'commander';
import { Catalog } from '../images/store/catalog.ts';
import { importImage } from '../images/fill/importer.ts';
import { inputSize } from '../images/inspect.ts';
import { readManifests, resolveCached } from '../images/store/maintenance.ts';
import { manifestSize, type Manifest } from '../images/store/manifest.ts';
import { humanBytes, recordTable, render, ttyProgress, type OutputFormat } from './output.ts';
import { toInfo, type ImageInfo } from '../images/types.ts';
import { ensureLayout, sweepTmp } from '../images/store/blobs.ts';
import { offlineVerb, type CliIo } from './cache.ts';
import { cacheSettings, runningGateway, withCache, type CacheSettings } from './cache-access.ts';
import { uploadImage } from './image-upload.ts';

const stdio: CliIo = { out: (s) => void process.stdout.write(s) };

const rows = (list: readonly (Manifest | ImageInfo)[], pinned: readonly string[]) =>
  list.map((m) => ({
    fingerprint: m.fingerprint.slice(0, 12),
    type: m.type,
    kind: m.kind,
    size: humanBytes(manifestSize(m)),
    public: m.public ? 'yes' : 'no',
    auto_cached: m.cached ? 'yes' : 'no',
    pinned: m.pinned || pinned.includes(m.fingerprint) ? 'yes' : 'no',
    description: [m.properties.os, m.properties.release, m.properties.variant].filter(Boolean).join(' '),
    source: m.source,
  }));
// auto_cached: LXD's `cached` flag (the upstream fetched the image itself, and may expire it); not whether
// guestgate's cache holds it (every listed image is in the cache).
const COLUMNS = ['fingerprint', 'type', 'kind', 'size', 'public', 'auto_cached', 'pinned', 'description', 'source'];

async function openCatalog(s: CacheSettings): Promise<Catalog> {
  await ensureLayout(s.cacheDir, s.modes);
  await sweepTmp(s.cacheDir);
  return (await Catalog.load({ cacheDir: s.cacheDir, maxSize: s.maxSize, pinned: new Set(s.pinned), modes: s.modes }))
    .catalog;
}

export function imagesCommand(io: CliIo = stdio): Command {
  const cmd = new Command('images').description(
    'images in the export cache (through the running gateway, else on the cache folder under its lock)',
  );

  offlineVerb(
    cmd,
    'import',
    'import image files: one unified tarball per argument, or with --split a metadata tarball and its rootfs',
  )
    .argument('<file...>')
    .option(
      '--split',
      'the two files are one split image: metadata tarball, then rootfs (squashfs = container, qcow2 = VM)',
    )
    .option('--private', 'guests may not export it (default: public)')
    .option('--pin', 'never evict it')
    .action(
      async (
        files: string[],
        o: { split?: boolean; private?: boolean; pin?: boolean; config: string; output: OutputFormat },
      ) => {
        const s = cacheSettings(o.config);
        if (o.split && files.length !== 2)
          throw new Error('--split takes exactly two files: metadata tarball, then rootfs');
        const groups = o.split ? [files] : files.map((f) => [f]);
        const progress = ttyProgress(io.progress);
        const flags = { public: !o.private, pinned: !!o.pin };
        const each = async (one: (g: string[], onBytes: (n: number) => void) => Promise<ImageInfo>) => {
          const done: ImageInfo[] = [];
          for (const g of groups) {
            let total = 0;
            for (const f of g) total += await inputSize(f);
            progress.start(`import ${g.join(' + ')}`, 2 * total); // hash pass + verified copy pass
            done.push(await one(g, (n) => progress.add(n)));
            progress.done();
          }
          return done;
        };
        const done = await withCache(s, 'images import', {
          online: (gw) => each((g, onBytes) => uploadImage(gw, g, { ...flags, onBytes })),
          offline: async () => {
            const catalog = await openCatalog(s);
            const out = await each(async (g, onBytes) => {
              const m = await importImage(s, catalog, g, { ...flags, onBytes });
              return toInfo(m, catalog.isPinned(m));
            });
            await catalog.settle();
            return out;
          },
        });
        io.out(render(o.output, done, () => recordTable(rows(done, s.pinned), COLUMNS)));
      },
    );

  offlineVerb(cmd, 'ls', 'list cached images').action(async (o: { config: string; output: OutputFormat }) => {
    const s = cacheSettings(o.config);
    const gw = await runningGateway(s);
    const list = gw
      ? await gw.call<ImageInfo[]>('GET', '/1.0/images')
      : (await readManifests(s.cacheDir)).ok.map((m) => toInfo(m, m.pinned || s.pinned.includes(m.fingerprint)));
    io.out(render(o.output, list, () => recordTable(rows(list, s.pinned), COLUMNS)));
  });

  offlineVerb(cmd, 'rm', 'remove cached images (unique fingerprint prefixes accepted)')
    .argument('<fingerprint...>')
    .action(async (fps: string[], o: { config: string; output: OutputFormat }) => {
      const s = cacheSettings(o.config);
      const removed: string[] = [];
      await withCache(s, 'images rm', {
        online: async (gw) => {
          for (const fp of fps)
            removed.push(
              ...(await gw.call<{ removed: string[] }>('DELETE', `/1.0/images/${encodeURIComponent(fp)}`)).removed,
            );
        },
        offline: async () => {
          const catalog = await openCatalog(s);
          for (const fp of fps) {
            const m = resolveCached(catalog.list(), fp);
            await catalog.remove(m.fingerprint);
            removed.push(m.fingerprint);
          }
        },
      });
      io.out(render(o.output, { removed }, () => removed.map((f) => `removed ${f}\n`).join('')));
    });

  offlineVerb(cmd, 'pin', 'pin (never evict) or, with --unpin, unpin a cached image')
    .argument('<fingerprint>')
    .option('--unpin', 'allow eviction again')
    .action(async (fp: string, o: { unpin?: boolean; config: string; output: OutputFormat }) => {
      const s = cacheSettings(o.config);
      const next = await withCache(s, 'images pin', {
        online: (gw) => gw.call<ImageInfo>('PATCH', `/1.0/images/${encodeURIComponent(fp)}`, { pinned: !o.unpin }),
        offline: async () => {
          const catalog = await openCatalog(s);
          const m = resolveCached(catalog.list(), fp);
          const pinned = (await catalog.setPinned(m.fingerprint, !o.unpin))!;
          await catalog.settle();
          return toInfo(pinned, catalog.isPinned(pinned));
        },
      });
      if (o.unpin && s.pinned.includes(next.fingerprint))
        io.out('note: images.pinned in the config still pins this image\n');
      io.out(render(o.output, next, () => recordTable(rows([next], s.pinned), COLUMNS)));
    });

  return cmd;
}
