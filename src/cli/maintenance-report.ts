// Rendering for the CLI: table / json / yaml output, byte sizes, and a progress bar for TTYs. Pure
// apart from the progress writer.
import yaml from 'js-yaml';
import type { Progress } from '../images/store/maintenance.ts';

export type OutputFormat = 'table' | 'json' | 'yaml';

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

export function table(rows: readonly Record<string, string | number>[], columns: readonly string[]): string {
  const cells = [columns.map((c) => c.toUpperCase()), ...rows.map((r) => columns.map((c) => String(r[c] ?? '')))];
  const widths = columns.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return `${cells
    .map((row) =>
      row
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

export function render(data: unknown, format: OutputFormat, asTable: () => string): string {
  if (format === 'json') return `${JSON.stringify(data, null, 2)}\n`;
  if (format === 'yaml') return yaml.dump(data, { noRefs: true, lineWidth: 120 });
  return asTable();
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
