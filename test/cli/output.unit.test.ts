// The one CLI output module: same header style for every table, same formats for every verb.
import { describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import { humanBytes, progressBar, recordTable, render, table } from '../../src/cli/output.ts';

describe('cli output', () => {
  it('tables: upper-case headers, columns padded to the widest cell, no trailing blanks', () => {
    expect(
      table(
        ['name', 'state'],
        [
          ['c1', 'Running'],
          ['a-long-name', ''],
        ],
      ),
    ).toBe('NAME         STATE\nc1           Running\na-long-name\n');
    expect(recordTable([{ step: 'sweep', ms: 3 }], ['step', 'ms'])).toBe(table(['STEP', 'MS'], [['sweep', '3']]));
  });

  it('json and yaml render the value itself; table calls the table builder', () => {
    const v = { a: 1, long: 'x'.repeat(200) };
    expect(JSON.parse(render('json', v, () => ''))).toEqual(v);
    const y = render('yaml', v, () => '');
    expect(yaml.load(y)).toEqual(v);
    expect(y.split('\n').filter(Boolean)).toHaveLength(2); // long strings are not folded
    expect(render('table', v, () => 'T\n')).toBe('T\n');
  });

  it('byte sizes and the progress bar', () => {
    expect([humanBytes(512), humanBytes(1536), humanBytes(3 * 1024 ** 3)]).toEqual(['512 B', '1.5 KiB', '3.0 GiB']);
    expect(progressBar(1, 4, 8)).toBe('[##......]  25%');
  });
});
