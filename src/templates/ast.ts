// The template AST the parser builds and the evaluator walks (never compiled to code).
import type { Where } from './errors.ts';
import type { Value } from './values.ts';

export type Expr = Where &
  (
    | { readonly t: 'lit'; readonly v: Value }
    | { readonly t: 'var'; readonly name: string; readonly parts: readonly Part[] }
    | { readonly t: 'filter'; readonly e: Expr; readonly name: string; readonly arg: Expr | undefined }
    | { readonly t: 'un'; readonly op: 'not' | '-' | '+'; readonly e: Expr }
    | { readonly t: 'bin'; readonly op: string; readonly l: Expr; readonly r: Expr }
  );

/** `.attr`, `.0`, or a call `(args)` after a variable. */
export type Part =
  | { readonly t: 'attr'; readonly key: string }
  | ({ readonly t: 'call'; readonly args: readonly Expr[] } & Where);

export type Node = Where &
  (
    | { readonly t: 'text'; readonly value: string }
    | { readonly t: 'out'; readonly e: Expr }
    | { readonly t: 'if'; readonly branches: readonly { cond: Expr; body: Node[] }[]; readonly orElse: Node[] }
    | {
        readonly t: 'for';
        readonly key: string;
        readonly value: string | undefined;
        readonly e: Expr;
        readonly sorted: boolean;
        readonly reversed: boolean;
        readonly body: Node[];
        readonly empty: Node[];
      }
    | { readonly t: 'set'; readonly name: string; readonly e: Expr }
    | { readonly t: 'with'; readonly binds: readonly { name: string; e: Expr }[]; readonly body: Node[] }
    | { readonly t: 'firstof'; readonly es: readonly Expr[] }
    | { readonly t: 'autoescape'; readonly on: boolean; readonly body: Node[] }
    | {
        readonly t: 'macro';
        readonly name: string;
        readonly params: readonly { name: string; dflt: Expr | undefined }[];
        readonly body: Node[];
      }
  );
