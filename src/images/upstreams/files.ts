// Explicit local files as an upstream: how `images import` feeds a file through the same verified
// fill path as any download. `onBytes` reports progress.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { PartRole } from '../store/manifest.ts';
import type { PartSink, Upstream, UpstreamImage } from './types.ts';

export interface LocalFile {
  readonly path: string;
  readonly role: PartRole;
}

export function filesUpstream(files: readonly LocalFile[], onBytes?: (n: number) => void): Upstream {
  return {
    name: 'import',
    async find() {
      return [];
    },
    async fetch(_image: UpstreamImage, sink: PartSink, signal: AbortSignal) {
      for (const f of files) {
        const size = (await stat(f.path)).size;
        await sink.startPart(f.role, size);
        for await (const c of createReadStream(f.path, { highWaterMark: 1024 * 1024, signal })) {
          await sink.write(c as Buffer);
          onBytes?.((c as Buffer).length);
        }
        await sink.endPart();
      }
    },
  };
}

export interface StreamPart {
  readonly role: PartRole;
  readonly size: number;
}

/** One byte stream carrying the parts back to back, each of the announced size (the admin API's import body). */
export function streamUpstream(source: AsyncIterable<Buffer>, parts: readonly StreamPart[]): Upstream {
  return {
    name: 'import',
    async find() {
      return [];
    },
    async fetch(_image: UpstreamImage, sink: PartSink, signal: AbortSignal) {
      let i = 0;
      let left = parts[0]?.size ?? 0;
      const next = async (): Promise<void> => {
        await sink.endPart();
        i++;
        if (i < parts.length) {
          left = parts[i]!.size;
          await sink.startPart(parts[i]!.role, left);
        }
      };
      if (parts.length) await sink.startPart(parts[0]!.role, left);
      while (i < parts.length && left === 0) await next();
      for await (let c of source) {
        signal.throwIfAborted();
        while (c.length) {
          if (i >= parts.length) throw new Error('more bytes than the announced parts');
          const take = c.subarray(0, left);
          c = c.subarray(take.length);
          left -= take.length;
          await sink.write(take);
          while (i < parts.length && left === 0) await next();
        }
      }
      if (i < parts.length) throw new Error(`body ended early: part ${parts[i]!.role} is missing ${left} bytes`);
    },
  };
}
