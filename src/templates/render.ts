// One entry point: source + context -> output, or a TemplateError naming image, template, line
// and column. Autoescape is off, as LXD renders image templates inside `{% autoescape off %}`.
// renderTraced gives the same output plus, per line, the context keys behind it (trace.ts).
import { Budget, DEFAULT_LIMITS, type Limits } from './budget.ts';
import { TemplateError } from './errors.ts';
import { Evaluator } from './evaluator.ts';
import { lex } from './lexer.ts';
import { parse } from './parser.ts';
import { type LineKeys, Tracer, type TraceRoots } from './trace.ts';
import type { VMap } from './values.ts';

export interface RenderOptions {
  readonly image?: string;
  readonly template?: string;
  readonly limits?: Limits;
}

export interface TracedOutput {
  readonly output: string;
  readonly lines: LineKeys[];
}

function run(source: string, context: VMap, opts: RenderOptions, roots?: TraceRoots): TracedOutput {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  try {
    if (source.length > limits.maxSource)
      throw new TemplateError(`template too large: more than ${limits.maxSource} characters`, { line: 1, col: 1 });
    const tree = parse(lex(source));
    const out: string[] = [];
    const tracer = roots ? new Tracer(roots, out) : undefined;
    new Evaluator(context, new Budget(limits), false, tracer).render(tree, out);
    const output = out.join('');
    return { output, lines: tracer ? tracer.lines(output) : [] };
  } catch (e) {
    if (e instanceof TemplateError) throw e.withOrigin(opts);
    if (e instanceof RangeError)
      throw new TemplateError(`template too complex (${e.message})`, { line: 1, col: 1 }, opts);
    throw e;
  }
}

export const renderString = (source: string, context: VMap, opts: RenderOptions = {}): string =>
  run(source, context, opts).output;

/** renderString's output, and per line the keys (as `roots` names them) that produced it. */
export const renderTraced = (
  source: string,
  context: VMap,
  roots: TraceRoots,
  opts: RenderOptions = {},
): TracedOutput => run(source, context, opts, roots);
