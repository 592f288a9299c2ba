// Chunks -> statement tree. Tags: if/elif/else, for (with empty, reversed, sorted), set, with,
// firstof, autoescape, comment, verbatim, macro. File-reaching tags (include, extends, import,
// ssi) and anything unknown are refused, as LXD 5.0.2 refuses them; nesting is bounded.
import type { Expr, Node } from './ast.ts';
import { TemplateError, type Where } from './errors.ts';
import { parseExpr, Toks } from './expr-parser.ts';
import type { Chunk } from './lexer.ts';

export const MAX_NESTING = 64;
const FILE_TAGS = new Set(['include', 'extends', 'import', 'ssi']);

export function parse(chunks: readonly Chunk[]): Node[] {
  const p = new Parser(chunks);
  const { body, stop } = p.block([], 0);
  if (stop) throw new TemplateError(`unexpected {% ${stop.name} %}`, stop);
  return body;
}

type TagChunk = Extract<Chunk, { kind: 'tag' }>;

class Parser {
  private i = 0;
  private readonly chunks: readonly Chunk[];
  constructor(chunks: readonly Chunk[]) {
    this.chunks = chunks;
  }

  /** Nodes until one of `stops` (returned, consumed) or the end (stop undefined). */
  block(stops: readonly string[], depth: number, opener?: TagChunk): { body: Node[]; stop?: TagChunk } {
    if (depth > MAX_NESTING) throw new TemplateError(`blocks nested too deeply (limit ${MAX_NESTING})`, opener!);
    const body: Node[] = [];
    while (this.i < this.chunks.length) {
      const c = this.chunks[this.i++]!;
      if (c.kind === 'text') body.push({ t: 'text', value: c.value, line: c.line, col: c.col });
      else if (c.kind === 'var') body.push({ t: 'out', e: whole(c.toks, c), line: c.line, col: c.col });
      else if (stops.includes(c.name)) return { body, stop: c };
      else {
        const n = this.tag(c, depth);
        if (n) body.push(n);
      }
    }
    if (opener) throw new TemplateError(`{% ${opener.name} %} not closed ({% ${stops.at(-1)} %} missing)`, opener);
    return { body };
  }

  private tag(c: TagChunk, depth: number): Node | undefined {
    const w = { line: c.line, col: c.col };
    const ts = new Toks(c.toks, c);
    switch (c.name) {
      case 'if':
        return this.ifTag(c, depth);
      case 'for':
        return this.forTag(c, ts, depth);
      case 'set': {
        const name = ts.expect('name', 'variable name').value;
        ts.expect('symbol', '"="', '=');
        const e = parseExpr(ts);
        ts.mustEnd();
        return { t: 'set', name, e, ...w };
      }
      case 'with': {
        const binds: { name: string; e: Expr }[] = [];
        const first = ts.toks[1];
        if (first?.value === '=') {
          while (!ts.done()) {
            const name = ts.expect('name', 'variable name').value;
            ts.expect('symbol', '"="', '=');
            binds.push({ name, e: parseExpr(ts) });
          }
        } else {
          const e = parseExpr(ts);
          ts.expect('keyword', '"as"', 'as');
          binds.push({ name: ts.expect('name', 'variable name').value, e });
          ts.mustEnd();
        }
        return { t: 'with', binds, body: this.block(['endwith'], depth + 1, c).body, ...w };
      }
      case 'firstof': {
        const es: Expr[] = [];
        while (!ts.done()) es.push(parseExpr(ts));
        return { t: 'firstof', es, ...w };
      }
      case 'autoescape': {
        const mode = ts.expect('name', '"on" or "off"', 'on', 'off').value;
        ts.mustEnd();
        return { t: 'autoescape', on: mode === 'on', body: this.block(['endautoescape'], depth + 1, c).body, ...w };
      }
      case 'comment':
        this.block(['endcomment'], depth + 1, c);
        return undefined;
      case 'verbatim': {
        const text = this.chunks[this.i]?.kind === 'text' ? (this.chunks[this.i++] as { value: string }).value : '';
        const end = this.chunks[this.i++];
        if (end?.kind !== 'tag' || end.name !== 'endverbatim')
          throw new TemplateError('{% verbatim %} not closed ({% endverbatim %} missing)', c);
        return { t: 'text', value: text, ...w };
      }
      case 'macro':
        return this.macroTag(c, ts, depth);
      default:
        if (/^(end|elif$|else$|empty$)/.test(c.name)) throw new TemplateError(`unexpected {% ${c.name} %}`, c);
        if (FILE_TAGS.has(c.name))
          throw new TemplateError(`tag '${c.name}' is not allowed: templates have no file access`, c);
        throw new TemplateError(`tag '${c.name}' does not exist`, c);
    }
  }

  private ifTag(c: TagChunk, depth: number): Node {
    const branches: { cond: Expr; body: Node[] }[] = [];
    let cond = whole(c.toks, c);
    let orElse: Node[] = [];
    for (;;) {
      const { body, stop } = this.block(['elif', 'else', 'endif'], depth + 1, c);
      branches.push({ cond, body });
      if (stop!.name === 'elif') cond = whole(stop!.toks, stop!);
      else {
        if (stop!.name === 'else') orElse = this.block(['endif'], depth + 1, c).body;
        return { t: 'if', branches, orElse, line: c.line, col: c.col };
      }
    }
  }

  private forTag(c: TagChunk, ts: Toks, depth: number): Node {
    const key = ts.expect('name', 'loop variable').value;
    const value = ts.take('symbol', ',') ? ts.expect('name', 'second loop variable').value : undefined;
    ts.expect('keyword', '"in"', 'in');
    const e = parseExpr(ts);
    let reversed = false;
    let sorted = false;
    for (let m = ts.take('name', 'reversed', 'sorted'); m; m = ts.take('name', 'reversed', 'sorted')) {
      if (m.value === 'reversed') reversed = true;
      else sorted = true;
    }
    ts.mustEnd();
    const first = this.block(['empty', 'endfor'], depth + 1, c);
    const empty = first.stop!.name === 'empty' ? this.block(['endfor'], depth + 1, c).body : [];
    return { t: 'for', key, value, e, reversed, sorted, body: first.body, empty, line: c.line, col: c.col };
  }

  private macroTag(c: TagChunk, ts: Toks, depth: number): Node {
    const name = ts.expect('name', 'macro name').value;
    ts.expect('symbol', '"("', '(');
    const params: { name: string; dflt: Expr | undefined }[] = [];
    if (!ts.take('symbol', ')')) {
      do {
        const p = ts.expect('name', 'parameter name').value;
        params.push({ name: p, dflt: ts.take('symbol', '=') ? parseExpr(ts) : undefined });
      } while (ts.take('symbol', ','));
      ts.expect('symbol', '")"', ')');
    }
    ts.take('keyword', 'export');
    ts.mustEnd();
    return { t: 'macro', name, params, body: this.block(['endmacro'], depth + 1, c).body, line: c.line, col: c.col };
  }
}

/** An expression filling a whole `{{ }}` or tag. */
function whole(toks: Chunk extends never ? never : Extract<Chunk, { toks: unknown }>['toks'], w: Where): Expr {
  const ts = new Toks(toks, w);
  if (ts.done()) throw new TemplateError('empty expression', w);
  const e = parseExpr(ts);
  ts.mustEnd();
  return e;
}
