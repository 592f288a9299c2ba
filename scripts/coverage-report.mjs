// Coverage of src/ as `npm test` prints it: what the vitest workers ran in process (vitest's v8
// provider, coverage/coverage-final.json) together with what the child processes the tests start ran
// (the real gateway, the CLI: raw V8 dumps that NODE_V8_COVERAGE made them write on exit, converted
// with v8-to-istanbul). Node runs src/*.ts by type stripping, which keeps every offset, so the dumps
// map onto the .ts files directly. Merged per line: a line vitest counts as executable is covered if
// either side ran it. Prints the totals, per folder, and the least-covered files.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import libCoverage from 'istanbul-lib-coverage';
import v8toIstanbul from 'v8-to-istanbul';

const root = resolve(import.meta.dirname, '..');
const [vitestJson = join(root, 'coverage/coverage-final.json'), childDir = join(root, 'coverage/children')] =
  process.argv.slice(2);
if (!existsSync(vitestJson)) {
  console.log(`coverage: no ${relative(root, vitestJson)} (did vitest run with --coverage?)`);
  process.exit(0);
}
const inProcess = libCoverage.createCoverageMap(JSON.parse(readFileSync(vitestJson, 'utf8')));

// Child processes: union of covered lines per src file over every dump.
const childLines = new Map(); // file -> Set(line)
let dumps = 0;
if (existsSync(childDir))
  for (const name of readdirSync(childDir).filter((n) => n.endsWith('.json'))) {
    let data;
    try {
      data = JSON.parse(readFileSync(join(childDir, name), 'utf8'));
    } catch {
      continue; // a process killed while writing
    }
    dumps++;
    for (const script of data.result ?? []) {
      if (!script.url.startsWith('file://')) continue;
      const file = fileURLToPath(script.url);
      if (!file.startsWith(join(root, 'src') + '/') || !file.endsWith('.ts')) continue;
      const conv = v8toIstanbul(file, 0);
      await conv.load();
      conv.applyCoverage(script.functions);
      const fc = libCoverage.createFileCoverage(Object.values(conv.toIstanbul())[0]);
      const set = childLines.get(file) ?? new Set();
      for (const [line, hits] of Object.entries(fc.getLineCoverage())) if (hits > 0) set.add(Number(line));
      childLines.set(file, set);
      conv.destroy();
    }
  }

const rows = [];
for (const file of inProcess.files()) {
  const lines = inProcess.fileCoverageFor(file).getLineCoverage();
  const executable = Object.keys(lines).map(Number);
  const own = executable.filter((l) => lines[l] > 0);
  const kids = childLines.get(file) ?? new Set();
  const merged = executable.filter((l) => lines[l] > 0 || kids.has(l));
  rows.push({ file: relative(root, file), total: executable.length, own: own.length, merged: merged.length });
}
const pct = (a, b) => (b === 0 ? 100 : (100 * a) / b).toFixed(1);
const sum = (k) => rows.reduce((n, r) => n + r[k], 0);
const total = sum('total');
console.log(
  `coverage (lines of src/): ${pct(sum('merged'), total)}% with child processes (${dumps} dumps), ` +
    `${pct(sum('own'), total)}% in-process only; ${sum('merged')} of ${total} lines`,
);
const byDir = new Map();
for (const r of rows) {
  const d = r.file.split('/').slice(0, 2).join('/');
  const a = byDir.get(d) ?? { total: 0, merged: 0 };
  a.total += r.total;
  a.merged += r.merged;
  byDir.set(d, a);
}
console.log(`  by folder: ${[...byDir].map(([d, a]) => `${d} ${pct(a.merged, a.total)}%`).join(', ')}`);
console.log('  least covered files:');
for (const r of rows
  .filter((r) => r.total > 0)
  .sort((a, b) => a.merged / a.total - b.merged / b.total)
  .slice(0, 10))
  console.log(`    ${pct(r.merged, r.total).padStart(5)}%  ${r.file} (${r.merged}/${r.total} lines)`);
