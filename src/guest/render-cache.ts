// Rendered bodies per instance version. Instances are immutable and replaced on every change, so a
// WeakMap keyed by the instance object is invalidated by construction: no TTLs, no stale answers.
import type { Instance } from '../inventory/model.ts';

const cache = new WeakMap<Instance, Map<string, Buffer>>();

export function rendered(instance: Instance, what: string, render: () => string): Buffer {
  let m = cache.get(instance);
  if (!m) {
    m = new Map();
    cache.set(instance, m);
  }
  let b = m.get(what);
  if (!b) {
    b = Buffer.from(render(), 'utf8');
    m.set(what, b);
  }
  return b;
}
