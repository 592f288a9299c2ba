// Readiness writes to LXD/Incus: one ordered chain per instance, bursts coalesced, the last state wins.
import { describe, expect, it } from 'vitest';
import { LatestWriter } from '../../src/inventory/sources/lxd/latest-writer.ts';

/** A server whose writes complete only when the test says so, in any order the test chooses. */
function slowServer() {
  const stored = new Map<string, string>();
  const inFlight: { key: string; value: string; finish: () => void }[] = [];
  const write = (key: string, value: string) =>
    new Promise<void>((resolve) => {
      inFlight.push({
        key,
        value,
        finish: () => {
          stored.set(key, value);
          resolve();
        },
      });
    });
  return { stored, inFlight, write };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('LatestWriter', () => {
  it('Ready/Started/Ready/Ready in a burst ends Ready, even if writes would complete out of order', async () => {
    const s = slowServer();
    const w = new LatestWriter(s.write);
    const all = ['true', 'false', 'true', 'true'].map((v) => w.set('c1', v));
    await tick();
    // Only one write in flight per key: nothing can overtake it.
    expect(s.inFlight.map((x) => x.value)).toEqual(['true']);
    s.inFlight.shift()!.finish();
    await Promise.all(all);
    expect(s.stored.get('c1')).toBe('true');
    expect(s.inFlight).toEqual([]); // the pending value equalled what was written: no second write
  });

  it('a newer value during a write is written next; the last one wins', async () => {
    const s = slowServer();
    const w = new LatestWriter(s.write);
    const a = w.set('c1', 'true');
    await tick();
    const b = w.set('c1', 'false');
    const c = w.set('c1', 'true');
    const d = w.set('c1', 'false');
    s.inFlight.shift()!.finish();
    await tick();
    expect(s.inFlight.map((x) => x.value)).toEqual(['false']);
    s.inFlight.shift()!.finish();
    await Promise.all([a, b, c, d]);
    expect(s.stored.get('c1')).toBe('false');
  });

  it('keys are independent', async () => {
    const s = slowServer();
    const w = new LatestWriter(s.write);
    const p = [w.set('a', 'true'), w.set('b', 'false')];
    await tick();
    expect(s.inFlight.map((x) => `${x.key}=${x.value}`).sort()).toEqual(['a=true', 'b=false']);
    for (const x of s.inFlight.splice(0)) x.finish();
    await Promise.all(p);
    await w.idle();
    expect(Object.fromEntries(s.stored)).toEqual({ a: 'true', b: 'false' });
  });
});
