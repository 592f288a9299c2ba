// The ONE place admin-side errors become HTTP: {"error": {"code", "message", ...fields}}.
import { isGuestgateError, type ErrorCode } from '../errors.ts';

const STATUS: Partial<Record<ErrorCode, number>> = {
  E_BAD_REQUEST: 400,
  E_INVENTORY: 400,
  E_CONFIG: 400,
  E_INVALID_STATE: 400,
  E_FORBIDDEN: 403,
  E_NOT_FOUND: 404,
  E_IMAGE_NOT_FOUND: 404,
  E_PROJECT_NOT_FOUND: 404,
  E_BAD_FINGERPRINT: 400,
  E_IMAGE_AMBIGUOUS: 409,
  E_INTEGRITY: 422,
  E_METHOD_NOT_ALLOWED: 405,
  E_TIMEOUT: 408,
  E_CONFLICT: 409,
  E_TOO_LARGE: 413,
  E_TEMPLATE: 422,
  E_METHOD_NOT_IMPLEMENTED: 501,
  E_UPSTREAM: 502,
  E_UNAVAILABLE: 503,
  E_CLOSED: 503,
};

export interface AdminWireError {
  readonly status: number;
  readonly body: { error: Record<string, unknown> };
}

export function toAdminError(e: unknown): AdminWireError {
  if (isGuestgateError(e)) {
    const status = STATUS[e.code] ?? 500;
    return { status, body: { error: { code: e.code, message: e.message, ...e.fields } } };
  }
  return { status: 500, body: { error: { code: 'E_INTERNAL', message: 'internal error' } } };
}
