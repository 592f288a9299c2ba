// The dir source applies a changed file once settled; a file whose mtime is in the future (clock skew,
// a restored backup) still settles: the same size, mtime and content seen `settle` apart.
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { Instance } from '../../src/inventory/model.ts';
import { DirSource } from '../../src/inventory/sources/dir.ts';

const dir = mkdtempSync(join(tmpdir(), 'gg-settle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('dir source: settling', () => {
  it('applies a file with an mtime an hour in the future once it stayed the same for `settle`', async () => {
    const src = new DirSource({ dir, debounceMs: 10, settleMs: 100, log: pino({ level: 'silent' }) });
    const seen = new Map<string, Instance>();
    await src.start((c) => {
      if (c.kind === 'upsert') seen.set(c.after.key, c.after);
    });
    try {
      const f = join(dir, 'future.yaml');
      writeFileSync(f, 'name: future\nidentity: {root_uid: 0}\n');
      const t = new Date(Date.now() + 3600_000);
      utimesSync(f, t, t);
      const end = Date.now() + 20_000;
      while (!seen.has('future') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      expect(seen.get('future')?.identity.rootUid).toBe(0);
    } finally {
      await src.stop();
    }
  });
});
