// A template set from an image's metadata tarball (unified image, or the metadata part of a split
// one; gzip, zstd via node:zlib, xz/lzma/bzip2 through the system tool): metadata.yaml and
// templates/<file>. Symlinked template files count as missing (LXD refuses them); sizes bounded.
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { Duplex, PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { GuestgateError } from '../errors.ts';
import { parseTemplates, type TemplateSet } from './model.ts';

const MAX_FILE = 1 << 20;
const MAX_TOTAL = 16 << 20;

function decompressor(ext: string): NodeJS.ReadWriteStream {
  if (ext === '.tar') return new PassThrough();
  if (ext === '.tar.gz') return createGunzip();
  if (ext === '.tar.zst') return createZstdDecompress();
  const tool = { '.tar.xz': 'xz', '.tar.lzma': 'xz', '.tar.bz2': 'bzip2' }[ext];
  if (!tool) throw new GuestgateError('E_TEMPLATE', `image metadata of type "${ext}" is not a tarball`, { ext });
  const child = spawn(tool, ['-dc'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const io = Duplex.from({ writable: child.stdin, readable: child.stdout });
  child.on('error', (e) => io.destroy(new Error(`${tool}: ${e.message}`)));
  child.on('exit', (code) => code && io.destroy(new Error(`${tool} -dc exited with ${code}`)));
  return io;
}

const clean = (p: string): string => p.replace(/^(\.\/)+/, '');

/** Reads metadata.yaml and templates/* from `file` (extension `ext`, as magic.ts sniffs it). */
export async function loadImageTemplates(file: string, ext: string, origin: string): Promise<TemplateSet> {
  let meta: string | undefined;
  const sources = new Map<string, string>();
  let total = 0;
  const parser = new Parser({
    strict: false,
    onReadEntry: (entry: ReadEntry) => {
      const path = clean(entry.path);
      const tpl = /^templates\/([^/]+)$/.exec(path)?.[1];
      if ((path === 'metadata.yaml' || tpl) && entry.type === 'File' && entry.size <= MAX_FILE) {
        total += entry.size;
        if (total > MAX_TOTAL) throw new GuestgateError('E_TOO_LARGE', `${origin}: templates larger than 16 MiB`);
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (tpl) sources.set(tpl, text);
          else meta = text;
        });
      } else entry.resume();
    },
  });
  try {
    await pipeline(createReadStream(file), decompressor(ext), parser);
  } catch (e) {
    if (e instanceof GuestgateError) throw e;
    throw new GuestgateError('E_TEMPLATE', `${origin}: cannot read its metadata tarball (${(e as Error).message})`);
  }
  if (meta === undefined) throw new GuestgateError('E_TEMPLATE', `${origin}: no metadata.yaml in its tarball`);
  return { origin, entries: parseTemplates(meta, origin), sources };
}
