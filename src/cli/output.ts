// --output json|yaml|table: machine formats for scripts, aligned tables for people.
import yaml from 'js-yaml';
import { Option } from 'commander';

export type Format = 'json' | 'yaml' | 'table';

export const outputOption = (): Option =>
  new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table');

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

export function print(format: Format, value: unknown, asTable: () => string): void {
  if (format === 'json') process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else if (format === 'yaml') process.stdout.write(yaml.dump(value, { lineWidth: -1, noRefs: true }));
  else process.stdout.write(asTable());
}
