// Template errors: one stable code (E_TEMPLATE), naming the image, the template, the line and column.
import { GuestgateError } from '../errors.ts';

export interface Where {
  readonly line: number;
  readonly col: number;
}

/** Raised by the lexer, parser and evaluator; `origin` (the set, e.g. "image <fp>", and the template) is filled in by the caller. */
export class TemplateError extends GuestgateError {
  readonly line: number;
  readonly col: number;
  readonly problem: string;
  readonly image: string;
  readonly template: string;
  constructor(problem: string, where: Where, origin: { image?: string; template?: string } = {}) {
    const image = origin.image ?? '';
    const template = origin.template ?? '';
    const head = [image, template && `template ${template}`].filter(Boolean).join(', ');
    super('E_TEMPLATE', `${head ? `${head}: ` : ''}line ${where.line}, column ${where.col}: ${problem}`, {
      image,
      template,
      line: where.line,
      column: where.col,
      problem,
    });
    this.name = 'TemplateError';
    this.line = where.line;
    this.col = where.col;
    this.problem = problem;
    this.image = image;
    this.template = template;
  }

  /** The same error, now naming where the template came from. */
  withOrigin(origin: { image?: string; template?: string }): TemplateError {
    return new TemplateError(this.problem, this, { image: this.image || origin.image, template: origin.template });
  }
}
