// The template set's JSON form (admin API -> CLI): round trip, and malformed fields named.
import { describe, expect, it } from 'vitest';
import { loadTemplateDir } from '../../src/templates/load-dir.ts';
import { fromWire, toWire } from '../../src/templates/wire.ts';

const SET = loadTemplateDir(`${import.meta.dirname}/fixtures/lxd-set`, 'lxd-set');

describe('template set wire form', () => {
  it('round-trips entries and sources', () => {
    const back = fromWire(JSON.parse(JSON.stringify(toWire(SET))), 'test');
    expect(back).toEqual(SET);
  });
  it('names the malformed field', () => {
    const w = toWire(SET);
    expect(() => fromWire({ ...w, sources: { a: 1 } }, 'gw')).toThrow(/gw: template set: sources is missing/);
    expect(() => fromWire({ ...w, entries: [{ ...w.entries[0], create_only: 'yes' }] }, 'gw')).toThrow(
      /entries\[0\]\.create_only/,
    );
    expect(() => fromWire(null, 'gw')).toThrow(/document/);
  });
});
