// The in-memory index of cached images, rebuilt from the manifests on disk at start, bounded by
// bytes with an LRU (lru-cache). Evicting an image unlinks its manifest and every blob no other
// image references; a guest still streaming it keeps reading through its open descriptor.
// Pinned images live outside the LRU and are never evicted (but count toward the bound).
import { readdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import type { Logger } from 'pino';
import { LRUCache } from 'lru-cache';
import { isDigest } from '../fingerprint.ts';
import { decodeManifest, encodeManifest, manifestSize, type Manifest } from './manifest.ts';
import { blobPath, manifestDir, manifestPath } from './paths.ts';
import { listBlobs, unlinkBlob, writeAtomic, type LiveTmp, type StoreModes } from './blobs.ts';

const TOUCH_EVERY_MS = 60_000;

export interface CatalogOptions {
  readonly cacheDir: string;
  readonly maxSize: number;
  /** Fingerprints pinned by config (in addition to manifests with pinned: true). */
  readonly pinned: ReadonlySet<string>;
  readonly modes: StoreModes;
  /** A running service's tmp files (manifest writes register there, so an online sweep skips them). */
  readonly live?: LiveTmp;
  readonly log?: Logger;
  readonly onEvict?: (m: Manifest) => void;
}

export class Catalog {
  readonly #o: CatalogOptions;
  readonly #lru: LRUCache<string, Manifest>;
  readonly #pinned = new Map<string, Manifest>();
  readonly #refs = new Map<string, number>();
  readonly #touched = new Map<string, number>();
  readonly #pending = new Set<Promise<unknown>>();
  #pinnedBytes = 0;

  constructor(o: CatalogOptions) {
    this.#o = o;
    this.#lru = new LRUCache<string, Manifest>({
      maxSize: Math.max(1, o.maxSize),
      sizeCalculation: (m) => Math.max(1, manifestSize(m)),
      // Only eviction is the LRU's own decision; deletes and replacements are handled by #unindex.
      dispose: (m, _fp, reason) => {
        if (reason !== 'evict') return;
        o.onEvict?.(m);
        this.#track(this.#drop(m));
      },
    });
  }

  /** Rebuild from disk: bad manifests and manifests with missing blobs are removed; so are orphan blobs. */
  static async load(o: CatalogOptions): Promise<{ catalog: Catalog; dropped: number; orphans: number }> {
    const c = new Catalog(o);
    const dir = manifestDir(o.cacheDir);
    const loaded: { m: Manifest; used: number }[] = [];
    let dropped = 0;
    for (const name of await readdir(dir)) {
      const fp = name.endsWith('.json') ? name.slice(0, -5) : '';
      const p = `${dir}/${name}`;
      try {
        if (!isDigest(fp)) throw new Error('not a manifest name');
        const m = decodeManifest(await readFile(p, 'utf8'), fp);
        for (const part of m.parts) {
          const st = await stat(blobPath(o.cacheDir, part.digest));
          if (st.size !== part.size) throw new Error(`blob ${part.digest} has ${st.size} bytes, expected ${part.size}`);
        }
        loaded.push({ m, used: (await stat(p)).mtimeMs });
      } catch (e) {
        o.log?.warn({ manifest: name, err: (e as Error).message }, 'image cache: dropping unusable manifest');
        await rm(p, { force: true });
        dropped++;
      }
    }
    // Oldest use first, so the LRU order matches the last-use order on disk.
    loaded.sort((a, b) => a.used - b.used);
    for (const { m } of loaded) c.#insert(m);
    let orphans = 0;
    for (const d of await listBlobs(o.cacheDir)) {
      if (!c.#refs.has(d)) {
        await unlinkBlob(o.cacheDir, d);
        orphans++;
      }
    }
    c.enforceBound();
    await c.settle();
    return { catalog: c, dropped, orphans };
  }

  isPinned(m: Manifest): boolean {
    return m.pinned || this.#o.pinned.has(m.fingerprint);
  }

  /** Look up and mark as recently used. */
  get(fp: string): Manifest | undefined {
    const m = this.#pinned.get(fp) ?? this.#lru.get(fp);
    if (m) this.#touch(fp);
    return m;
  }

  peek(fp: string): Manifest | undefined {
    return this.#pinned.get(fp) ?? this.#lru.peek(fp);
  }

  find(prefix: string): Manifest[] {
    const exact = this.peek(prefix);
    if (exact) return [exact];
    return this.list().filter((m) => m.fingerprint.startsWith(prefix));
  }

  list(): Manifest[] {
    return [...this.#pinned.values(), ...this.#lru.values()];
  }

  /** A blob some indexed image uses. */
  isReferenced(digest: string): boolean {
    return this.#refs.has(digest);
  }

  /** Evict least recently used images until the bound holds (done on every add); returns what went. */
  enforceBound(): Manifest[] {
    const out: Manifest[] = [];
    while (this.#pinnedBytes + this.#lru.calculatedSize > this.#o.maxSize && this.#lru.size > 0) {
      const m = this.#lru.pop();
      if (m) out.push(m);
    }
    return out;
  }

  get bytes(): number {
    return this.#pinnedBytes + this.#lru.calculatedSize;
  }

  /** Persist a manifest whose blobs are committed, then index it (may evict others). */
  async add(m: Manifest): Promise<void> {
    await writeAtomic(
      this.#o.cacheDir,
      manifestPath(this.#o.cacheDir, m.fingerprint),
      encodeManifest(m),
      this.#o.modes,
      this.#o.live,
    );
    const old = this.peek(m.fingerprint);
    if (old) this.#unindex(old, 'replace');
    this.#insert(m);
    this.enforceBound();
  }

  async remove(fp: string): Promise<boolean> {
    const m = this.peek(fp);
    if (!m) return false;
    this.#unindex(m, 'delete');
    await this.settle();
    return true;
  }

  async setPinned(fp: string, pinned: boolean): Promise<Manifest | undefined> {
    const m = this.peek(fp);
    if (!m) return undefined;
    const next: Manifest = { ...m, pinned };
    await writeAtomic(
      this.#o.cacheDir,
      manifestPath(this.#o.cacheDir, fp),
      encodeManifest(next),
      this.#o.modes,
      this.#o.live,
    );
    this.#unindex(m, 'replace');
    this.#insert(next);
    this.enforceBound();
    return next;
  }

  /** Wait for background unlinks (eviction) to finish. */
  async settle(): Promise<void> {
    while (this.#pending.size) await Promise.allSettled([...this.#pending]);
  }

  #insert(m: Manifest): void {
    for (const p of m.parts) this.#refs.set(p.digest, (this.#refs.get(p.digest) ?? 0) + 1);
    if (this.isPinned(m)) {
      this.#pinned.set(m.fingerprint, m);
      this.#pinnedBytes += manifestSize(m);
    } else {
      this.#lru.set(m.fingerprint, m);
      // An image bigger than the whole bound is refused by lru-cache; keep it until the next insert
      // would have to evict it anyway: drop it now, its open readers are unaffected.
      if (!this.#lru.has(m.fingerprint)) {
        this.#o.log?.warn(
          { fingerprint: m.fingerprint, size: manifestSize(m), max_size: this.#o.maxSize },
          'image larger than images.max_size: not kept',
        );
        this.#track(this.#drop(m));
      }
    }
  }

  /** Remove from the index; 'delete' also removes files, 'replace' keeps what the new manifest still references. */
  #unindex(m: Manifest, why: 'replace' | 'delete'): void {
    if (this.#pinned.delete(m.fingerprint)) this.#pinnedBytes -= manifestSize(m);
    else this.#lru.delete(m.fingerprint);
    if (why === 'delete') this.#track(this.#drop(m));
    else this.#deref(m);
  }

  #deref(m: Manifest): void {
    for (const p of m.parts) {
      const n = (this.#refs.get(p.digest) ?? 1) - 1;
      if (n <= 0) this.#refs.delete(p.digest);
      else this.#refs.set(p.digest, n);
    }
  }

  async #drop(m: Manifest): Promise<void> {
    this.#deref(m);
    this.#touched.delete(m.fingerprint);
    await rm(manifestPath(this.#o.cacheDir, m.fingerprint), { force: true });
    for (const p of m.parts) if (!this.#refs.has(p.digest)) await unlinkBlob(this.#o.cacheDir, p.digest);
  }

  #touch(fp: string): void {
    const now = Date.now();
    if (now - (this.#touched.get(fp) ?? 0) < TOUCH_EVERY_MS) return;
    this.#touched.set(fp, now);
    const t = new Date(now);
    this.#track(utimes(manifestPath(this.#o.cacheDir, fp), t, t).catch(() => {}));
  }

  #track(p: Promise<unknown>): void {
    const q = p.catch((e) => this.#o.log?.warn({ err: (e as Error).message }, 'image cache: cleanup failed'));
    this.#pending.add(q);
    void q.finally(() => this.#pending.delete(q));
  }
}
