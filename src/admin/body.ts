// Request bodies for the admin API: size-capped (413 before reading when Content-Length says so),
// JSON or YAML by Content-Type. YAML goes through the same loader as the inventory files.
import type { IncomingMessage } from 'node:http';
import yaml from 'js-yaml';
import { FileValueError, GuestgateError } from '../errors.ts';
import { BODY } from './instances.ts';

export async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const tooLarge = (): GuestgateError =>
    new GuestgateError('E_TOO_LARGE', `${BODY} larger than ${limit} bytes`, { limit });
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export const isYaml = (contentType: string | undefined): boolean => /\b(yaml|x-yaml)\b/i.test(contentType ?? '');

/** Parse a body as JSON, or YAML when the Content-Type says so. */
export function parseBody(text: string, contentType: string | undefined): unknown {
  if (isYaml(contentType)) {
    try {
      return yaml.load(text, { filename: BODY, schema: yaml.CORE_SCHEMA }) ?? null;
    } catch (e) {
      const y = e as { reason?: string; mark?: { line: number; column: number } };
      const where = y.mark ? ` (line ${y.mark.line + 1}, column ${y.mark.column + 1})` : '';
      throw new FileValueError('E_INVENTORY', BODY, '', `invalid YAML: ${y.reason ?? (e as Error).message}${where}`);
    }
  }
  if (text.trim() === '')
    throw new GuestgateError(
      'E_BAD_REQUEST',
      `${BODY}: empty (expected JSON, or YAML with Content-Type: application/yaml)`,
    );
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new GuestgateError('E_BAD_REQUEST', `${BODY}: invalid JSON: ${(e as Error).message}`);
  }
}
