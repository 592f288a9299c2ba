// Walks the AST with pongo2's semantics; every node, expression and loop turn costs a step, and
// output and string values are size-bounded, so a hostile template ends with a TemplateError
// in bounded time. No I/O, no code generation: the only callables are those in the context.
import type { Expr, Node } from './ast.ts';
import type { Budget } from './budget.ts';
import { TemplateError, type Where } from './errors.ts';
import { escapeHtml, FILTERS } from './filters.ts';
import type { Tracer } from './trace.ts';
import {
  attr,
  contains,
  equal,
  Float,
  Fn,
  isFloat,
  isMap,
  bytesOf,
  toFloat,
  toInt,
  toStr,
  truthy,
  type Value,
  type VMap,
} from './values.ts';

type Scope = Map<string, Value>;

export class Evaluator {
  private readonly scopes: Scope[];
  private readonly budget: Budget;
  private autoescape: boolean;
  /** Set when the caller wants to know which keys produced which output (see trace.ts); else undefined. */
  private readonly tr: Tracer | undefined;
  constructor(context: VMap, budget: Budget, autoescape: boolean, tracer?: Tracer) {
    this.scopes = [new Map(Object.entries(context))];
    this.budget = budget;
    this.autoescape = autoescape;
    this.tr = tracer;
  }

  render(nodes: readonly Node[], out: string[]): undefined {
    for (const n of nodes) this.node(n, out);
  }

  private emit(s: string, w: Where, out: string[], keys?: readonly string[]): undefined {
    this.budget.output(s.length, w);
    out.push(s);
    this.tr?.emitted(s.length, out, keys);
  }

  /** `f()`, with the keys it read when tracing. */
  private traced<T>(f: () => T): [T, readonly string[] | undefined] {
    if (!this.tr) return [f(), undefined];
    this.tr.open();
    const v = f(); // an error ends the whole rendering: the open collector is dropped with the tracer
    return [v, this.tr.close()];
  }

  /** Render `body` with everything emitted depending on `keys` (when tracing). */
  private under(keys: readonly string[] | undefined, body: () => undefined): undefined {
    if (!this.tr || !keys?.length) return body();
    this.tr.pushCond(keys);
    try {
      return body();
    } finally {
      this.tr.popCond();
    }
  }

  private node(n: Node, out: string[]): undefined {
    this.budget.step(n);
    switch (n.t) {
      case 'text':
        return this.emit(n.value, n, out);
      case 'out': {
        const [v, keys] = this.traced(() => toStr(this.expr(n.e)));
        const raw = n.e.t === 'filter' && (n.e.name === 'safe' || n.e.name === 'escape' || n.e.name === 'e');
        return this.emit(this.autoescape && !raw ? escapeHtml(v) : v, n, out, keys);
      }
      case 'if': {
        // Every condition evaluated decides the branch taken: its output depends on all of them.
        const [b, keys] = this.traced(() => n.branches.find((b) => truthy(this.expr(b.cond))));
        return this.under(keys, () => this.scoped(b ? b.body : n.orElse, out));
      }
      case 'for':
        return this.forLoop(n, out);
      case 'set': {
        const [v, keys] = this.traced(() => this.expr(n.e));
        this.scopes.at(-1)!.set(n.name, v);
        this.tr?.bind(this.scopes.at(-1)!, n.name, keys ?? []);
        return;
      }
      case 'with': {
        const s: Scope = new Map();
        for (const b of n.binds) {
          const [v, keys] = this.traced(() => this.expr(b.e));
          s.set(b.name, v);
          this.tr?.bind(s, b.name, keys ?? []);
        }
        return this.scoped(n.body, out, s);
      }
      case 'firstof': {
        const [v, keys] = this.traced(() => {
          for (const e of n.es) {
            const v = this.expr(e);
            if (truthy(v)) return v;
          }
          return undefined;
        });
        if (v === undefined) return;
        return this.emit(this.autoescape ? escapeHtml(toStr(v)) : toStr(v), n, out, keys);
      }
      case 'autoescape': {
        const was = this.autoescape;
        this.autoescape = n.on;
        try {
          return this.scoped(n.body, out);
        } finally {
          this.autoescape = was;
        }
      }
      case 'macro':
        this.scopes.at(-1)!.set(n.name, this.macro(n));
        return;
    }
  }

  private scoped(body: readonly Node[], out: string[], scope: Scope = new Map()): undefined {
    this.scopes.push(scope);
    try {
      this.render(body, out);
    } finally {
      this.scopes.pop();
    }
  }

  private forLoop(n: Extract<Node, { t: 'for' }>, out: string[]): undefined {
    const [src, keys] = this.traced(() => this.expr(n.e));
    return this.under(keys, () => this.loop(n, src, out));
  }

  private loop(n: Extract<Node, { t: 'for' }>, src: Value, out: string[]): undefined {
    let pairs: [Value, Value][];
    if (typeof src === 'string') pairs = bytesOf(src).map((c) => [c, null]);
    else if (Array.isArray(src)) pairs = src.map((x) => [x, null]);
    else if (isMap(src)) pairs = Object.keys(src).map((k) => [k, src[k]!]);
    else pairs = [];
    if (n.sorted || isMap(src))
      pairs.sort((a, b) => (toStr(a[0]) < toStr(b[0]) ? -1 : toStr(a[0]) > toStr(b[0]) ? 1 : 0));
    if (n.reversed) pairs.reverse();
    if (pairs.length === 0) return this.scoped(n.empty, out);
    const parent = this.lookup('forloop');
    // One scope for the whole loop, as pongo2: a {% set %} in the body carries to the next turn.
    const s: Scope = new Map();
    // Over a traced map (`for k, v in config`): the value is that key's.
    const label = n.value !== undefined ? this.tr?.mapLabel(src) : undefined;
    this.scopes.push(s);
    try {
      for (const [i, [k, v]] of pairs.entries()) {
        if (label) this.tr!.bind(s, n.value!, label(toStr(k)));
        this.turn(n, s, parent, k, v, i, pairs.length, out);
      }
    } finally {
      this.scopes.pop();
    }
  }

  private turn(
    n: Extract<Node, { t: 'for' }>,
    s: Scope,
    parent: Value,
    k: Value,
    v: Value,
    i: number,
    count: number,
    out: string[],
  ): undefined {
    this.budget.step(n);
    const forloop: VMap = {
      Counter: i + 1,
      Counter0: i,
      Revcounter: count - i,
      Revcounter0: count - i - 1,
      First: i === 0,
      Last: i === count - 1,
      Parentloop: parent,
    };
    s.set('forloop', forloop);
    s.set(n.key, k);
    if (n.value !== undefined) s.set(n.value, v);
    this.render(n.body, out);
  }

  private macro(n: Extract<Node, { t: 'macro' }>): Fn {
    return new Fn(n.name, -1, (args) => {
      if (args.length > n.params.length)
        throw new TemplateError(`macro '${n.name}' takes at most ${n.params.length} arguments`, n);
      const s: Scope = new Map(n.params.map((p, i) => [p.name, args[i] ?? (p.dflt ? this.expr(p.dflt) : null)]));
      const out: string[] = [];
      this.scoped(n.body, out, s);
      return out.join('');
    });
  }

  private lookup(name: string): Value {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const s = this.scopes[i]!;
      if (s.has(name)) {
        this.tr?.used(s, name);
        return s.get(name)!;
      }
    }
    return null;
  }

  expr(e: Expr): Value {
    this.budget.step(e);
    switch (e.t) {
      case 'lit':
        return e.v;
      case 'var': {
        let v = this.lookup(e.name);
        for (const p of e.parts) {
          if (p.t === 'attr') {
            this.tr?.attr(v, p.key);
            v = attr(v, p.key);
          } else {
            if (!(v instanceof Fn)) throw new TemplateError(`'${e.name}' is not a function`, p);
            const [args, argKeys] = this.traced(() => p.args.map((a) => this.expr(a)));
            if (v.arity >= 0 && args.length !== v.arity)
              throw new TemplateError(`function '${v.name}' takes ${v.arity} arguments, ${args.length} given`, p);
            this.tr?.call(v, args, argKeys!);
            v = v.call(args);
          }
        }
        return v;
      }
      case 'filter': {
        const f = Object.hasOwn(FILTERS, e.name) ? FILTERS[e.name] : undefined;
        if (!f) throw new TemplateError(`filter '${e.name}' does not exist`, e);
        const v = f(this.expr(e.e), e.arg ? this.expr(e.arg) : null, e.arg !== undefined, (n) =>
          this.budget.value(n, e),
        );
        if (typeof v === 'string') this.budget.value(v.length, e);
        return v;
      }
      case 'un': {
        const v = this.expr(e.e);
        if (e.op === 'not') return !truthy(v);
        if (e.op === '+') return isFloat(v) ? v : toInt(v);
        return isFloat(v) ? new Float(-v.v) : -toInt(v);
      }
      case 'bin':
        return this.binary(e);
    }
  }

  private binary(e: Extract<Expr, { t: 'bin' }>): Value {
    if (e.op === 'and') return truthy(this.expr(e.l)) ? truthy(this.expr(e.r)) : false;
    if (e.op === 'or') return truthy(this.expr(e.l)) ? true : truthy(this.expr(e.r));
    const l = this.expr(e.l);
    const r = this.expr(e.r);
    const fl = isFloat(l) || isFloat(r);
    switch (e.op) {
      case '==':
        return equal(l, r);
      case '!=':
        return !equal(l, r);
      case '<':
        return fl ? toFloat(l) < toFloat(r) : toInt(l) < toInt(r);
      case '>':
        return fl ? toFloat(l) > toFloat(r) : toInt(l) > toInt(r);
      case '<=':
        return fl ? toFloat(l) <= toFloat(r) : toInt(l) <= toInt(r);
      case '>=':
        return fl ? toFloat(l) >= toFloat(r) : toInt(l) >= toInt(r);
      case 'in':
        return contains(r, l);
      case 'not in':
        return !contains(r, l);
      case '+':
        return fl ? new Float(toFloat(l) + toFloat(r)) : toInt(l) + toInt(r);
      case '-':
        return fl ? new Float(toFloat(l) - toFloat(r)) : toInt(l) - toInt(r);
      case '*':
        return fl ? new Float(toFloat(l) * toFloat(r)) : toInt(l) * toInt(r);
      case '^':
        return new Float(toFloat(l) ** toFloat(r));
      default: {
        if (fl && e.op === '/') return new Float(toFloat(l) / toFloat(r));
        const d = toInt(r);
        if (d === 0) throw new TemplateError('integer division by zero', e);
        return e.op === '/' ? Math.trunc(toInt(l) / d) : toInt(l) % d;
      }
    }
  }
}
