// What a unified export answers for a given request: the subset of Go's http.ServeContent that LXD's
// export relies on (HEAD, If-Modified-Since, If-Unmodified-Since, If-Range by date, one byte Range).
// Pure: headers in, decision out.

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
}

const seconds = (d: Date): number => Math.floor(d.getTime() / 1000);
const httpDate = (s: string | undefined): number | undefined => {
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : Math.floor(t / 1000);
};

/** `end` is exclusive. */
export function planResponse(i: PlanInput): Plan {
  const lm = seconds(i.lastModified);
  const ius = httpDate(i.ifUnmodifiedSince);
  if (ius !== undefined && lm > ius) return { status: 412 };
  const ims = httpDate(i.ifModifiedSince);
  if ((i.method === 'GET' || i.method === 'HEAD') && ims !== undefined && lm <= ims) return { status: 304 };
  const full = { status: 200, start: 0, end: i.size } as const;
  if (!i.range || (i.method !== 'GET' && i.method !== 'HEAD')) return full;
  // If-Range with a date: the range applies only if the file is unchanged; an ETag never matches (we send none).
  if (i.ifRange !== undefined) {
    const ir = httpDate(i.ifRange);
    if (ir === undefined || ir !== lm) return full;
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
