// `guestgate images import | ls | rm | pin`: the cached images, offline (works on the cache folder).
import { Command } from 'commander';
import { Catalog } from '../images/store/catalog.ts';
import { importImage } from '../images/fill/importer.ts';
import { inputSize } from '../images/inspect.ts';
import { readManifests, resolveCached } from '../images/store/maintenance.ts';
import { manifestSize, type Manifest } from '../images/store/manifest.ts';
import { humanBytes, recordTable, render, ttyProgress, type OutputFormat } from './output.ts';
import { toInfo } from '../images/types.ts';
import { ensureLayout, sweepTmp } from '../images/store/blobs.ts';
import { cacheSettings, offlineVerb, type CacheSettings, type CliIo } from './cache.ts';

const stdio: CliIo = { out: (s) => void process.stdout.write(s) };

const rows = (list: readonly Manifest[], pinned: readonly string[]) =>
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
    'images in the export cache (offline; a running service sees changes after restart)',
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
        const catalog = await openCatalog(s);
        const groups = o.split ? [files] : files.map((f) => [f]);
        const progress = ttyProgress(io.progress);
        const done: Manifest[] = [];
        for (const g of groups) {
          let total = 0;
          for (const f of g) total += await inputSize(f);
          progress.start(`import ${g.join(' + ')}`, 2 * total); // hash pass + verified copy pass
          done.push(
            await importImage(s, catalog, g, {
              public: !o.private,
              pinned: !!o.pin,
              onBytes: (n) => progress.add(n),
            }),
          );
          progress.done();
        }
        await catalog.settle();
        io.out(
          render(
            o.output,
            done.map((m) => toInfo(m, m.pinned || s.pinned.includes(m.fingerprint))),
            () => recordTable(rows(done, s.pinned), COLUMNS),
          ),
        );
      },
    );

  offlineVerb(cmd, 'ls', 'list cached images').action(async (o: { config: string; output: OutputFormat }) => {
    const s = cacheSettings(o.config);
    const { ok } = await readManifests(s.cacheDir);
    io.out(
      render(
        o.output,
        ok.map((m) => toInfo(m, m.pinned || s.pinned.includes(m.fingerprint))),
        () => recordTable(rows(ok, s.pinned), COLUMNS),
      ),
    );
  });

  offlineVerb(cmd, 'rm', 'remove cached images (unique fingerprint prefixes accepted)')
    .argument('<fingerprint...>')
    .action(async (fps: string[], o: { config: string; output: OutputFormat }) => {
      const s = cacheSettings(o.config);
      const catalog = await openCatalog(s);
      const removed: string[] = [];
      for (const fp of fps) {
        const m = resolveCached(catalog.list(), fp);
        await catalog.remove(m.fingerprint);
        removed.push(m.fingerprint);
      }
      io.out(render(o.output, { removed }, () => removed.map((f) => `removed ${f}\n`).join('')));
    });

  offlineVerb(cmd, 'pin', 'pin (never evict) or, with --unpin, unpin a cached image')
    .argument('<fingerprint>')
    .option('--unpin', 'allow eviction again')
    .action(async (fp: string, o: { unpin?: boolean; config: string; output: OutputFormat }) => {
      const s = cacheSettings(o.config);
      const catalog = await openCatalog(s);
      const m = resolveCached(catalog.list(), fp);
      const next = (await catalog.setPinned(m.fingerprint, !o.unpin))!;
      await catalog.settle();
      if (o.unpin && s.pinned.includes(m.fingerprint))
        io.out('note: images.pinned in the config still pins this image\n');
      io.out(
        render(o.output, toInfo(next, next.pinned || s.pinned.includes(next.fingerprint)), () =>
          recordTable(rows([next], s.pinned), COLUMNS),
        ),
      );
    });

  return cmd;
}
