import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseConfig } from '../../src/config/load.ts';
import { FileValueError } from '../../src/errors.ts';
import { parseDuration, size, ValidationError } from '../../src/config/validate.ts';

const dir = mkdtempSync(join(tmpdir(), 'gg-cfg-'));
const file = join(dir, 'guestgate.yaml');

function err(text: string): FileValueError {
  try {
    parseConfig(text, file);
  } catch (e) {
    return e as FileValueError;
  }
  throw new Error('expected an error');
}

describe('service config', () => {
  it('fills defaults and derives the guest socket from runtime_dir and dialect', () => {
    const c = parseConfig(`inventory: {source: dir, dir: ${dir}}\nruntime_dir: /run/x\n`, file);
    expect(c.guest.dialect).toBe('lxd');
    expect(c.guest.socket).toBe('/run/x/devlxd/sock');
    expect(c.guest.raw_content_type).toBe('utf8');
    expect(c.guest.events.keepalive).toBe(10_000);
    expect(Object.isFrozen(c)).toBe(true);
    const incus = parseConfig(
      `inventory: {source: dir, dir: ${dir}}\nruntime_dir: /run/x\nguest: {dialect: incus}\n`,
      file,
    );
    expect(incus.guest.socket).toBe('/run/x/guestapi/sock');
  });

  it('images.file_mode: private by default, octal string or YAML integer, anything else named', () => {
    const base = `inventory: {source: dir, dir: ${dir}}\n`;
    expect(parseConfig(base, file).images.file_mode).toBe(0o600);
    expect(parseConfig(`${base}images: {file_mode: "0640"}\n`, file).images.file_mode).toBe(0o640);
    expect(parseConfig(`${base}images: {file_mode: 0644}\n`, file).images.file_mode).toBe(0o644);
    const e = err(`${base}images: {file_mode: rw-r-----}\n`);
    expect(e.key).toBe('images.file_mode');
    expect(e.message).toContain('expected an octal file mode such as "0600", got "rw-r-----"');
  });

  it('resolves relative paths against the config file folder', () => {
    const c = parseConfig(`inventory: {source: dir, dir: .}\nstate_dir: st\n`, file);
    expect(c.state_dir).toBe(join(dir, 'st'));
  });

  it('names the file and the key of an unknown key', () => {
    const e = err(`inventory: {source: dir, dir: ${dir}}\nguest: {dialekt: lxd}\n`);
    expect(e).toBeInstanceOf(FileValueError);
    expect(e.code).toBe('E_CONFIG');
    expect(e.key).toBe('guest.dialekt');
    expect(e.message).toContain(file);
    expect(e.message).toContain('unknown key');
  });

  it('reports every unknown key at once, each line with file and key path', () => {
    const e = err(`inventory: {source: dir, dir: ${dir}}\nguest: {dialekt: lxd}\nlog: {levl: info}\ntypo: 1\n`);
    expect(e.key).toBe('typo');
    expect(e.message.split('\n').map((l) => l.replace(/ \(known keys: .*\)$/, ''))).toEqual([
      `${file}: typo: unknown key`,
      `${file}: guest.dialekt: unknown key`,
      `${file}: log.levl: unknown key`,
    ]);
  });

  it('names the key of a wrong type and of a bad enum', () => {
    expect(err(`inventory: {source: dir, dir: ${dir}}\nguest: {events: {max_queue: lots}}\n`).key).toBe(
      'guest.events.max_queue',
    );
    const e = err(`inventory: {source: dir, dir: ${dir}}\nguest: {dialect: lxd-4}\n`);
    expect(e.key).toBe('guest.dialect');
    expect(e.message).toContain('"lxd-5.0", "lxd", "incus"');
  });

  it('rejects a path that does not exist, naming it', () => {
    const e = err('inventory: {source: dir, dir: ./nope}\n');
    expect(e.key).toBe('inventory.dir');
    expect(e.message).toContain(join(dir, 'nope'));
  });

  it('requires the inventory source', () => {
    expect(err('guest: {dialect: lxd}\n').message).toContain('inventory: required key is missing');
  });

  it('reports invalid YAML and unreadable files with the file name', () => {
    expect(err('guest: [\n').message).toMatch(/invalid YAML/);
    expect(() => loadConfig(join(dir, 'missing.yaml'))).toThrow(/missing\.yaml: cannot read config file: ENOENT/);
    writeFileSync(join(dir, 'bad.yaml'), 'log: {level: loud}\ninventory: {source: dir, dir: .}\n');
    expect(() => loadConfig(join(dir, 'bad.yaml'))).toThrow(/bad\.yaml: log\.level: expected one of/);
  });
});

describe('scalar parsers', () => {
  it('parses sizes and durations', () => {
    expect(size()('512MiB', 'k')).toBe(512 * 1024 * 1024);
    expect(size()('10GB', 'k')).toBe(10e9);
    expect(() => size()('ten', 'images.max_size')).toThrow(ValidationError);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration(2)).toBe(2000);
    expect(() => parseDuration('soon')).toThrow(/expected a duration/);
  });
});
