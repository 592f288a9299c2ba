// Which image a fingerprint (or prefix) names: the cache first, then every upstream at once.
// Upstream answers are reused for a few seconds (64 guests asking at once cost one query) and
// remembered per ImageRef, so the fill that follows a lookup does not ask again.
import type { Logger } from 'pino';
import { LRUCache } from 'lru-cache';
import { GuestgateError, isGuestgateError } from '../errors.ts';
import { parseFingerprint } from './fingerprint.ts';
import type { Catalog } from './store/catalog.ts';
import { manifestSize, type Manifest } from './store/manifest.ts';
import { visible, type ImageRef } from './types.ts';
import type { Upstream, UpstreamImage } from './upstreams/index.ts';

/** How long an upstream's answer to a lookup is reused. */
const LOOKUP_TTL_MS = 5_000;

export interface Candidate {
  readonly upstream: Upstream;
  readonly image: UpstreamImage;
}

const refFromManifest = (m: Manifest): ImageRef => ({
  fingerprint: m.fingerprint,
  kind: m.kind,
  type: m.type,
  size: manifestSize(m),
  public: m.public,
  cached: m.cached,
  inCache: true,
  source: 'cache',
});

export class Lookup {
  readonly #catalog: Catalog;
  readonly #upstreams: readonly Upstream[];
  readonly #log: Logger;
  readonly #candidatesOf = new WeakMap<ImageRef, Candidate[]>();
  readonly #found = new LRUCache<string, Promise<UpstreamImage[]>>({ max: 4096, ttl: LOOKUP_TTL_MS });
  #upstreamErrors = 0;

  constructor(catalog: Catalog, upstreams: readonly Upstream[], log: Logger) {
    this.#catalog = catalog;
    this.#upstreams = upstreams;
    this.#log = log;
  }

  /** Failed upstream queries so far (unreachable, bad answers). */
  get upstreamErrors(): number {
    return this.#upstreamErrors;
  }

  async lookup(input: string, mode: 'prefix' | 'exact'): Promise<ImageRef | undefined> {
    const q = parseFingerprint(input);
    if (mode === 'exact' && q.length !== 64) return undefined;
    // Hot path: a full fingerprint already cached never needs an upstream.
    const exact = q.length === 64 ? this.#catalog.peek(q) : undefined;
    if (exact) return visible(exact) ? refFromManifest(exact) : undefined;

    const refs = new Map<string, ImageRef>();
    for (const m of this.#catalog.find(q)) if (visible(m)) refs.set(m.fingerprint, refFromManifest(m));
    const remote = await this.#upstreamMatches(q);
    for (const [fp, cands] of remote) {
      if (refs.has(fp) || this.#catalog.peek(fp)) continue; // the cached copy's flags decide
      // The first upstream that has the image decides its visibility; private images look absent
      // (and do not make a prefix ambiguous, which would reveal that they exist).
      const first = cands[0]!.image;
      if (!visible(first)) continue;
      const ref: ImageRef = {
        fingerprint: fp,
        kind: first.kind,
        type: first.type,
        size: first.size,
        public: first.public,
        cached: first.cached,
        inCache: false,
        source: cands[0]!.upstream.name,
      };
      this.#candidatesOf.set(ref, cands);
      refs.set(fp, ref);
    }
    if (refs.size > 1)
      throw new GuestgateError('E_IMAGE_AMBIGUOUS', 'More than one image matches', {
        fingerprint: q,
        matches: refs.size,
      });
    return refs.values().next().value;
  }

  /** The upstreams that have the image, in config order (asked again when the ref did not come from lookup()). */
  async candidatesFor(ref: ImageRef): Promise<Candidate[]> {
    const known = this.#candidatesOf.get(ref);
    if (known) return known;
    return (await this.#upstreamMatches(ref.fingerprint)).get(ref.fingerprint)?.filter((c) => visible(c.image)) ?? [];
  }

  #findIn(i: number, prefix: string): Promise<UpstreamImage[]> {
    const key = `${i}\0${prefix}`;
    let p = this.#found.get(key);
    if (!p) {
      p = this.#upstreams[i]!.find(prefix);
      this.#found.set(key, p);
      p.catch(() => this.#found.delete(key));
    }
    return p;
  }

  /** Every upstream's matches, first upstream first; unreachable upstreams are logged and skipped. */
  async #upstreamMatches(prefix: string): Promise<Map<string, Candidate[]>> {
    const results = await Promise.allSettled(this.#upstreams.map((_, i) => this.#findIn(i, prefix)));
    const byFp = new Map<string, Candidate[]>();
    results.forEach((r, i) => {
      const upstream = this.#upstreams[i]!;
      if (r.status === 'rejected') {
        if (isGuestgateError(r.reason, 'E_IMAGE_AMBIGUOUS')) throw r.reason;
        this.#upstreamErrors++;
        this.#log.warn({ upstream: upstream.name, err: (r.reason as Error).message }, 'image upstream lookup failed');
        return;
      }
      for (const image of r.value) {
        const list = byFp.get(image.fingerprint) ?? [];
        list.push({ upstream, image });
        byFp.set(image.fingerprint, list);
      }
    });
    return byFp;
  }
}
