// CLI presentation, written once: the shared options (-c/--config, -o/--output), table / json / yaml
// rendering (one header style: upper-case, two spaces between columns), byte sizes, and a progress
// bar for TTYs. Pure apart from print() and the progress writer.
import yaml from 'js-yaml';
import { Option } from 'commander';
import type { Progress } from '../images/store/maintenance.ts';
import { DEFAULT_CONFIG } from './common.ts';

export type OutputFormat = 'table' | 'json' | 'yaml';

export const outputOption = (): Option =>
  new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table');

export const configOption = (): Option =>
  new Option('-c, --config <file>', 'guestgate config file (YAML)').default(DEFAULT_CONFIG);

/** Columns padded to the widest cell; headers upper-case; no trailing blanks. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = headers.map((h) => h.toUpperCase());
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(head), ...rows.map(line)].join('\n')}\n`;
}

/** table() over records: one column per key in `columns`. */
export const recordTable = (rows: readonly Record<string, string | number>[], columns: readonly string[]): string =>
  table(
    columns,
    rows.map((r) => columns.map((c) => String(r[c] ?? ''))),
  );

export function render(format: OutputFormat, value: unknown, asTable: () => string): string {
  if (format === 'json') return `${JSON.stringify(value, null, 2)}\n`;
  if (format === 'yaml') return yaml.dump(value, { lineWidth: -1, noRefs: true });
  return asTable();
}

export function print(format: OutputFormat, value: unknown, asTable: () => string): void {
  process.stdout.write(render(format, value, asTable));
}

export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

export function progressBar(done: number, total: number, width = 30): string {
  const f = total > 0 ? Math.min(1, done / total) : 1;
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(f * 100).toFixed(0).padStart(3)}%`;
}

/** A progress bar on stderr when it is a TTY; silent otherwise (scripts, pipes, tests). */
export function ttyProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { start() {}, add() {}, done() {} };
  let label = '';
  let total = 0;
  let done = 0;
  let last = 0;
  const draw = (): void =>
    void stream.write(`\r${label} ${progressBar(done, total)} ${humanBytes(done)}/${humanBytes(total)}`);
  return {
    start(l, t) {
      label = l;
      total = t;
      done = 0;
      draw();
    },
    add(n) {
      done += n;
      const now = Date.now();
      if (now - last > 100) {
        last = now;
        draw();
      }
    },
    done() {
      draw();
      stream.write('\n');
    },
  };
}
