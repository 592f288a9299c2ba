// Per test: a temp dir holding an LXD-like upstream on a unix socket (fake-upstreams.ts); the image
// service and export server a test starts are closed after it, then the upstream and the dir.
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import type { ImageService } from '../../src/images/index.ts';
import { fakeLxd, type FakeLxd } from './fake-upstreams.ts';
import { tempDir, type ExportServer } from './images.ts';

export interface LxdWorld {
  dir: string;
  lxd: FakeLxd;
  svc: ImageService | undefined;
  srv: ExportServer | undefined;
}

/** Call at the top of a test file: the returned object is filled in before each test. */
export function fakeLxdWorld(): LxdWorld {
  const w = {} as LxdWorld;
  let cleanup: () => Promise<void> = async () => {};
  beforeEach(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    w.dir = t.dir;
    w.svc = undefined;
    w.srv = undefined;
    w.lxd = await fakeLxd(join(t.dir, 'lxd.sock'));
  });
  afterEach(async () => {
    await w.srv?.close();
    await w.svc?.close();
    await w.lxd.close();
    await cleanup();
  });
  return w;
}
