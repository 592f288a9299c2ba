// One entry point: source + context -> output, or a TemplateError naming image, template, line
// and column. Autoescape is off, as LXD renders image templates inside `{% autoescape off %}`.
import { Budget, DEFAULT_LIMITS, type Limits } from './budget.ts';
import { TemplateError } from './errors.ts';
import { Evaluator } from './evaluator.ts';
import { lex } from './lexer.ts';
import { parse } from './parser.ts';
import type { VMap } from './values.ts';

export interface RenderOptions {
  readonly image?: string;
  readonly template?: string;
  readonly limits?: Limits;
}

export function renderString(source: string, context: VMap, opts: RenderOptions = {}): string {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  try {
    if (source.length > limits.maxSource)
      throw new TemplateError(`template too large: more than ${limits.maxSource} characters`, { line: 1, col: 1 });
    const tree = parse(lex(source));
    const out: string[] = [];
    new Evaluator(context, new Budget(limits), false).render(tree, out);
    return out.join('');
  } catch (e) {
    if (e instanceof TemplateError) throw e.withOrigin(opts);
    if (e instanceof RangeError)
      throw new TemplateError(`template too complex (${e.message})`, { line: 1, col: 1 }, opts);
    throw e;
  }
}
