// Load the service config once at start: read, parse YAML, validate, freeze. Errors name file and key.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import yaml from 'js-yaml';
import { FileValueError } from '../errors.ts';
import { configSchema, withDerivedDefaults, type Config } from './schema.ts';
import { ValidationError } from './validate.ts';

export function parseConfig(text: string, file: string): Config {
  let doc: unknown;
  try {
    doc = yaml.load(text, { filename: file, schema: yaml.CORE_SCHEMA });
  } catch (e) {
    throw new FileValueError('E_CONFIG', file, '', `invalid YAML: ${(e as Error).message}`);
  }
  if (doc === undefined || doc === null) doc = {};
  try {
    return withDerivedDefaults(configSchema({ baseDir: dirname(file) })(doc, ''), file);
  } catch (e) {
    if (e instanceof ValidationError) throw new FileValueError('E_CONFIG', file, e.key, e.problem, e.issues.slice(1));
    throw e;
  }
}

export function loadConfig(file: string): Config {
  const abs = resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    throw new FileValueError(
      'E_CONFIG',
      abs,
      '',
      `cannot read config file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  return parseConfig(text, abs);
}
