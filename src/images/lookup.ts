// Which image a fingerprint (or prefix) names, and whether a guest may have it: decided per request
// from the server's current state. A cached image's bytes stay, but its permission comes from the
// upstream it came from (public/cached flags, existence), as that upstream says now. Answers are
// reused only while they cannot be older than a change: for LXD/Incus until the server's image
// lifecycle events say it changed (and not at all while the event stream is down); for other
// upstreams for images.lookup_ttl. Answers are also remembered per ImageRef, so the fill that
// follows a lookup does not ask again.
import type { Logger } from 'pino';
import { LRUCache } from 'lru-cache';
import { GuestgateError, isGuestgateError } from '../errors.ts';
import { parseFingerprint } from './fingerprint.ts';
import type { Catalog } from './store/catalog.ts';
import { manifestSize, type Manifest } from './store/manifest.ts';
import { visible, type ImageRef } from './types.ts';
import type { Upstream, UpstreamImage } from './upstreams/index.ts';

/** Longest reuse of an answer even while the upstream's change events flow (a safety net). */
const EVENTS_TTL_MS = 60_000;

type Flags = { readonly public: boolean; readonly cached: boolean };

export interface Candidate {
  readonly upstream: Upstream;
  readonly image: UpstreamImage;
}

const refFromManifest = (m: Manifest, now: Flags): ImageRef => ({
  fingerprint: m.fingerprint,
  kind: m.kind,
  type: m.type,
  size: manifestSize(m),
  public: now.public,
  cached: now.cached,
  inCache: true,
  source: 'cache',
});

export class Lookup {
  readonly #catalog: Catalog;
  readonly #upstreams: readonly Upstream[];
  readonly #log: Logger;
  readonly #candidatesOf = new WeakMap<ImageRef, Candidate[]>();
  readonly #found = new LRUCache<string, Promise<UpstreamImage[]>>({ max: 4096 });
  /** Per upstream: bumped by every change it reports, so an answer read across a change is not kept. */
  readonly #gen: number[];
  readonly #ttl: number;
  #upstreamErrors = 0;
  /** Per upstream name: why its last query failed (absent once a query succeeds). */
  readonly #down = new Map<string, string>();

  constructor(catalog: Catalog, upstreams: readonly Upstream[], log: Logger, ttlMs = 5_000) {
    this.#catalog = catalog;
    this.#upstreams = upstreams;
    this.#log = log;
    this.#ttl = ttlMs;
    this.#gen = upstreams.map(() => 0);
    upstreams.forEach((u, i) => {
      u.changes?.onChange((fp) => {
        this.#gen[i]!++;
        for (const key of [...this.#found.keys()]) {
          const [at, prefix = ''] = key.split('\0');
          if (Number(at) === i && (fp === undefined || fp.startsWith(prefix))) this.#found.delete(key);
        }
      });
    });
  }

  /** Failed upstream queries so far (unreachable, bad answers). */
  get upstreamErrors(): number {
    return this.#upstreamErrors;
  }

  /** Health reasons: each upstream whose last query failed, with why. */
  get unreachable(): string[] {
    return [...this.#down].map(([name, why]) => `image upstream "${name}" unreachable: ${why}`);
  }

  async lookup(input: string, mode: 'prefix' | 'exact'): Promise<ImageRef | undefined> {
    const q = parseFingerprint(input);
    if (mode === 'exact' && q.length !== 64) return undefined;
    // Hot path: a full fingerprint already cached never needs an upstream.
    const exact = q.length === 64 ? this.#catalog.peek(q) : undefined;
    if (exact) {
      const now = await this.#flagsNow(exact);
      return now && visible(now) ? refFromManifest(exact, now) : undefined;
    }

    const refs = new Map<string, ImageRef>();
    for (const m of this.#catalog.find(q)) {
      const now = await this.#flagsNow(m);
      if (now && visible(now)) refs.set(m.fingerprint, refFromManifest(m, now));
    }
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

  /**
   * A cached image's flags as its upstream says now; undefined when the upstream no longer has it.
   * Imported images (and images from an upstream no longer configured) keep their manifest's flags,
   * and so do images whose upstream cannot be reached (logged): the server cannot change them then.
   */
  async #flagsNow(m: Manifest): Promise<Flags | undefined> {
    const i = this.#upstreams.findIndex((u) => u.name === m.source);
    if (i < 0) return m;
    try {
      return (await this.#findIn(i, m.fingerprint)).find((x) => x.fingerprint === m.fingerprint);
    } catch (e) {
      if (isGuestgateError(e, 'E_IMAGE_AMBIGUOUS')) return undefined;
      this.#upstreamErrors++;
      this.#log.warn(
        { upstream: m.source, fingerprint: m.fingerprint, err: (e as Error).message },
        'image upstream unreachable: using the flags recorded when the image was cached',
      );
      return m;
    }
  }

  #findIn(i: number, prefix: string): Promise<UpstreamImage[]> {
    const key = `${i}\0${prefix}`;
    const cached = this.#found.get(key);
    if (cached) return cached;
    const u = this.#upstreams[i]!;
    const gen = this.#gen[i];
    // In flight, an answer is shared (64 guests asking at once cost one query); once settled it is
    // kept only while it cannot be older than a change.
    const keep = u.changes ? (u.changes.connected ? EVENTS_TTL_MS : 0) : this.#ttl;
    const p = u.find(prefix);
    this.#found.set(key, p, { ttl: Math.max(keep, EVENTS_TTL_MS) });
    const forget = (): void => {
      if (this.#found.peek(key) === p) this.#found.delete(key);
    };
    p.then(
      () => {
        this.#down.delete(u.name);
        if (keep === 0 || this.#gen[i] !== gen) forget();
        else if (this.#found.peek(key) === p) this.#found.set(key, p, { ttl: keep });
      },
      (e: Error) => {
        if (!isGuestgateError(e, 'E_IMAGE_AMBIGUOUS')) this.#down.set(u.name, e.message);
        forget();
      },
    );
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
