// Per-line attribution: which config keys (config_get, config.*), properties and instance values
// produced each output line; through conditions, loops, set/with and macros. Tracing never changes
// the output.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { templateContext, traceRoots } from '../../src/templates/context.ts';
import { instanceFromDocument } from '../../src/inventory/parse.ts';
import { renderString, renderTraced } from '../../src/templates/render.ts';

const inst = instanceFromDocument(
  {
    name: 'c1',
    identity: {},
    config: { 'user.user-data': '#cloud-config\nruncmd: [a]\n\n', 'user.role': 'db', 'user.empty': '' },
    devices: { eth0: { type: 'nic', name: 'eth0' } },
  },
  't',
);
const ctx = templateContext(inst, 'create', '/x', { default: '#cloud-config\n{}' });
const t = (src: string) => renderTraced(src, ctx, traceRoots(ctx));

describe('per-line keys', () => {
  it('config_get and config.*: every line of a multi-line value; an unset key names its default', () => {
    const r = t('head\n{{ config_get("user.user-data", properties.default) }}\ntail {{ instance.name }}\n');
    expect(r.output).toBe('head\n#cloud-config\nruncmd: [a]\ntail c1\n');
    expect(r.lines).toEqual([
      { line: 2, keys: ['user.user-data'] },
      { line: 3, keys: ['user.user-data'] },
      { line: 4, keys: ['instance.name'] },
    ]);
    const d = t('{{ config_get("user.vendor-data", properties.default) }}\n');
    expect(d.output).toBe('#cloud-config\n{}\n');
    expect(d.lines.map((l) => l.keys)).toEqual([
      ['properties.default', 'user.vendor-data (unset)'],
      ['properties.default', 'user.vendor-data (unset)'],
    ]);
    expect(t('{{ config.user.role }}|{{ config_get("user.nosuch", "") }}\n').lines).toEqual([
      { line: 1, keys: ['user (unset)', 'user.nosuch (unset)'] },
    ]);
  });
  it('a line printed under a condition or a loop depends on the keys they read', () => {
    const r = t('{% if config_get("user.role", "") == "db" %}\ndb line\n{% else %}\nother\n{% endif %}\nfree\n');
    expect(r.output).toBe('\ndb line\n\nfree\n');
    expect(r.lines).toEqual([
      { line: 1, keys: ['user.role'] },
      { line: 2, keys: ['user.role'] },
    ]);
    const l = t('{% for k, v in config %}{% if k == "user.role" %}{{ k }}={{ v }}\n{% endif %}{% endfor %}');
    expect(l.output).toBe('user.role=db\n');
    expect(l.lines[0]!.keys).toContain('user.role');
  });
  it('through set, with, firstof and macros', () => {
    const r = t(
      '{% set r = config_get("user.role", "") %}{% with p = properties.default %}a {{ r }}\n{{ p }}\n{% endwith %}' +
        '{% macro m(x) %}[{{ x }}{{ instance.type }}]{% endmacro %}{{ m(config_get("user.role", "")) }}\n' +
        '{% firstof config_get("user.empty", "") devices.eth0.name %}\n',
    );
    expect(r.output).toBe('a db\n#cloud-config\n{}\n[dbcontainer]\neth0\n');
    expect(r.lines).toEqual([
      { line: 1, keys: ['user.role'] },
      { line: 2, keys: ['properties.default'] },
      { line: 3, keys: ['properties.default'] },
      { line: 4, keys: ['instance.type', 'user.role'] },
      { line: 5, keys: ['devices.eth0', 'user.empty (unset)'] },
    ]);
  });
  it('lines from text only carry no keys; an empty template has no lines', () => {
    expect(t('plain\ntext\n').lines).toEqual([]);
    expect(t('').lines).toEqual([]);
    // An empty value still made its (empty) line; an empty output has no line to name.
    expect(t('{{ config_get("user.nosuch", "") }}\n').lines).toEqual([{ line: 1, keys: ['user.nosuch (unset)'] }]);
    expect(t('{{ config_get("user.nosuch", "") }}').lines).toEqual([]);
  });
  it('the traced output is byte for byte the untraced one (every fixture and default template)', () => {
    const dirs = [
      join(import.meta.dirname, 'fixtures/lxd-set/templates'),
      join(import.meta.dirname, '../../templates/templates'),
    ];
    let n = 0;
    for (const d of dirs)
      for (const f of readdirSync(d)) {
        const src = readFileSync(join(d, f), 'utf8');
        const plain = (() => {
          try {
            return renderString(src, ctx);
          } catch (e) {
            return `error ${(e as Error).message}`;
          }
        })();
        const traced = (() => {
          try {
            return t(src).output;
          } catch (e) {
            return `error ${(e as Error).message}`;
          }
        })();
        expect(traced, f).toBe(plain);
        n++;
      }
    expect(n).toBeGreaterThan(10);
  });
});
