// Walks the AST with pongo2's semantics; every node, expression and loop turn costs a step, and
// output and string values are size-bounded, so a hostile template ends with a TemplateError
// in bounded time. No I/O, no code generation: the only callables are those in the context.
import type { Expr, Node } from './ast.ts';
import type { Budget } from './budget.ts';
import { TemplateError, type Where } from './errors.ts';
import { escapeHtml, FILTERS } from './filters.ts';
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
  constructor(context: VMap, budget: Budget, autoescape: boolean) {
    this.scopes = [new Map(Object.entries(context))];
    this.budget = budget;
    this.autoescape = autoescape;
  }

  render(nodes: readonly Node[], out: string[]): undefined {
    for (const n of nodes) this.node(n, out);
  }

  private emit(s: string, w: Where, out: string[]): undefined {
    this.budget.output(s.length, w);
    out.push(s);
  }

  private node(n: Node, out: string[]): undefined {
    this.budget.step(n);
    switch (n.t) {
      case 'text':
        return this.emit(n.value, n, out);
      case 'out': {
        const v = toStr(this.expr(n.e));
        const raw = n.e.t === 'filter' && (n.e.name === 'safe' || n.e.name === 'escape' || n.e.name === 'e');
        return this.emit(this.autoescape && !raw ? escapeHtml(v) : v, n, out);
      }
      case 'if': {
        for (const b of n.branches) if (truthy(this.expr(b.cond))) return this.scoped(b.body, out);
        return this.scoped(n.orElse, out);
      }
      case 'for':
        return this.forLoop(n, out);
      case 'set':
        this.scopes.at(-1)!.set(n.name, this.expr(n.e));
        return;
      case 'with': {
        const s: Scope = new Map(n.binds.map((b) => [b.name, this.expr(b.e)]));
        return this.scoped(n.body, out, s);
      }
      case 'firstof': {
        for (const e of n.es) {
          const v = this.expr(e);
          if (truthy(v)) return this.emit(this.autoescape ? escapeHtml(toStr(v)) : toStr(v), n, out);
        }
        return;
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
    const src = this.expr(n.e);
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
    this.scopes.push(s);
    try {
      for (const [i, [k, v]] of pairs.entries()) this.turn(n, s, parent, k, v, i, pairs.length, out);
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
    {
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
      if (s.has(name)) return s.get(name)!;
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
          if (p.t === 'attr') v = attr(v, p.key);
          else {
            if (!(v instanceof Fn)) throw new TemplateError(`'${e.name}' is not a function`, p);
            const args = p.args.map((a) => this.expr(a));
            if (v.arity >= 0 && args.length !== v.arity)
              throw new TemplateError(`function '${v.name}' takes ${v.arity} arguments, ${args.length} given`, p);
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
