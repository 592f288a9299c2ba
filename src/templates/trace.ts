// Which context values each output line came from, for the preview ("which config key produced which
// line"). The evaluator reports reads (an attribute of a traced map such as config or properties, a
// call of a traced function such as config_get, a variable bound from such reads) while it evaluates
// an output, a condition or a loop's sequence; each emission into the output is recorded as a span
// with the keys behind it (its own reads, plus those of the enclosing conditions and loops), and
// spans become per-line key lists. Tracing only observes: the output is the same with or without it.
import { type Fn, isMap, type Value } from './values.ts';

export interface TraceRoots {
  /** Maps whose attribute reads are recorded: the map, and the names a read of key k gives. */
  readonly maps: ReadonlyMap<object, (key: string) => readonly string[]>;
  /**
   * Functions whose calls are recorded: the function, and the names a call gives from its arguments
   * and the keys they read (a call of any other function records its arguments' keys).
   */
  readonly fns: ReadonlyMap<Fn, (args: readonly Value[], argKeys: readonly string[]) => readonly string[]>;
}

export interface LineKeys {
  /** 1-based line number in the rendered output. */
  readonly line: number;
  readonly keys: readonly string[];
}

interface Span {
  readonly start: number;
  readonly end: number;
  readonly keys: readonly string[];
}

export class Tracer {
  readonly #roots: TraceRoots;
  readonly #root: readonly string[];
  readonly #collect: Set<string>[] = [];
  readonly #conds: (readonly string[])[] = [];
  readonly #bound = new WeakMap<object, Map<string, readonly string[]>>();
  readonly #spans: Span[] = [];
  #offset = 0;

  /** `root` is the output array of the whole rendering (a macro renders into its own). */
  constructor(roots: TraceRoots, root: readonly string[]) {
    this.#roots = roots;
    this.#root = root;
  }

  read(labels: Iterable<string> | undefined): void {
    const c = this.#collect.at(-1);
    if (c && labels) for (const l of labels) c.add(l);
  }

  /** `.key` of a value. */
  attr(v: Value, key: string): void {
    this.read(this.mapLabel(v)?.(key));
  }

  call(fn: Fn, args: readonly Value[], argKeys: readonly string[]): void {
    const f = this.#roots.fns.get(fn);
    this.read(f ? f(args, argKeys) : argKeys);
  }

  mapLabel(v: Value): ((key: string) => readonly string[]) | undefined {
    return isMap(v) ? this.#roots.maps.get(v) : undefined;
  }

  /** Start collecting the reads of one expression (or several: an if's conditions). */
  open(): void {
    this.#collect.push(new Set());
  }

  close(): readonly string[] {
    return [...(this.#collect.pop() ?? [])];
  }

  /** Everything emitted until popCond depends on these keys (an if's conditions, a loop's sequence). */
  pushCond(keys: readonly string[]): void {
    this.#conds.push(keys);
  }

  popCond(): void {
    this.#conds.pop();
  }

  /** A variable set from reads: using it later reads the same keys. */
  bind(scope: object, name: string, keys: readonly string[]): void {
    const m = this.#bound.get(scope) ?? new Map<string, readonly string[]>();
    this.#bound.set(scope, m);
    m.set(name, keys);
  }

  /** A variable was looked up in this scope. */
  used(scope: object, name: string): void {
    this.read(this.#bound.get(scope)?.get(name));
  }

  /** `len` characters were appended to `out`; `keys`: the reads of the expression printed, if any. */
  emitted(len: number, out: readonly string[], keys: readonly string[] = []): void {
    const all = this.#conds.length ? [...keys, ...this.#conds.flat()] : keys;
    if (out !== this.#root) {
      this.read(all); // inside a macro: its output feeds the expression that called it
      return;
    }
    if (all.length) this.#spans.push({ start: this.#offset, end: this.#offset + len, keys: all });
    this.#offset += len;
  }

  /** Per line of `output` (the joined root output), the sorted keys behind it; lines without keys are left out. */
  lines(output: string): LineKeys[] {
    const starts = [0];
    for (let i = output.indexOf('\n'); i !== -1; i = output.indexOf('\n', i + 1)) starts.push(i + 1);
    const count = output.endsWith('\n') || output === '' ? starts.length - 1 : starts.length;
    const lineOf = (pos: number): number => {
      let lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid]! <= pos) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    };
    const byLine = new Map<number, Set<string>>();
    for (const s of this.#spans) {
      const first = lineOf(s.start);
      const last = s.end > s.start ? lineOf(s.end - 1) : first;
      for (let l = first; l <= Math.min(last, count - 1); l++) {
        const set = byLine.get(l) ?? new Set<string>();
        byLine.set(l, set);
        for (const k of s.keys) set.add(k);
      }
    }
    return [...byLine.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([l, keys]) => ({ line: l + 1, keys: [...keys].sort() }));
  }
}
