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
