// A tiny declarative validator for YAML documents: every failure names the key path and what was
// expected, unknown keys are errors, and the result is a typed, frozen value. Pure: no I/O.

export interface Issue {
  readonly key: string;
  readonly problem: string;
}

const line = (i: Issue): string => `${i.key || '<root>'}: ${i.problem}`;

export class ValidationError extends Error {
  readonly key: string;
  readonly problem: string;
  /** Every problem found in the document, this one first (a mapping reports all of its problems at once). */
  readonly issues: readonly Issue[];
  constructor(key: string, problem: string, more: readonly Issue[] = []) {
    super([{ key, problem }, ...more].map(line).join('\n'));
    this.key = key;
    this.problem = problem;
    this.issues = [{ key, problem }, ...more];
  }
}

export type Validator<T> = (value: unknown, key: string) => T;
export type Infer<V> = V extends Validator<infer T> ? T : never;

const describe = (v: unknown): string =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'a list'
      : typeof v === 'object'
        ? 'a mapping'
        : `${typeof v} ${JSON.stringify(v)}`;

const join = (key: string, sub: string | number): string =>
  typeof sub === 'number' ? `${key}[${sub}]` : key ? `${key}.${sub}` : sub;

export const str =
  (opts: { nonEmpty?: boolean; pattern?: RegExp; hint?: string } = {}): Validator<string> =>
  (v, key) => {
    if (typeof v !== 'string') throw new ValidationError(key, `expected a string, got ${describe(v)}`);
    if (opts.nonEmpty && v === '') throw new ValidationError(key, 'expected a non-empty string');
    if (opts.pattern && !opts.pattern.test(v))
      throw new ValidationError(
        key,
        `expected ${opts.hint ?? `a string matching ${opts.pattern}`}, got ${JSON.stringify(v)}`,
      );
    return v;
  };

export const bool = (): Validator<boolean> => (v, key) => {
  if (typeof v !== 'boolean') throw new ValidationError(key, `expected true or false, got ${describe(v)}`);
  return v;
};

export const int =
  (opts: { min?: number; max?: number } = {}): Validator<number> =>
  (v, key) => {
    if (typeof v !== 'number' || !Number.isInteger(v))
      throw new ValidationError(key, `expected an integer, got ${describe(v)}`);
    if (opts.min !== undefined && v < opts.min)
      throw new ValidationError(key, `expected an integer >= ${opts.min}, got ${v}`);
    if (opts.max !== undefined && v > opts.max)
      throw new ValidationError(key, `expected an integer <= ${opts.max}, got ${v}`);
    return v;
  };

export const oneOf =
  <const T extends string>(choices: readonly T[]): Validator<T> =>
  (v, key) => {
    if (typeof v !== 'string' || !(choices as readonly string[]).includes(v))
      throw new ValidationError(
        key,
        `expected one of ${choices.map((c) => JSON.stringify(c)).join(', ')}, got ${describe(v)}`,
      );
    return v as T;
  };

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** Byte size: an integer, or "512MiB", "10GB", ... */
export const size = (): Validator<number> => (v, key) => {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  const m = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(v) : null;
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined)
    throw new ValidationError(key, `expected a size such as 1073741824, "512MiB" or "10GB", got ${describe(v)}`);
  return Math.floor(Number(m[1]) * unit);
};

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Duration in milliseconds: "250ms", "10s", "5m", or a number of seconds. */
/** Octal file mode: "0600", or the YAML integer 0600 (which the core schema reads as decimal 600). */
export const fileMode = (): Validator<number> => (v, key) => {
  const t = typeof v === 'number' ? String(v) : typeof v === 'string' ? v : '';
  if (!/^0?[0-7]{3}$/.test(t))
    throw new ValidationError(key, `expected an octal file mode such as "0600", got ${JSON.stringify(v)}`);
  return parseInt(t, 8);
};

export const duration = (): Validator<number> => (v, key) => parseDuration(v, key);

export function parseDuration(v: unknown, key = 'duration'): number {
  if (typeof v === 'number' && v >= 0) return v * 1000;
  const m = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(v) : null;
  if (!m) throw new ValidationError(key, `expected a duration such as "250ms", "10s" or "5m", got ${describe(v)}`);
  return Number(m[1]) * DURATION_UNITS[m[2]!]!;
}

export const list =
  <T>(item: Validator<T>): Validator<T[]> =>
  (v, key) => {
    if (!Array.isArray(v)) throw new ValidationError(key, `expected a list, got ${describe(v)}`);
    return v.map((x, i) => item(x, join(key, i)));
  };

export const record =
  <T>(item: Validator<T>, keyPattern?: { pattern: RegExp; hint: string }): Validator<Record<string, T>> =>
  (v, key) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      throw new ValidationError(key, `expected a mapping, got ${describe(v)}`);
    const out: Record<string, T> = {};
    for (const [k, x] of Object.entries(v)) {
      if (keyPattern && !keyPattern.pattern.test(k))
        throw new ValidationError(join(key, k), `invalid key: expected ${keyPattern.hint}`);
      out[k] = item(x, join(key, k));
    }
    return out;
  };

/** Scalar map values as strings, the way LXD stores config: numbers and booleans are stringified. */
export const scalarString = (): Validator<string> => (v, key) => {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new ValidationError(key, `expected a string value, got ${describe(v)}`);
};

/** A validator that knows what to produce when its key is absent. */
type Field<T> = Validator<T> & { whenAbsent?: (key: string) => T };

/** A field that may be absent; `fallback` supplies its default. */
export function opt<T>(v: Validator<T>): Validator<T | undefined>;
export function opt<T>(v: Validator<T>, fallback: T | (() => T)): Validator<T>;
export function opt<T>(v: Validator<T>, fallback?: T | (() => T)): Validator<T | undefined> {
  const f: Field<T | undefined> = (value, key) => v(value, key);
  f.whenAbsent = () => (typeof fallback === 'function' ? (fallback as () => T)() : fallback);
  return f;
}

type Shape = Record<string, Validator<unknown>>;
export type ObjectOf<S extends Shape> = { readonly [K in keyof S]: Infer<S[K]> };

/** A mapping with known keys; absent as a whole, it takes every field's default. */
export const obj = <S extends Shape>(shape: S): Validator<ObjectOf<S>> => {
  const f: Field<ObjectOf<S>> = (v, key) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw new ValidationError(key, `expected a mapping, got ${describe(v)}`);
    const input = v as Record<string, unknown>;
    // Every problem of the mapping (and of the mappings inside it) is reported at once.
    const issues: Issue[] = [];
    for (const k of Object.keys(input)) {
      if (!Object.hasOwn(shape, k))
        issues.push({ key: join(key, k), problem: `unknown key (known keys: ${Object.keys(shape).join(', ')})` });
    }
    const out: Record<string, unknown> = {};
    for (const [k, field] of Object.entries(shape) as [string, Field<unknown>][]) {
      const raw = input[k];
      try {
        if (raw !== undefined && raw !== null) out[k] = field(raw, join(key, k));
        else if (field.whenAbsent) out[k] = field.whenAbsent(join(key, k));
        else issues.push({ key: join(key, k), problem: 'required key is missing' });
      } catch (e) {
        if (!(e instanceof ValidationError)) throw e;
        issues.push(...e.issues);
      }
    }
    if (issues.length > 0) throw new ValidationError(issues[0]!.key, issues[0]!.problem, issues.slice(1));
    return Object.freeze(out) as ObjectOf<S>;
  };
  f.whenAbsent = (key) => f({}, key);
  return f;
};
