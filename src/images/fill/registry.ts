// Single flight: at most one fill per fingerprint. The first guest to miss starts it; the others
// attach to the same fill. A finished fill is indexed in the catalog before its last byte goes out.
import type { Logger } from 'pino';
import { GuestgateError, isGuestgateError } from '../../errors.ts';
import type { Candidate } from '../lookup.ts';
import type { Catalog } from '../store/catalog.ts';
import { manifestSize, type Manifest } from '../store/manifest.ts';
import type { ImageRef } from '../types.ts';
import { Fill, type FillStore } from './fill.ts';
import { buildManifest } from './manifest-build.ts';

export interface FillEntry {
  readonly fill: Fill;
  /** The manifest once the image is verified and indexed. */
  readonly committed: Promise<Manifest>;
}

export interface FillCounts {
  readonly fills: number;
  readonly fillFailures: number;
  /** Fills that failed for another reason than "no upstream has it". */
  readonly upstreamErrors: number;
}

export class FillRegistry {
  readonly #store: FillStore;
  readonly #catalog: Catalog;
  readonly #candidatesFor: (ref: ImageRef) => Promise<Candidate[]>;
  readonly #log: Logger;
  readonly #fills = new Map<string, FillEntry>();
  #counts = { fills: 0, fillFailures: 0, upstreamErrors: 0 };

  constructor(store: FillStore, catalog: Catalog, candidatesFor: (ref: ImageRef) => Promise<Candidate[]>, log: Logger) {
    this.#store = store;
    this.#catalog = catalog;
    this.#candidatesFor = candidatesFor;
    this.#log = log;
  }

  get counts(): FillCounts {
    return { ...this.#counts };
  }

  get(fingerprint: string): FillEntry | undefined {
    return this.#fills.get(fingerprint);
  }

  start(ref: ImageRef): FillEntry {
    const fp = ref.fingerprint;
    const fill = new Fill(fp, this.#store);
    const committed = this.#run(fill, ref);
    const entry = { fill, committed };
    this.#fills.set(fp, entry);
    committed.then(
      () => this.#fills.delete(fp),
      (e: Error) => {
        this.#fills.delete(fp);
        // A failure before run() started (no candidates) must still reach waiting readers.
        if (fill.state === 'running') fill.fail(e);
        this.#counts.fillFailures++;
        if (!isGuestgateError(e, 'E_IMAGE_NOT_FOUND') && !isGuestgateError(e, 'E_CLOSED'))
          this.#counts.upstreamErrors++;
        this.#log.warn({ fingerprint: fp, code: (e as GuestgateError).code, err: e.message }, 'image fill failed');
      },
    );
    return entry;
  }

  /** Stop every fill in progress and wait for them to clean up (service shutdown). */
  async close(reason: Error): Promise<void> {
    const pending = [...this.#fills.values()];
    for (const { fill } of pending) fill.abort(reason);
    await Promise.allSettled(pending.map((p) => p.committed));
  }

  async #run(fill: Fill, ref: ImageRef): Promise<Manifest> {
    const fp = ref.fingerprint;
    const cands = await this.#candidatesFor(ref);
    if (!cands.length) throw new GuestgateError('E_IMAGE_NOT_FOUND', 'Image not found', { fingerprint: fp });
    const t0 = performance.now();
    let manifest: Manifest | undefined;
    const result = await fill.run(cands, async (r) => {
      manifest = await buildManifest(this.#store.cacheDir, fp, r, fill.lastModified);
      await this.#catalog.add(manifest);
    });
    if (!manifest) throw new GuestgateError('E_INTERNAL', 'fill finished without a manifest', { fingerprint: fp });
    this.#counts.fills++;
    this.#log.info(
      {
        fingerprint: fp,
        upstream: result.upstream,
        bytes: manifestSize(manifest),
        ms: Math.round(performance.now() - t0),
      },
      'image cached',
    );
    return manifest;
  }
}
