// THE place where NoCloud errors become HTTP: "<status> <Status Text>: <why>" as plain text, so an
// operator reading cloud-init's log sees the reason; 405 carries Allow.
import { STATUS_CODES } from 'node:http';
import { isGuestgateError, type ErrorCode } from '../errors.ts';

export interface NoCloudWireError {
  readonly status: number;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  E_BAD_REQUEST: 400,
  E_FORBIDDEN: 403,
  E_NOT_FOUND: 404,
  E_METHOD_NOT_ALLOWED: 405,
};

export function toNoCloudError(e: unknown): NoCloudWireError {
  const status = (isGuestgateError(e) && STATUS[e.code]) || 500;
  const title = `${status} ${STATUS_CODES[status]}`;
  if (status === 405) return { status, body: `${title}\n`, headers: { Allow: 'GET, HEAD' } };
  if (status === 500) return { status, body: `${title}\n`, headers: {} };
  return { status, body: `${title}: ${(e as Error).message}\n`, headers: {} };
}
