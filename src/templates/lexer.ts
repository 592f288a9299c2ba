// pongo2's lexer: text, `{{ }}` and `{% %}` blocks (each tokenized), `{# #}` comments dropped,
// `{% verbatim %}` bodies kept raw, `{{-`/`-}}`/`{%-`/`-%}` trimming the whitespace beside them
// (no other trimming: a tag alone on its line leaves its newline, as pongo2 does by default).
import { TemplateError, type Where } from './errors.ts';

export type TokKind = 'name' | 'keyword' | 'number' | 'string' | 'symbol';
export interface Tok extends Where {
  readonly kind: TokKind;
  readonly value: string;
}
export type Chunk =
  | ({ readonly kind: 'text'; value: string } & Where)
  | ({ readonly kind: 'var'; readonly toks: Tok[] } & Where)
  | ({ readonly kind: 'tag'; readonly name: string; readonly toks: Tok[] } & Where);

const KEYWORDS = new Set(['in', 'and', 'or', 'not', 'true', 'false', 'as', 'export']);
// Longest first, as pongo2 matches them; no `[`, `~` or `?`: those fail as in LXD.
const SYMBOLS = ['==', '!=', '<>', '<=', '>=', '&&', '||', '!', '(', ')', '+', '-', '*', '<', '>', '/', '^', ',', '.'];
const SYMBOLS2 = ['|', ':', '=', '%'];

export function lex(src: string): Chunk[] {
  const out: Chunk[] = [];
  let i = 0;
  let line = 1;
  let col = 1;
  const advance = (n: number): void => {
    for (let k = 0; k < n; k++) {
      if (src[i] === '\n') {
        line++;
        col = 1;
      } else col++;
      i++;
    }
  };
  let trimNext = false;
  const pushText = (value: string, at: Where): void => {
    const v = trimNext ? value.replace(/^\s+/, '') : value;
    trimNext = false;
    if (v) out.push({ kind: 'text', value: v, ...at });
  };
  const trimPrev = (): void => {
    const last = out[out.length - 1];
    if (last?.kind === 'text') {
      last.value = last.value.replace(/\s+$/, '');
      if (!last.value) out.pop();
    }
  };
  while (i < src.length) {
    const open = nextOpen(src, i);
    if (open < 0) {
      pushText(src.slice(i), { line, col });
      advance(src.length - i);
      break;
    }
    if (open > i) {
      const at = { line, col };
      const text = src.slice(i, open);
      advance(open - i);
      pushText(text, at);
    }
    const at = { line, col };
    const kind = src[i + 1];
    if (kind === '#') {
      const end = src.indexOf('#}', i + 2);
      if (end < 0) throw new TemplateError('comment not closed ("#}" missing)', at);
      trimNext = false;
      advance(end + 2 - i);
      continue;
    }
    const trimL = src[i + 2] === '-';
    if (trimL) trimPrev();
    advance(trimL ? 3 : 2);
    const close = kind === '{' ? '}}' : '%}';
    const { toks, trimR } = tagTokens(
      src,
      close,
      () => i,
      advance,
      () => ({ line, col }),
      at,
    );
    if (kind === '{') out.push({ kind: 'var', toks, ...at });
    else {
      const head = toks[0];
      if (head?.kind !== 'name') throw new TemplateError('tag name expected after "{%"', at);
      out.push({ kind: 'tag', name: head.value, toks: toks.slice(1), ...at });
      if (head.value === 'verbatim') {
        trimNext = trimR;
        const m = /\{%-?\s*endverbatim\s*-?%\}/.exec(src.slice(i));
        if (!m) throw new TemplateError('verbatim not closed ("{% endverbatim %}" missing)', at);
        pushText(src.slice(i, i + m.index), { line, col });
        advance(m.index);
        continue;
      }
    }
    trimNext = trimR;
  }
  return out;
}

function nextOpen(src: string, from: number): number {
  for (let j = src.indexOf('{', from); j >= 0; j = src.indexOf('{', j + 1)) {
    const c = src[j + 1];
    if (c === '{' || c === '%' || c === '#') return j;
  }
  return -1;
}

function tagTokens(
  src: string,
  close: string,
  pos: () => number,
  advance: (n: number) => void,
  here: () => Where,
  start: Where,
): { toks: Tok[]; trimR: boolean } {
  const toks: Tok[] = [];
  for (;;) {
    const i = pos();
    if (i >= src.length) throw new TemplateError(`"${close}" expected before the end of the template`, start);
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      advance(1);
      continue;
    }
    if (src.startsWith(close, i)) {
      advance(2);
      return { toks, trimR: false };
    }
    if (c === '-' && src.startsWith(close, i + 1)) {
      advance(3);
      return { toks, trimR: true };
    }
    const at = here();
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i, i + 256))!;
      toks.push({ kind: KEYWORDS.has(m[0]) ? 'keyword' : 'name', value: m[0], ...at });
      advance(m[0].length);
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?/.exec(src.slice(i, i + 64))!;
      toks.push({ kind: 'number', value: m[0], ...at });
      advance(m[0].length);
    } else if (c === '"' || c === "'") {
      toks.push({ kind: 'string', value: stringAt(src, i, at), ...at });
      advance(rawStringLength(src, i));
    } else {
      const sym = [...SYMBOLS, ...SYMBOLS2].find((s) => src.startsWith(s, i));
      if (!sym) throw new TemplateError(`unknown character ${JSON.stringify(c)}`, at);
      toks.push({ kind: 'symbol', value: sym, ...at });
      advance(sym.length);
    }
  }
}

function rawStringLength(src: string, i: number): number {
  const q = src[i];
  let j = i + 1;
  while (src[j] !== q) j += src[j] === '\\' ? 2 : 1;
  return j + 1 - i;
}

/** A string literal's value: only `\"` and `\\` escapes, no newline inside (as pongo2). */
function stringAt(src: string, i: number, at: Where): string {
  const q = src[i];
  let out = '';
  for (let j = i + 1; ; j++) {
    const c = src[j];
    if (c === undefined) throw new TemplateError('string not closed', at);
    if (c === '\n') throw new TemplateError('newline in a string literal is not allowed', at);
    if (c === q) return out;
    if (c === '\\') {
      const n = src[j + 1];
      if (n !== '"' && n !== '\\') throw new TemplateError(`unknown escape sequence \\${n ?? ''}`, at);
      out += n;
      j++;
    } else out += c;
  }
}
