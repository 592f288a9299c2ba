// A directory of LXD-format image files, as in LXD's own images folder: `<fp>` (unified image or
// split metadata) and optional `<fp>.rootfs`. LXD keeps visibility flags in its database, not
// in the folder, so they come from the config (`public`, default true).
import { constants } from 'node:fs';
import { type FileHandle, open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isDigest } from '../fingerprint.ts';
import { SNIFF_BYTES, sniffExtension } from '../magic.ts';
import { SlabPool } from '../../util/slabs.ts';
import { DIRECT_SLABS } from '../fill/direct.ts';
import { pump, type PartSink, type Upstream, type UpstreamImage } from './types.ts';

export interface DirUpstreamOptions {
  readonly path: string;
  readonly public: boolean;
}

const READ_CHUNK = 1024 * 1024;
const SLAB = 4 * READ_CHUNK;

/**
 * The rest of the file as views of reusable slabs (util/slabs.ts; the fill gives each back once it is
 * on disk), so a GiB read does not allocate a GiB of buffers for the garbage collector.
 */
async function* readInSlabs(fh: FileHandle, signal: AbortSignal): AsyncGenerator<Buffer> {
  const pool = new SlabPool(SLAB, 8, DIRECT_SLABS.alloc);
  let slab = pool.take();
  let used = 0;
  try {
    for (;;) {
      signal.throwIfAborted();
      if (SLAB - used < READ_CHUNK) {
        slab = pool.next(slab);
        used = 0;
      }
      const { bytesRead } = await fh.read(slab, used, READ_CHUNK, null);
      if (bytesRead === 0) return;
      const view = slab.subarray(used, used + bytesRead);
      used += bytesRead;
      pool.lend(view);
      yield view;
    }
  } finally {
    pool.drain();
  }
}

async function statOrUndefined(p: string) {
  try {
    return await stat(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function head(p: string): Promise<Buffer> {
  const fh = await open(p, 'r');
  try {
    const b = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await fh.read(b, 0, SNIFF_BYTES, 0);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

export function dirUpstream(opts: DirUpstreamOptions): Upstream {
  const name = `dir:${opts.path}`;

  async function describe(fp: string): Promise<UpstreamImage | undefined> {
    const main = await statOrUndefined(join(opts.path, fp));
    if (!main?.isFile()) return undefined;
    const rootfs = await statOrUndefined(join(opts.path, `${fp}.rootfs`));
    const split = rootfs?.isFile() === true;
    const vm = split && sniffExtension(await head(join(opts.path, `${fp}.rootfs`))) === '.qcow2';
    return {
      fingerprint: fp,
      public: opts.public,
      cached: false,
      kind: split ? 'split' : 'unified',
      ...(split ? { type: vm ? 'virtual-machine' : 'container' } : {}),
      size: main.size + (split ? rootfs!.size : 0),
      lastModified: main.mtime,
    } satisfies UpstreamImage;
  }

  return {
    name,
    async find(prefix) {
      if (isDigest(prefix)) {
        const one = await describe(prefix);
        return one ? [one] : [];
      }
      let names: string[];
      try {
        names = await readdir(opts.path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw e;
      }
      const hits = names.filter((n) => isDigest(n) && n.startsWith(prefix));
      const out: UpstreamImage[] = [];
      for (const fp of hits) {
        const d = await describe(fp);
        if (d) out.push(d);
      }
      return out;
    },
    async fetch(image, sink: PartSink, signal) {
      const d = await describe(image.fingerprint);
      if (!d) throw Object.assign(new Error(`${name}: ${image.fingerprint} disappeared`), { code: 'ENOENT' });
      const files: [string, Parameters<PartSink['startPart']>[0]][] =
        d.kind === 'split'
          ? [
              [image.fingerprint, 'metadata'],
              [`${image.fingerprint}.rootfs`, d.type === 'virtual-machine' ? 'rootfs.img' : 'rootfs'],
            ]
          : [[image.fingerprint, 'unified']];
      for (const [file, role] of files) {
        // Non-blocking open: an entry swapped for a FIFO since describe() must not hang the fill.
        const fh = await open(join(opts.path, file), constants.O_RDONLY | constants.O_NONBLOCK);
        try {
          const st = await fh.stat();
          if (!st.isFile()) throw new Error(`${name}: ${file} is no longer a regular file`);
          const size = st.size;
          await sink.startPart(role, size);
          const n = await pump(readInSlabs(fh, signal), sink);
          if (n !== size) throw new Error(`${name}: ${file} changed size while reading`);
          await sink.endPart();
        } finally {
          await fh.close();
        }
      }
    },
  };
}
