// The dir source's own writes (admin puts and removes) and its scans run side by side: a put does not wait
// for a full scan of thousands of files, and a scan that read a file before guestgate rewrote it never
// applies what it read (no instance ever goes back to an older version, none is forgotten or revived).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import type { InventoryChange } from '../../src/inventory/model.ts';
import { parseInstanceYaml } from '../../src/inventory/parse.ts';
import { DirSource } from '../../src/inventory/sources/dir.ts';
import { waitFor } from '../helpers/wait.ts';

let dir = '';
let src: DirSource | undefined;
afterEach(async () => {
  await src?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const doc = (name: string, n: number): string => `name: ${name}\nconfig:\n  user.n: "${n}"\nidentity: {root_uid: 0}\n`;

async function open(files: number): Promise<InventoryChange[]> {
  dir = mkdtempSync(join(tmpdir(), 'gg-dirconc-'));
  for (let i = 0; i < files; i++) writeFileSync(join(dir, `f${i}.yaml`), doc(`f${i}`, 0));
  const old = new Date(Date.now() - 3600_000);
  for (let i = 0; i < files; i++) (await import('node:fs')).utimesSync(join(dir, `f${i}.yaml`), old, old);
  const changes: InventoryChange[] = [];
  src = new DirSource({ dir, debounceMs: 5, settleMs: 200, log: pino({ level: 'silent' }) });
  await src.start((c) => changes.push(c));
  return changes;
}

it('a put is durable and applied while a full scan of 3,000 files is still running', async () => {
  await open(3000);
  let scanned = false;
  const scan = src!.reload().then(() => (scanned = true));
  await src!.put(parseInstanceYaml(doc('f7', 1), join(dir, 'f7.yaml')));
  expect(scanned).toBe(false); // it did not wait for the scan
  expect(readFileSync(join(dir, 'f7.yaml'), 'utf8')).toContain("user.n: '1'");
  await scan;
});

it('racing puts, removes and full scans: versions only go forward, nothing is revived or lost', async () => {
  const changes = await open(200);
  const last = new Map<string, number>();
  const scans: Promise<void>[] = [];
  for (let round = 1; round <= 30; round++) {
    scans.push(src!.reload());
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      const name = `f${(round * 7 + i * 13) % 200}`;
      writes.push(src!.put(parseInstanceYaml(doc(name, round), join(dir, `${name}.yaml`))));
      last.set(name, round);
    }
    if (round % 5 === 0) {
      const gone = `f${round}`;
      writes.push(
        src!.put(parseInstanceYaml(doc(gone, round), join(dir, `${gone}.yaml`))).then(() => src!.remove(gone)),
      );
      last.set(gone, -1);
    }
    await Promise.all(writes);
  }
  await Promise.all(scans);
  await src!.reload();
  // Every instance's applied versions, in order, never go back; removed ones stay removed.
  const seen = new Map<string, number>();
  for (const c of changes) {
    if (c.kind === 'remove') {
      seen.set(c.before.key, -1);
      continue;
    }
    const n = Number(c.after.config['user.n']);
    const prev = seen.get(c.after.key);
    if (prev !== undefined && prev !== -1)
      expect(n, `${c.after.key} went from ${prev} back to ${n}`).toBeGreaterThanOrEqual(prev);
    seen.set(c.after.key, n);
  }
  await waitFor('the last versions to be applied', () =>
    [...last].every(([name, n]) => (seen.get(name) ?? 0) === n || (n === -1 && seen.get(name) === -1)),
  );
});
