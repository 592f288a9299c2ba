// Domain errors carry a stable machine code and structured fields. Modules throw these; each
// surface (guest API per dialect, admin API, CLI) maps codes to its wire format in ONE place.

export type ErrorCode =
  // identity / authorization
  | 'E_NOT_IN_INSTANCE'
  | 'E_NON_ROOT'
  | 'E_FORBIDDEN'
  // request shape
  | 'E_NOT_FOUND'
  | 'E_BAD_REQUEST'
  | 'E_METHOD_NOT_ALLOWED'
  | 'E_METHOD_NOT_IMPLEMENTED'
  | 'E_UNKNOWN_METHOD'
  | 'E_INVALID_STATE'
  | 'E_TOO_LARGE'
  | 'E_CONFLICT'
  | 'E_TIMEOUT'
  | 'E_UNAVAILABLE'
  | 'E_RATE_LIMITED'
  // images
  | 'E_IMAGE_NOT_FOUND'
  | 'E_PROJECT_NOT_FOUND'
  | 'E_IMAGE_AMBIGUOUS'
  | 'E_BAD_FINGERPRINT'
  | 'E_INTEGRITY'
  | 'E_UPSTREAM'
  // lifecycle: the service is shutting down
  | 'E_CLOSED'
  // config / inventory files
  | 'E_CONFIG'
  | 'E_INVENTORY'
  | 'E_TEMPLATE'
  | 'E_INTERNAL';

export class GuestgateError extends Error {
  readonly code: ErrorCode;
  readonly fields: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, fields: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = 'GuestgateError';
    this.code = code;
    this.fields = fields;
  }
}

export function isGuestgateError(e: unknown, code?: ErrorCode): e is GuestgateError {
  return e instanceof GuestgateError && (code === undefined || e.code === code);
}

/** A config or inventory file problem: always names the file and the key. */
export class FileValueError extends GuestgateError {
  readonly file: string;
  readonly key: string;
  /** `more`: further problems of the same file, each reported on its own line with file and key. */
  constructor(
    code: 'E_CONFIG' | 'E_INVENTORY',
    file: string,
    key: string,
    problem: string,
    more: readonly { readonly key: string; readonly problem: string }[] = [],
  ) {
    const all = [{ key, problem }, ...more];
    super(code, all.map((i) => `${file}: ${i.key ? `${i.key}: ` : ''}${i.problem}`).join('\n'), {
      file,
      key,
      problem,
      ...(more.length > 0 ? { problems: all } : {}),
    });
    this.name = 'FileValueError';
    this.file = file;
    this.key = key;
    // Readonly props must be set after super(); keep the message as constructed above.
  }
}
