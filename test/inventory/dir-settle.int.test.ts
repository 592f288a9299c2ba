// The dir source applies a changed file once settled; a file whose mtime is in the future (clock skew,
// a restored backup) still settles: the same size, mtime and content seen `settle` apart. The echo of
// guestgate's own write (content equal to what is applied) is taken at once, and that shortcut never lets
// a half-written file through.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { Instance } from '../../src/inventory/model.ts';
import { parseInstanceYaml } from '../../src/inventory/parse.ts';
import { DirSource } from '../../src/inventory/sources/dir.ts';
import { waitFor } from '../helpers/wait.ts';

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

  it('after its own write, an in-place rewrite that starts with the same bytes is applied whole, never half', async () => {
    const src = new DirSource({ dir, debounceMs: 10, settleMs: 300, log: pino({ level: 'silent' }) });
    const changes: Instance[] = [];
    await src.start((c) => {
      if (c.kind === 'upsert' && c.after.key === 'echo') changes.push(c.after);
    });
    try {
      const f = join(dir, 'echo.yaml');
      await src.put(parseInstanceYaml('name: echo\nconfig:\n  user.a: "1"\nidentity: {root_uid: 0}\n', f));
      const ours = readFileSync(f, 'utf8');
      expect(ours.endsWith('identity:\n  root_uid: 0\n')).toBe(true); // so the key appended below is an identity key
      expect(changes.map((i) => i.config['user.a'])).toEqual(['1']);
      // An operator rewrites it in place: our exact bytes again, a pause, then one more identity key.
      const fd = openSync(f, 'r+');
      try {
        writeSync(fd, ours, 0);
        await new Promise((r) => setTimeout(r, 150));
        writeSync(fd, '  cgroup: /lxc.payload.echo\n', Buffer.byteLength(ours));
      } finally {
        closeSync(fd);
      }
      await waitFor('the rewritten file to be applied', () => changes.at(-1)?.identity.cgroup !== undefined);
      // Only our own version and the operator's whole one were ever applied: the identical prefix was no-op.
      expect(changes.map((i) => i.identity.cgroup ?? 'none')).toEqual(['none', '/lxc.payload.echo']);
    } finally {
      await src.stop();
    }
  });
});
