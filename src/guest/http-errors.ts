// THE place where error codes become guest-visible HTTP, per dialect. Two formats exist:
// Go's http.Error text (most endpoints) and the main-API JSON envelope (image export).
import { STATUS_CODES } from 'node:http';
import { isGuestgateError } from '../errors.ts';
import { goJson } from '../util/gojson.ts';
import type { Dialect } from './dialects.ts';

export interface WireError {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  /** Extra response headers (Retry-After on 429). */
  readonly headers?: Readonly<Record<string, string>>;
}

const GO_TEXT = 'text/plain; charset=utf-8';

/** Go's http.Error: text/plain, nosniff, message + LF. */
export const goTextError = (status: number, message: string): WireError => ({
  status,
  contentType: GO_TEXT,
  body: `${message}\n`,
});

/** The main API's error envelope, followed by two LFs (encoder LF + writer LF); HTML-escaped. */
export const envelopeError = (status: number, message: string): WireError => ({
  status,
  contentType: 'application/json',
  body: `${goJson({ type: 'error', status: '', status_code: 0, operation: '', error_code: status, error: message, metadata: null }, { escapeHTML: true })}\n`,
});

export const NOT_FOUND_PAGE = goTextError(404, '404 page not found');

/** A whole HTTP/1.1 response for a socket taken over before Koa (websocket upgrades), like Go's http.Error. */
export const rawResponse = (w: WireError): string =>
  `HTTP/1.1 ${w.status} ${STATUS_CODES[w.status] ?? 'Error'}\r\nContent-Type: ${w.contentType}\r\nX-Content-Type-Options: nosniff\r\nContent-Length: ${Buffer.byteLength(w.body)}\r\nConnection: close\r\n\r\n${w.body}`;

/** What Go's net/http answers to a request it cannot parse (no handler runs). */
export const MALFORMED_REQUEST =
  'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request';

/** Text of a bad PATCH body: the decoder's own words, prefixed by dialects that prefix them. */
function badBodyText(e: { fields: Readonly<Record<string, unknown>> }, d: Dialect): string | undefined {
  const { decodeError, maxBytes } = e.fields;
  if (typeof maxBytes === 'number') return `Invalid request body: larger than ${maxBytes} bytes`;
  if (typeof decodeError !== 'string') return undefined;
  return d.patchDecodeError === 'prefixed' ? `Invalid request body: ${decodeError}` : decodeError;
}

export function toWireError(e: unknown, d: Dialect): WireError {
  if (!isGuestgateError(e)) return goTextError(500, d.text.internal);
  switch (e.code) {
    case 'E_NOT_IN_INSTANCE':
      return goTextError(500, d.text.notInInstance);
    case 'E_NON_ROOT':
      return goTextError(401, d.text.nonRoot);
    case 'E_FORBIDDEN':
      return goTextError(403, d.text.forbidden);
    case 'E_NOT_FOUND':
      return goTextError(404, d.text.notFound);
    case 'E_BAD_REQUEST':
      return goTextError(400, badBodyText(e, d) ?? d.text.badRequest);
    case 'E_INVALID_STATE':
      return goTextError(
        400,
        'state' in e.fields ? `Invalid state ${JSON.stringify(e.fields.state ?? '')}` : d.text.badRequest,
      );
    case 'E_METHOD_NOT_ALLOWED':
      return goTextError(
        d.methods === 'info-only' ? 405 : 400,
        `method ${JSON.stringify(e.fields.method)} not allowed`,
      );
    case 'E_METHOD_NOT_IMPLEMENTED':
      return goTextError(501, 'Not Implemented');
    case 'E_UNKNOWN_METHOD':
      return goTextError(404, `Method ${JSON.stringify(e.fields.method)} not found`);
    case 'E_RATE_LIMITED':
      return { ...goTextError(429, 'Too Many Requests'), headers: retryAfter(e.fields) };
    default:
      return goTextError(500, d.text.internal);
  }
}

/** Image export errors after the gates: main-API envelopes (see protocol §3.4, §4.9). */
export function toImageWireError(e: unknown, d: Dialect): WireError {
  if (isGuestgateError(e)) {
    switch (e.code) {
      case 'E_FORBIDDEN':
        return d.images.gateError === 'envelope' ? envelopeError(403, 'Forbidden') : goTextError(403, d.text.forbidden);
      case 'E_IMAGE_NOT_FOUND':
      case 'E_BAD_FINGERPRINT':
        return envelopeError(404, d.images.notFound.replace('{fp}', String(e.fields.fingerprint ?? '')));
      case 'E_PROJECT_NOT_FOUND':
        return envelopeError(404, d.images.unknownProject ?? d.images.notFound.replace('{fp}', ''));
      case 'E_RATE_LIMITED':
        return { ...envelopeError(429, 'Too Many Requests'), headers: retryAfter(e.fields) };
      case 'E_IMAGE_AMBIGUOUS':
        return envelopeError(500, 'More than one image matches');
      case 'E_NOT_IN_INSTANCE':
      case 'E_NON_ROOT':
      // The method is refused before the export handler, as on every other endpoint of the dialect.
      case 'E_METHOD_NOT_ALLOWED':
      case 'E_METHOD_NOT_IMPLEMENTED':
      case 'E_UNKNOWN_METHOD':
        return toWireError(e, d);
      default:
        break;
    }
  }
  return envelopeError(500, 'Internal Server Error');
}

/** Retry-After in whole seconds (at least 1) from the limiter's wait. */
const retryAfter = (f: Readonly<Record<string, unknown>>): Record<string, string> => ({
  'Retry-After': String(Math.max(1, Math.ceil(Number(f.retryAfterMs ?? 1000) / 1000))),
});
