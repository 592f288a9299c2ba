// Instance documents with big values: written without js-yaml's per-character style walk, and read back
// by the inventory's own parser exactly as they were, whatever characters they hold (controls, DEL, C1,
// NEL, line and paragraph separators, U+FFFE/FFFF, surrogate pairs and lone surrogates, quotes,
// backslashes, newlines, a look-alike of the placeholder itself); small documents come out as before.
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { BIG, doubleQuoted, dumpYaml } from '../../src/inventory/yaml-dump.ts';
import { instanceToYaml, parseInstanceYaml } from '../../src/inventory/parse.ts';
import type { Instance } from '../../src/inventory/model.ts';

const nasty = [
  '\x00\x01\x08\x0b\x0c\x1f',
  '\x7f',
  '\x80\x84\x85\x86\x9f\xa0',
  '\u2028\u2029',
  '\ufeff\ufffe\uffff',
  '\ud83d\ude00',
  '\ud800',
  'x\udc00',
  '"\'\\',
  '\n\r\n\t',
  ': - # & * ! | > % @ `',
  'gg-big-0123456789abcdef-0',
  'ünïcödé 漢字',
];
const bigString = (seed: number): string => {
  let s = '';
  for (let i = 0; s.length < BIG + 1000; i++) s += nasty[(i * 7 + seed) % nasty.length]! + 'word'.repeat(i % 5);
  return s;
};

const instance = (config: Record<string, string>): Instance =>
  ({
    key: 'c1',
    name: 'c1',
    project: 'default',
    type: 'container',
    location: 'local',
    config,
    devices: { eth0: { type: 'nic', note: bigString(3) } },
    identity: { cgroup: '/lxc.payload.c1', rootUid: 0, addresses: ['10.0.0.2'] },
  }) as Instance;

describe('instance YAML with big values', () => {
  it('reads back exactly, for values made of every awkward character', () => {
    for (let seed = 0; seed < 13; seed++) {
      const i = instance({ 'user.big': bigString(seed), 'user.small': 'x', 'cloud-init.user-data': '#cloud-config\n' });
      const text = instanceToYaml(i);
      expect(text).toContain('  user.big: "'); // the fast road was taken
      // Printable for any YAML reader (c-printable), not only js-yaml: nothing of these raw.
      expect(text).not.toMatch(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]/);
      expect(parseInstanceYaml(text, 'c1.yaml')).toEqual(i);
    }
  });

  it('every doubleQuoted() string is a YAML scalar with the same value, per character', () => {
    for (let c = 0; c < 0x10000; c++) {
      const s = `a${String.fromCharCode(c)}b`;
      expect(yaml.load(doubleQuoted(s), { schema: yaml.CORE_SCHEMA }), `U+${c.toString(16)}`).toBe(s);
    }
  });

  it('small documents are what js-yaml writes', () => {
    const doc = { name: 'c1', config: { 'user.a': 'multi\nline\n', 'user.b': 'yes' }, list: ['a', 'b'] };
    const opts = { sortKeys: false, lineWidth: -1, noRefs: true };
    expect(dumpYaml(doc, opts)).toBe(yaml.dump(doc, opts));
  });
});
