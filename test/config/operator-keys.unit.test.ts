// Keys an operator writes: every duration takes units (admin.max_wait too), and every accepted key is
// in the README's configuration reference.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';

const file = join(tmpdir(), 'guestgate.yaml');
const base = `inventory: {source: dir, dir: ${tmpdir()}}\nruntime_dir: /run/x\n`;

describe('admin.max_wait', () => {
  it('takes units like every other duration; a bare number stays seconds', () => {
    expect(parseConfig(`${base}admin: {max_wait: 90s}\n`, file).admin.max_wait).toBe(90_000);
    expect(parseConfig(`${base}admin: {max_wait: 2h}\n`, file).admin.max_wait).toBe(7_200_000);
    expect(parseConfig(`${base}admin: {max_wait: 5}\n`, file).admin.max_wait).toBe(5_000);
    expect(parseConfig(base, file).admin.max_wait).toBe(3_600_000);
  });
  it('refuses out-of-range and unitless garbage, naming the key', () => {
    expect(() => parseConfig(`${base}admin: {max_wait: 2d}\n`, file)).toThrow(/admin\.max_wait.*duration/);
    expect(() => parseConfig(`${base}admin: {max_wait: 25h}\n`, file)).toThrow(
      /admin\.max_wait: expected a duration from 1s to 24h/,
    );
  });
});

describe('README configuration reference', () => {
  it('documents guest.require_peer_credentials and log.format', () => {
    const readme = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');
    for (const key of ['guest.require_peer_credentials', 'log.format', 'admin.max_wait'])
      expect(readme, key).toContain(`\`${key}\``);
  });
});
