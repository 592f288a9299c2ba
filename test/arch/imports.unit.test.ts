// The import graph runs downhill: a lower layer never imports a higher one, and the surfaces
// (guest, admin, nocloud, cli) never import each other. Read from the sources with a regex over
// `import ... from '...'` / `export ... from '...'`; relative specifiers only (packages are leaves).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');

/** Layer of each top-level entry of src/ (folder or file); higher numbers may import lower ones. */
const LAYER: Record<string, number> = {
  'errors.ts': 0,
  'log.ts': 0,
  util: 0,
  config: 1,
  net: 1,
  metrics: 1,
  lxd: 2,
  identity: 2,
  state: 2,
  inventory: 3,
  cloudinit: 4,
  images: 4,
  templates: 4,
  guest: 5,
  admin: 5,
  nocloud: 5,
  'service.ts': 6,
  cli: 7,
};
const SURFACES = new Set(['guest', 'admin', 'nocloud', 'cli']);

interface Arrow {
  readonly from: string;
  readonly to: string;
}

function arrowsOf(file: string, text: string): Arrow[] {
  const out: Arrow[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]/g;
  for (const m of text.matchAll(re)) out.push({ from: file, to: resolve(dirname(file), m[1]!) });
  return out;
}

const top = (abs: string): string => relative(SRC, abs).split('/')[0]!;

/** Why an arrow breaks the layering, or undefined when it is fine. */
function violation(a: Arrow): string | undefined {
  const f = top(a.from);
  const t = top(a.to);
  if (f === t) return undefined;
  if (relative(SRC, a.to).startsWith('..')) return `${rel(a)}: imports from outside src/`;
  const lf = LAYER[f];
  const lt = LAYER[t];
  if (lf === undefined) return `${rel(a)}: src/${f} has no layer in test/arch/imports.unit.test.ts`;
  if (lt === undefined) return `${rel(a)}: src/${t} has no layer in test/arch/imports.unit.test.ts`;
  if (SURFACES.has(f) && SURFACES.has(t)) return `${rel(a)}: surface ${f} imports sibling surface ${t}`;
  if (lt > lf) return `${rel(a)}: ${f} (layer ${lf}) imports ${t} (layer ${lt}), a higher layer`;
  return undefined;
}

const rel = (a: Arrow): string => `src/${relative(SRC, a.from)} -> src/${relative(SRC, a.to)}`;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('import layering', () => {
  it('has no arrow from a lower layer to a higher one, nor across surfaces', () => {
    const files = sources(SRC);
    expect(files.length).toBeGreaterThan(50);
    const bad = files
      .flatMap((f) => arrowsOf(f, readFileSync(f, 'utf8')))
      .map(violation)
      .filter((v): v is string => v !== undefined);
    expect(bad).toEqual([]);
  });

  it('every src/ entry has a layer', () => {
    const entries = readdirSync(SRC).filter((n) => n.endsWith('.ts') || !n.includes('.'));
    expect(entries.filter((n) => LAYER[n] === undefined)).toEqual([]);
  });

  it('every src/ folder opens with a README.md of one line saying what it owns', () => {
    const folders = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .flatMap((e) => [join(dir, e.name), ...folders(join(dir, e.name))]);
    const bad = [SRC, ...folders(SRC)].filter((d) => {
      const f = join(d, 'README.md');
      return !existsSync(f) || readFileSync(f, 'utf8').trim().split('\n').length !== 1;
    });
    expect(bad.map((d) => `src/${relative(SRC, d)}`)).toEqual([]);
  });

  it('flags an upward import and a cross-surface import (the checker itself)', () => {
    const up = arrowsOf(join(SRC, 'images/service.ts'), "import type { X } from '../guest/deps.ts';\n");
    expect(up.map(violation)).toEqual([
      'src/images/service.ts -> src/guest/deps.ts: images (layer 4) imports guest (layer 5), a higher layer',
    ]);
    const across = arrowsOf(join(SRC, 'nocloud/server.ts'), "import {\n  a,\n} from '../admin/app.ts';");
    expect(across.map(violation)).toEqual([
      'src/nocloud/server.ts -> src/admin/app.ts: surface nocloud imports sibling surface admin',
    ]);
    const down = arrowsOf(join(SRC, 'guest/app.ts'), "export { x } from '../inventory/inventory.ts';");
    expect(down.map(violation)).toEqual([undefined]);
  });
});
