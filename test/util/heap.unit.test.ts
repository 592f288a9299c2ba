// compactHeap: after a burst of short-lived allocations has grown V8's young generation, it gives the
// space back (what a 10,000-instance start-up held: 64 MiB committed for under 1 MiB live).
import { getHeapSpaceStatistics } from 'node:v8';
import { expect, it } from 'vitest';
import { compactHeap } from '../../src/util/heap.ts';

const newSpace = (): number => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size;

it('shrinks the young generation grown by a burst of garbage', () => {
  let keep = 0;
  for (let round = 0; round < 200; round++) {
    // Survivors for a while, so scavenges promote and V8 grows the semi-spaces.
    const live: object[] = [];
    for (let i = 0; i < 20_000; i++) live.push({ i, s: `item-${i}`, a: [i, i + 1] });
    keep += live.length;
  }
  const grown = newSpace();
  compactHeap();
  const after = newSpace();
  expect(keep).toBeGreaterThan(0);
  expect(after, `new space ${grown} -> ${after} bytes`).toBeLessThan(grown);
});
