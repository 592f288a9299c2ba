// A refused instance file is logged with every problem at once (file and key each); "(keeping the last good
// version)" is said only when there is one: a file that never parsed has none.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, expect, it } from 'vitest';
import type { Instance } from '../../src/inventory/model.ts';
import { DirSource } from '../../src/inventory/sources/dir.ts';

const dir = mkdtempSync(join(tmpdir(), 'ggop-rejects-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lines: { msg: string; file?: string }[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, cb) {
    for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(l));
    cb();
  },
});

const until = async (pred: () => boolean, what: string): Promise<void> => {
  const end = Date.now() + 20_000;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`${what}: not seen; log: ${JSON.stringify(lines.slice(-3))}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

it('never-good file: all problems, no "last good version"; a good file turned bad: kept, and said so', async () => {
  const bad = join(dir, 'bad.yaml');
  const good = join(dir, 'good.yaml');
  writeFileSync(bad, 'name: c1\nnmae: c1\nidentity: {pid: 3, root_uid: 0}\n');
  writeFileSync(good, 'name: c2\nidentity: {root_uid: 0}\n');
  const src = new DirSource({ dir, debounceMs: 10, settleMs: 50, log: pino({ level: 'info' }, sink) });
  const seen = new Map<string, Instance>();
  const initial = await src.start((c) => {
    if (c.kind === 'upsert') seen.set(c.after.key, c.after);
  });
  for (const i of initial) seen.set(i.key, i);
  try {
    await until(() => lines.some((l) => l.file === bad), 'the refusal of bad.yaml');
    const refusal = lines.find((l) => l.file === bad)!.msg;
    expect(refusal.split('\n').map((l) => l.replace(/ \(known keys: .*\)$/, ''))).toEqual([
      `${bad}: nmae: unknown key`,
      `${bad}: identity.pid: unknown key`,
    ]);
    expect(seen.has('c1')).toBe(false);

    await until(() => seen.has('c2'), 'c2');
    writeFileSync(good, 'name: c2\nidentity: {root_uid: 0, pidd: 1}\n');
    await until(() => lines.some((l) => l.file === good), 'the refusal of good.yaml');
    expect(lines.find((l) => l.file === good)!.msg).toMatch(
      /good\.yaml: identity\.pidd: unknown key .* \(keeping the last good version\)$/,
    );
    expect(seen.get('c2')?.identity.rootUid).toBe(0);
  } finally {
    await src.stop();
  }
});
