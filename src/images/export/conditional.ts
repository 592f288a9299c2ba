// What an export answers for a given request: Go's http.ServeContent as LXD's export uses it (HEAD,
// If-Modified-Since, If-Unmodified-Since, If-Range by date, one byte Range), plus what LXD leaves out
// because it sends no ETag: our ETag is the quoted fingerprint, so If-Match / If-None-Match and
// If-Range with the ETag work (in ServeContent's order: If-Match, If-Unmodified-Since, If-None-Match,
// If-Modified-Since, then Range under If-Range). Pure: headers in, decision out. The same plan serves
// split images, whose range is over the bytes of their full multipart response.

export type Plan =
  | { readonly status: 200; readonly start: 0; readonly end: number }
  | { readonly status: 206; readonly start: number; readonly end: number }
  | { readonly status: 304 }
  | { readonly status: 412 }
  | { readonly status: 416 };

export interface PlanInput {
  readonly method: string;
  readonly size: number;
  /** Whole seconds; HTTP dates carry no fractions. */
  readonly lastModified: Date;
  readonly range?: string | undefined;
  readonly ifModifiedSince?: string | undefined;
  readonly ifUnmodifiedSince?: string | undefined;
  readonly ifRange?: string | undefined;
  /** Our strong ETag (quoted); absent: ETag conditions never match, as in LXD. */
  readonly etag?: string | undefined;
  readonly ifMatch?: string | undefined;
  readonly ifNoneMatch?: string | undefined;
}

/** `"<fingerprint>"`: the image's bytes never change under it, so the validator is strong. */
export const imageEtag = (fingerprint: string): string => `"${fingerprint}"`;

/** RFC 9530 Repr-Digest for a sha256 given in hex. */
export const reprDigest = (sha256Hex: string): string =>
  `sha-256=:${Buffer.from(sha256Hex, 'hex').toString('base64')}:`;

/** The entity tags of an If-Match / If-None-Match list ('*' stays '*'). */
export function etagList(header: string): string[] {
  return header
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t === '*' || /^(?:W\/)?"[^"]*"$/.test(t));
}

const strongMatch = (list: string, etag: string | undefined): boolean =>
  etag !== undefined && etagList(list).some((t) => t === '*' || t === etag);
const weakMatch = (list: string, etag: string | undefined): boolean =>
  etag !== undefined && etagList(list).some((t) => t === '*' || t.replace(/^W\//, '') === etag);

const seconds = (d: Date): number => Math.floor(d.getTime() / 1000);
const httpDate = (s: string | undefined): number | undefined => {
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : Math.floor(t / 1000);
};

/** `end` is exclusive. */
export function planResponse(i: PlanInput): Plan {
  const lm = seconds(i.lastModified);
  const getOrHead = i.method === 'GET' || i.method === 'HEAD';
  if (i.ifMatch !== undefined) {
    if (!strongMatch(i.ifMatch, i.etag)) return { status: 412 };
  } else {
    const ius = httpDate(i.ifUnmodifiedSince);
    if (ius !== undefined && lm > ius) return { status: 412 };
  }
  if (i.ifNoneMatch !== undefined) {
    if (weakMatch(i.ifNoneMatch, i.etag)) return getOrHead ? { status: 304 } : { status: 412 };
  } else {
    const ims = httpDate(i.ifModifiedSince);
    if (getOrHead && ims !== undefined && lm <= ims) return { status: 304 };
  }
  const full = { status: 200, start: 0, end: i.size } as const;
  if (!i.range || !getOrHead) return full;
  // If-Range: the range applies only to the same bytes: our ETag (strong comparison) or, as in LXD, the date.
  if (i.ifRange !== undefined) {
    const v = i.ifRange.trim();
    if (v.startsWith('"') || v.startsWith('W/')) {
      if (i.etag === undefined || v !== i.etag) return full;
    } else {
      const ir = httpDate(v);
      if (ir === undefined || ir !== lm) return full;
    }
  }
  const r = parseRange(i.range, i.size);
  if (r === 'ignore') return full;
  if (r === 'unsatisfiable') return { status: 416 };
  return { status: 206, start: r.start, end: r.end };
}

/**
 * One `bytes=` range. Several ranges would need multipart/byteranges, which no image client asks for,
 * so they are answered with the whole file (RFC 9110 allows ignoring Range).
 */
export function parseRange(header: string, size: number): { start: number; end: number } | 'ignore' | 'unsatisfiable' {
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header);
  if (!m) {
    if (!/^\s*bytes\s*=/.test(header)) return 'ignore'; // unknown unit
    return header.includes(',') ? 'ignore' : 'unsatisfiable';
  }
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return 'unsatisfiable';
  if (a === '') {
    const n = Number(b);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size };
  }
  const start = Number(a);
  if (start >= size) return 'unsatisfiable';
  const last = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (last < start) return 'unsatisfiable';
  return { start, end: last + 1 };
}

export const contentRange = (start: number, end: number, size: number): string => `bytes ${start}-${end - 1}/${size}`;
