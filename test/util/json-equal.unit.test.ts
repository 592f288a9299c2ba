// jsonEqual answers exactly what JSON.stringify(a) === JSON.stringify(b) answers, for the plain data the
// inventory holds: checked against it on thousands of generated pairs (near-copies with one change,
// reordered keys, undefined fields, nested arrays and maps) and on hand-picked edges.
import { expect, it } from 'vitest';
import { jsonEqual } from '../../src/util/json-equal.ts';

// mulberry32: a small seeded generator (reproducible runs).
let seed = 12345;
const rand = (n: number): number => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) % n;
};
const leaf = (): unknown =>
  [() => 'a', () => 'b', () => '', () => 1, () => 0, () => true, () => null, () => undefined][rand(8)]!();
function gen(depth: number): unknown {
  if (depth === 0 || rand(3) === 0) return leaf();
  if (rand(2) === 0) return Array.from({ length: rand(4) }, () => gen(depth - 1));
  const o: Record<string, unknown> = {};
  for (let i = rand(5); i > 0; i--) o[['k', 'x', 'y', 'user.a', 'z'][rand(5)]!] = gen(depth - 1);
  return o;
}
/** A near-copy: the same, or with one change somewhere (a value, a key order, an undefined field). */
function mutate(v: unknown): unknown {
  const c = structuredClone(v) as unknown;
  if (c === null || typeof c !== 'object') return rand(2) === 0 ? leaf() : c;
  if (Array.isArray(c)) {
    if (c.length && rand(2)) c[rand(c.length)] = mutate(c[rand(c.length)]);
    else if (rand(2)) c.push(leaf());
    return c;
  }
  const o = c as Record<string, unknown>;
  const keys = Object.keys(o);
  switch (rand(3)) {
    case 0:
      return Object.fromEntries(keys.reverse().map((k) => [k, o[k]])); // order
    case 1:
      o[`new${rand(2)}`] = rand(2) ? undefined : leaf(); // an undefined field is no field
      return o;
    default:
      if (keys.length) o[keys[rand(keys.length)]!] = mutate(o[keys[rand(keys.length)]!]);
      else o.k = leaf();
      return o;
  }
}

it('agrees with JSON.stringify equality on 20,000 generated pairs', () => {
  let same = 0;
  for (let i = 0; i < 20_000; i++) {
    const a = gen(4);
    const b = rand(2) ? structuredClone(a) : mutate(a); // an equal copy (other objects) or a near-copy
    const want = JSON.stringify(a) === JSON.stringify(b);
    expect(jsonEqual(a, b), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(want);
    if (want) same++;
  }
  // Both answers were exercised, many times.
  expect(same).toBeGreaterThan(2000);
  expect(20_000 - same).toBeGreaterThan(2000);
});

it('edges: undefined fields, undefined in arrays, key order, types', () => {
  expect(jsonEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true);
  expect(jsonEqual([undefined], [null])).toBe(true);
  expect(jsonEqual({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(false); // as JSON.stringify: order counts
  expect(jsonEqual('1', 1)).toBe(false);
  expect(jsonEqual([], {})).toBe(false);
  expect(jsonEqual({ a: 'x'.repeat(1 << 19) }, { a: 'x'.repeat(1 << 19) })).toBe(true);
});
