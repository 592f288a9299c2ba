// The guest API's version differences, as data. Every behaviour that differs between LXD 5.0.2,
// LXD 6.x and Incus is a field here; handlers read the table and never test a dialect's name.

export type DialectName = 'lxd-5.0' | 'lxd' | 'incus';

/** Endpoints, for the tables below. */
export type Endpoint = 'root' | 'info' | 'config' | 'configKey' | 'devices' | 'metaData' | 'events' | 'imageExport';

export interface Dialect {
  readonly name: DialectName;
  /** Folder name under /dev inside guests. */
  readonly guestDir: 'lxd' | 'incus';
  readonly keys: { readonly enabled: string; readonly images: string };
  readonly text: {
    readonly forbidden: string;
    readonly notFound: string;
    readonly badRequest: string;
    readonly internal: string;
    readonly nonRoot: string;
    readonly notInInstance: string;
  };
  /**
   * Method handling:
   * - `any`: every method runs the GET logic (LXD 5.0.x; PATCH /1.0 ignored);
   * - `info-only`: only /1.0 checks its method: GET/PATCH, else 405 `method "X" not allowed` (Incus, LXD 6.1-6.3);
   * - `per-endpoint`: GET/HEAD (and PATCH on /1.0) served; other known verbs 501; unknown verbs 404 (LXD >= 6.4).
   */
  readonly methods: 'any' | 'info-only' | 'per-endpoint';
  /** PATCH /1.0 sets readiness (absent in LXD 5.0.x). */
  readonly readyState: boolean;
  /** Error body for a PATCH /1.0 body that is not JSON: `raw` = the decoder's text, `prefixed` = `Invalid request body: <err>`. */
  readonly patchDecodeError: 'raw' | 'prefixed';
  /** GET /1.0 body: `legacy` = state "" and location "none" (5.0.x); `state` = Started/Ready and host location. */
  readonly info: 'legacy' | 'state';
  /** Endpoints that answer 403 when the instance has the API disabled. */
  readonly disabledGuards: ReadonlySet<Endpoint>;
  /** meta-data starts with a `#cloud-config` line. */
  readonly metaDataHeader: boolean;
  /** Content type of raw values as the real daemon sends them. */
  readonly rawContentType: string;
  /** Device updates: one `updated` event, or `removed` then `added` (what LXD 5.0.2 was seen to send). */
  readonly deviceUpdate: 'updated' | 'remove-add';
  /** WebSocket keepalive ping payload. */
  readonly pingPayload: string;
  readonly images: {
    readonly match: 'prefix' | 'exact';
    /** The 403 for a closed image gate: plain text (like other endpoints) or the main-API JSON envelope. */
    readonly gateError: 'text' | 'envelope';
    /** The 404 envelope's text; `{fp}` stands for the fingerprint as the guest sent it. */
    readonly notFound: string;
    /** `?project=` other than default: the text of the 404 (LXD 5.0.2 looks the project up first), else as not found. */
    readonly unknownProject?: string;
    readonly extraHeaders: Readonly<Record<string, string>>;
  };
  /** The Go type PATCH /1.0 decodes into, as its decoder errors name it. */
  readonly putType: 'DevLXDPut' | 'DevIncusPut';
}

/** Error texts of LXD <= 6.4 and Incus (Go http.Error bodies, LF added on the wire). */
const LEGACY_TEXT: Dialect['text'] = {
  forbidden: 'not authorized',
  notFound: 'not found',
  badRequest: 'bad request',
  internal: 'internal server error',
  nonRoot: 'Access denied for non-root user',
  notInInstance: 'pid not in container?',
};

const ALL_BUT_ROOT_AND_INFO: Endpoint[] = ['config', 'configKey', 'devices', 'metaData', 'events', 'imageExport'];

export const DIALECTS: Readonly<Record<DialectName, Dialect>> = {
  // Debian bookworm's LXD 5.0.2: byte-for-byte (see shared/reference/lxd-5.0.2).
  'lxd-5.0': {
    name: 'lxd-5.0',
    guestDir: 'lxd',
    keys: { enabled: 'security.devlxd', images: 'security.devlxd.images' },
    text: LEGACY_TEXT,
    methods: 'any',
    readyState: false,
    patchDecodeError: 'raw',
    info: 'legacy',
    disabledGuards: new Set<Endpoint>(['info', ...ALL_BUT_ROOT_AND_INFO]),
    metaDataHeader: true,
    rawContentType: 'application/octet-stream',
    deviceUpdate: 'remove-add',
    pingPayload: 'keepalive',
    images: {
      match: 'prefix',
      gateError: 'text',
      notFound: 'Image not found',
      unknownProject: 'Check if project has images: fetch project: Project not found',
      extraHeaders: {},
    },
    putType: 'DevLXDPut',
  },
  // LXD 6.x (6.7-6.8 behaviour: per-endpoint methods, generic texts, 403 on / and /1.0 when disabled).
  lxd: {
    name: 'lxd',
    guestDir: 'lxd',
    keys: { enabled: 'security.devlxd', images: 'security.devlxd.images' },
    text: {
      forbidden: 'Forbidden',
      notFound: 'Not Found',
      badRequest: 'Bad Request',
      internal: 'internal server error',
      nonRoot: 'Access denied for non-root user',
      notInInstance: 'Process ID not found in container',
    },
    methods: 'per-endpoint',
    readyState: true,
    patchDecodeError: 'prefixed',
    info: 'state',
    disabledGuards: new Set<Endpoint>(['root', 'info', ...ALL_BUT_ROOT_AND_INFO]),
    metaDataHeader: false,
    rawContentType: 'application/octet-stream',
    deviceUpdate: 'updated',
    pingPayload: '',
    images: {
      match: 'exact',
      gateError: 'envelope',
      notFound: 'Not Found',
      extraHeaders: {},
    },
    putType: 'DevLXDPut',
  },
  // Incus 6.x/7.x: /dev/incus, security.guestapi*, legacy texts, #cloud-config kept.
  incus: {
    name: 'incus',
    guestDir: 'incus',
    keys: { enabled: 'security.guestapi', images: 'security.guestapi.images' },
    text: LEGACY_TEXT,
    methods: 'info-only',
    readyState: true,
    patchDecodeError: 'raw',
    info: 'state',
    disabledGuards: new Set<Endpoint>(ALL_BUT_ROOT_AND_INFO),
    metaDataHeader: true,
    rawContentType: 'application/octet-stream',
    deviceUpdate: 'updated',
    pingPayload: 'keepalive',
    images: {
      match: 'exact',
      gateError: 'text',
      // Recorded from Incus 6.0.4 for unknown, private and wrong-project images alike.
      notFound: 'Image "{fp}" not found',
      extraHeaders: { 'X-Incus-Type': 'incus' },
    },
    putType: 'DevIncusPut',
  },
};

/** The content type guestgate sends for raw values: cloud-init 22.4.2 decodes this one correctly. */
export const UTF8_TEXT = 'text/plain; charset=utf-8';

export function dialectFor(name: DialectName, rawContentType: 'dialect' | 'utf8' | 'octet-stream'): Dialect {
  const d = DIALECTS[name];
  if (rawContentType === 'dialect') return d;
  return { ...d, rawContentType: rawContentType === 'utf8' ? UTF8_TEXT : 'application/octet-stream' };
}

/** `security.devlxd` semantics: only a literal false-ish value disables; empty or unset means enabled. */
export function isDisabled(config: Readonly<Record<string, string>>, key: string): boolean {
  const v = config[key];
  return v !== undefined && /^(false|0|off|no)$/i.test(v.trim());
}

export function isEnabledFlag(config: Readonly<Record<string, string>>, key: string): boolean {
  const v = config[key];
  return v !== undefined && /^(true|1|on|yes)$/i.test(v.trim());
}
