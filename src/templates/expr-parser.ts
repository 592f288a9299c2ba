// Expressions inside `{{ }}` and tags, with pongo2's grammar and precedence: `and`/`or` (also
// `&&`/`||`) at one level, right-associative; then one relational operator (== != <> < > <= >=,
// in, not in); then `not`/`!` and a sign over a sum of terms; * / %; ^; a parenthesised
// expression or a literal/variable with filters (`|name` or `|name:arg`).
import type { Expr, Part } from './ast.ts';
import { TemplateError, type Where } from './errors.ts';
import type { Tok } from './lexer.ts';
import { Float } from './values.ts';

export const MAX_EXPR_DEPTH = 64;

export class Toks {
  private i = 0;
  readonly toks: readonly Tok[];
  readonly end: Where;
  constructor(toks: readonly Tok[], end: Where) {
    this.toks = toks;
    this.end = end;
  }
  peek(kind?: Tok['kind'], ...values: string[]): Tok | undefined {
    const t = this.toks[this.i];
    if (!t || (kind && t.kind !== kind) || (values.length && !values.includes(t.value))) return undefined;
    return t;
  }
  take(kind?: Tok['kind'], ...values: string[]): Tok | undefined {
    const t = this.peek(kind, ...values);
    if (t) this.i++;
    return t;
  }
  expect(kind: Tok['kind'], what: string, ...values: string[]): Tok {
    const t = this.take(kind, ...values);
    if (!t) throw new TemplateError(`${what} expected${this.here()}`, this.where());
    return t;
  }
  where(): Where {
    return this.toks[this.i] ?? this.end;
  }
  here(): string {
    const t = this.toks[this.i];
    return t ? `, found ${JSON.stringify(t.value)}` : ', found the end of the tag';
  }
  done(): boolean {
    return this.i >= this.toks.length;
  }
  mustEnd(): void {
    if (!this.done()) throw new TemplateError(`unexpected ${JSON.stringify(this.toks[this.i]!.value)}`, this.where());
  }
}

export function parseExpr(ts: Toks, depth = 0): Expr {
  if (depth > MAX_EXPR_DEPTH)
    throw new TemplateError(`expression nested too deeply (limit ${MAX_EXPR_DEPTH})`, ts.where());
  const l = relational(ts, depth);
  const op = ts.take('symbol', '&&', '||') ?? ts.take('keyword', 'and', 'or');
  if (!op) return l;
  const name = op.value === '&&' ? 'and' : op.value === '||' ? 'or' : op.value;
  return { t: 'bin', op: name, l, r: parseExpr(ts, depth + 1), line: op.line, col: op.col };
}

function relational(ts: Toks, depth: number): Expr {
  const l = simple(ts, depth);
  const op = ts.take('symbol', '==', '!=', '<>', '<', '>', '<=', '>=');
  if (op) return { t: 'bin', op: op.value === '<>' ? '!=' : op.value, l, r: simple(ts, depth), ...at(op) };
  const not = ts.peek('keyword', 'not');
  if (not && ts.toks[ts.toks.indexOf(not) + 1]?.value === 'in') {
    ts.take();
    ts.take();
    return { t: 'bin', op: 'not in', l, r: simple(ts, depth), ...at(not) };
  }
  const inn = ts.take('keyword', 'in');
  if (inn) return { t: 'bin', op: 'in', l, r: simple(ts, depth), ...at(inn) };
  return l;
}

const at = (w: Where): Where => ({ line: w.line, col: w.col });

function simple(ts: Toks, depth: number): Expr {
  const neg = ts.take('symbol', '!') ?? ts.take('keyword', 'not');
  const sign = ts.take('symbol', '+', '-');
  let e = term(ts, depth);
  if (sign) e = { t: 'un', op: sign.value as '-' | '+', e, ...at(sign) };
  for (let op = ts.take('symbol', '+', '-'); op; op = ts.take('symbol', '+', '-'))
    e = { t: 'bin', op: op.value, l: e, r: term(ts, depth), ...at(op) };
  return neg ? { t: 'un', op: 'not', e, ...at(neg) } : e;
}

function term(ts: Toks, depth: number): Expr {
  let e = power(ts, depth);
  for (let op = ts.take('symbol', '*', '/', '%'); op; op = ts.take('symbol', '*', '/', '%'))
    e = { t: 'bin', op: op.value, l: e, r: power(ts, depth), ...at(op) };
  return e;
}

function power(ts: Toks, depth: number): Expr {
  const l = factor(ts, depth);
  const op = ts.take('symbol', '^');
  return op ? { t: 'bin', op: '^', l, r: power(ts, depth + 1), ...at(op) } : l;
}

function factor(ts: Toks, depth: number): Expr {
  const paren = ts.take('symbol', '(');
  if (paren) {
    const e = parseExpr(ts, depth + 1);
    ts.expect('symbol', '")"', ')');
    return e;
  }
  let e = operand(ts, depth);
  while (ts.take('symbol', '|')) {
    const name = ts.expect('name', 'filter name after "|"');
    const arg = ts.take('symbol', ':') ? operand(ts, depth) : undefined;
    e = { t: 'filter', e, name: name.value, arg, ...at(name) };
  }
  return e;
}

/** A literal or a variable (`a.b.0`, calls `f(x, y)` anywhere along it). */
export function operand(ts: Toks, depth: number): Expr {
  const t = ts.take();
  if (!t) throw new TemplateError('a value was expected, found the end of the tag', ts.end);
  if (t.kind === 'number') {
    const v = t.value.includes('.') ? new Float(Number(t.value)) : Number(t.value);
    if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new TemplateError('integer too large', t);
    return { t: 'lit', v, ...at(t) };
  }
  if (t.kind === 'string') return { t: 'lit', v: t.value, ...at(t) };
  if (t.kind === 'keyword' && (t.value === 'true' || t.value === 'false'))
    return { t: 'lit', v: t.value === 'true', ...at(t) };
  if (t.kind !== 'name') throw new TemplateError(`a value was expected, found ${JSON.stringify(t.value)}`, t);
  const parts: Part[] = [];
  for (;;) {
    if (ts.take('symbol', '.')) {
      const k = ts.take('name') ?? ts.take('number') ?? ts.take('keyword');
      if (!k || k.value.includes('.'))
        throw new TemplateError(`attribute name expected after "."${ts.here()}`, ts.where());
      parts.push({ t: 'attr', key: k.value });
    } else if (ts.peek('symbol', '(')) {
      const open = ts.take()!;
      const args: Expr[] = [];
      if (!ts.take('symbol', ')')) {
        do args.push(parseExpr(ts, depth + 1));
        while (ts.take('symbol', ','));
        ts.expect('symbol', '")" or ","', ')');
      }
      parts.push({ t: 'call', args, ...at(open) });
    } else break;
  }
  return { t: 'var', name: t.value, parts, ...at(t) };
}
