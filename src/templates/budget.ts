// Limits for untrusted templates: source size, evaluation steps, output and value size.
import { TemplateError, type Where } from './errors.ts';

export interface Limits {
  /** Largest template source, in characters. */
  readonly maxSource: number;
  /** Evaluation steps (nodes, expressions, loop turns) per rendering. */
  readonly maxSteps: number;
  /** Largest output (and largest string value), in characters. */
  readonly maxOutput: number;
}

export const DEFAULT_LIMITS: Limits = { maxSource: 1 << 20, maxSteps: 1_000_000, maxOutput: 4 << 20 };

export class Budget {
  private steps = 0;
  private out = 0;
  readonly limits: Limits;
  constructor(limits: Limits) {
    this.limits = limits;
  }
  step(w: Where): void {
    if (++this.steps > this.limits.maxSteps)
      throw new TemplateError(`template too costly: more than ${this.limits.maxSteps} evaluation steps`, w);
  }
  output(n: number, w: Where): void {
    this.out += n;
    if (this.out > this.limits.maxOutput)
      throw new TemplateError(`template output too large: more than ${this.limits.maxOutput} characters`, w);
  }
  value(n: number, w: Where): void {
    if (n > this.limits.maxOutput)
      throw new TemplateError(`value too large: more than ${this.limits.maxOutput} characters`, w);
  }
}
