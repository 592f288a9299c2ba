// One transfer of one image from an upstream into the cache: every byte is hashed as it streams into a
// tmp file (opened 'wx+'), each part is fsynced, and only when the combined sha256 equals the fingerprint
// are the tmp files renamed to their content addresses. Any failure or abort removes the tmp files. Guests
// attached to the fill get the bytes still held in memory, else read the tmp file; the very last byte is
// released only after verification, so a bad transfer never looks complete.
import { open, rm } from 'node:fs/promises';
import { GuestgateError, isGuestgateError } from '../../errors.ts';
import { commitBlob, tmpName } from '../store/blobs.ts';
import { nextPartRoles, wholeSeconds, type ImageKind, type ImageType, type ManifestPart } from '../store/manifest.ts';
import type { PartDigest, PartSink, Upstream, UpstreamImage } from '../upstreams/types.ts';
import { openDirect } from './direct.ts';
import { appendChunk, closeDirect, diskRoom, finishPart, heldViews, newPart } from './part.ts';
import { type FillPart, readableBytes, syncPart, WAKE_BYTES } from './part.ts';
import { toUpstreamError } from './upstream-error.ts';
import { streamHasher, type StreamHasher } from './hasher.ts';
import { assertImage } from '../inspect.ts';
import type { FillResult, FillState, FillStore } from './types.ts';
import { assertComplete, assertDigest, assertPartDigest } from './verify.ts';
export type { FillPart } from './part.ts';
export type { FillResult, FillState, FillStore } from './types.ts';

export class Fill {
  readonly fingerprint: string;
  readonly #store: FillStore;
  readonly #parts: FillPart[] = [];
  #state: FillState = 'running';
  #error: Error | undefined;
  /** Until run() knows the upstream's date: when the fill started. */
  #lastModified: Date;
  /** Bytes received from the upstream so far (all parts). */
  #received = 0;

  readonly #controller = new AbortController();
  #combined: StreamHasher | undefined;
  /** The whole image's size when the upstream said (picks how the combined digest is computed). */
  #sizeHint: number | undefined;
  #wakers: (() => void)[] = [];
  #interest = 0;
  #closed = false;
  readonly verified: Promise<FillResult>;
  #resolve!: (r: FillResult) => void;
  #reject!: (e: Error) => void;

  constructor(fingerprint: string, store: FillStore) {
    this.fingerprint = fingerprint;
    this.#store = store;
    this.#lastModified = wholeSeconds(new Date());
    this.verified = new Promise<FillResult>((res, rej) => {
      this.#resolve = res;
      this.#reject = rej;
    });
    this.verified.catch(() => {}); // observed through `state` by readers; never unhandled
  }

  get state(): FillState {
    return this.#state;
  }

  get error(): Error | undefined {
    return this.#error;
  }

  /** The parts so far (their descriptors, sizes and how far they are written). */
  get parts(): readonly Readonly<FillPart>[] {
    return this.#parts;
  }

  /** Last-Modified of the image (whole seconds): the upstream's own date if it gave one, else its record's. */
  get lastModified(): Date {
    return this.#lastModified;
  }

  get kind(): ImageKind | undefined {
    const r = this.#parts[0]?.role;
    return r === undefined ? undefined : r === 'unified' ? 'unified' : 'split';
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** A guest starts depending on this fill. Returns the matching release, or undefined if the fill's files are already closed. */
  attach(): (() => void) | undefined {
    // An aborted fill (every guest left) is dying: a newcomer waits for it to end and starts a fresh one.
    if (this.#closed || this.#controller.signal.aborted) return undefined;
    this.#interest++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.#interest === 0) {
        // Nobody wants the bytes any more: stop the upstream read (tmp files go in run()'s cleanup).
        if (this.#state === 'running')
          this.#controller.abort(
            new GuestgateError('E_UPSTREAM', 'fill aborted: every client left', { fingerprint: this.fingerprint }),
          );
        else void this.#closeFiles();
      }
    };
  }

  /** Stop the transfer (service shutdown). */
  abort(reason: Error): void {
    this.#controller.abort(reason);
  }

  /** Mark as failed before run() started (e.g. no upstream has the image). */
  fail(err: Error): void {
    if (this.#state !== 'running') return;
    this.#error = err;
    this.#state = 'failed';
    this.#wake();
    this.#reject(err);
  }

  /** Resolves at the next progress event (bytes written, part started or ended, verified, failed). */
  changed(): Promise<void> {
    return new Promise((r) => this.#wakers.push(r));
  }

  /** Bytes of part `i` a guest may be sent now (the part's last byte waits for its end, the image's for verification). */
  readable(i: number): number {
    const p = this.#parts[i];
    return p ? readableBytes(p, this.#state === 'verified') : 0;
  }

  /** Part `i`'s bytes from `pos` still in memory (up to `end`, at most `max`), retained: give each back once written. */
  held(i: number, pos: number, end: number, max: number): Buffer[] {
    const p = this.#parts[i];
    return p ? heldViews(p, pos, end, max) : [];
  }

  /** How far part `i` is on disk. */
  onDisk(i: number): number {
    return this.#parts[i]?.written ?? 0;
  }

  /** Try the upstreams in order (an upstream failing before its first byte hands over to the next). */
  async run(
    candidates: readonly { upstream: Upstream; image: UpstreamImage }[],
    finalize?: (r: FillResult) => Promise<void>,
  ): Promise<FillResult> {
    let last: unknown;
    this.#lastModified = wholeSeconds(candidates[0]?.image.lastModified ?? new Date());
    try {
      for (const c of candidates) {
        this.#sizeHint = c.image.size;
        try {
          await c.upstream.fetch(c.image, this.#sink(), this.signal);
          if (this.signal.aborted) throw this.signal.reason;
          const result = await this.#verifyAndCommit(c.upstream.name, c.image);
          // Index the image before the last byte goes out, so a guest that got it all finds it cached.
          await finalize?.(result);
          this.#state = 'verified';
          this.#wake();
          this.#resolve(result);
          return result;
        } catch (e) {
          last = e;
          if (this.#received > 0 || this.signal.aborted || isGuestgateError(e, 'E_INTEGRITY')) throw e;
          await this.#discardParts();
        }
      }
      throw (
        last ?? new GuestgateError('E_IMAGE_NOT_FOUND', 'no upstream has this image', { fingerprint: this.fingerprint })
      );
    } catch (e) {
      const err = this.signal.aborted ? (this.signal.reason as Error) : toUpstreamError(e, this.fingerprint);
      this.#error = err;
      this.#state = 'failed';
      this.#controller.abort(err); // stop anything still reading upstream
      await this.#discardParts();
      this.#wake();
      this.#reject(err);
      throw err;
    } finally {
      // Committed blobs are the catalog's now (indexed by finalize), or unreferenced leftovers for gc.
      for (const d of this.#held.splice(0)) this.#store.live?.releaseBlob(d);
      if (this.#interest === 0) await this.#closeFiles();
    }
  }

  #sink(): PartSink {
    return {
      dated: (when) => {
        if (this.#parts.length === 0 && !Number.isNaN(when.getTime())) this.#lastModified = wholeSeconds(when);
      },
      startPart: async (role, size) => {
        if (!nextPartRoles(this.#parts.map((p) => p.role)).includes(role))
          throw new GuestgateError(
            'E_UPSTREAM',
            `unexpected part ${role} after ${this.#parts.map((p) => p.role).join(',') || 'nothing'}`,
            { fingerprint: this.fingerprint },
          );
        if (this.#parts.at(-1)?.ended === false)
          throw new GuestgateError('E_UPSTREAM', 'part started before the previous ended', {});
        if (this.signal.aborted) throw this.signal.reason;
        this.#combined ??= streamHasher(this.#sizeHint ?? size);
        const label = `${this.fingerprint}.${this.#parts.length}`;
        const live = this.#store.live;
        const tmp = live ? live.claim(this.#store.cacheDir, label) : tmpName(this.#store.cacheDir, label);
        const fh = await open(tmp, 'wx+', this.#store.modes.file);
        const direct = await openDirect(fh).catch(() => undefined);
        const combined = { hasher: this.#combined, base: this.#received };
        this.#parts.push(newPart(role, fh, direct, tmp, size, combined));
        this.#wake();
      },
      write: async (chunk) => {
        if (this.signal.aborted) throw this.signal.reason;
        const p = this.#parts.at(-1);
        if (!p || p.ended) throw new GuestgateError('E_UPSTREAM', 'data outside a part', {});
        if (p.size !== undefined && p.accepted + chunk.length > p.size)
          throw new GuestgateError('E_INTEGRITY', `upstream sent more than the announced ${p.size} bytes`, {
            fingerprint: this.fingerprint,
          });
        const a = this.#combined!.update(chunk);
        if (a) await a;
        this.#received += chunk.length;
        const b = appendChunk(p, chunk);
        if (b) await b;
        // Readers are woken every WAKE_BYTES, not per chunk.
        if (p.accepted - p.woken >= WAKE_BYTES) {
          p.woken = p.accepted;
          this.#wake();
        }
        // Bounded queue: the upstream waits while more than MAX_QUEUED accepted bytes are not yet written.
        await diskRoom(p);
      },
      endPart: async (expect) => {
        const p = this.#parts.at(-1);
        if (!p || p.ended) throw new GuestgateError('E_UPSTREAM', 'part ended twice', {});
        if (p.size !== undefined && p.accepted !== p.size)
          throw new GuestgateError('E_UPSTREAM', `upstream part ${p.role} ended at ${p.accepted} of ${p.size} bytes`, {
            fingerprint: this.fingerprint,
          });
        await finishPart(p);
        // A split part has its own digest now; a unified file's is the combined one, known at the end.
        if (expect && p.digest !== undefined) assertPartDigest(p.digest, expect);
        else if (expect) this.#unifiedExpect = expect;
        this.#wake();
      },
    };
  }

  async #verifyAndCommit(upstream: string, image: UpstreamImage): Promise<FillResult> {
    const roles = this.#parts.map((p) => p.role);
    const kind = assertComplete(this.#parts, this.fingerprint, upstream);
    const found = await this.#combined!.digest();
    if (this.#unifiedExpect) assertPartDigest(found, this.#unifiedExpect);
    assertDigest(found, this.fingerprint, upstream);
    for (const p of this.#parts) await syncPart(p);
    // Same check as an import: a fingerprint-correct file that is no LXD image is never committed.
    await assertImage(
      this.#parts.map((p) => ({ path: p.tmp, role: p.role, name: `${p.role} from ${upstream}` })),
      'E_UPSTREAM',
    );
    const parts: ManifestPart[] = [];
    for (const p of this.#parts) {
      const digest = p.role === 'unified' ? found : p.digest!;
      this.#held.push(digest);
      await commitBlob(this.#store.cacheDir, p.tmp, digest, this.#store.modes, this.#store.live);
      parts.push({ role: p.role, digest, size: p.written, ext: p.ext ?? '' });
    }
    const type: ImageType = roles.at(-1) === 'rootfs.img' ? 'virtual-machine' : (image.type ?? 'container');
    return { kind, type, parts, upstream, image };
  }

  async #discardParts(): Promise<void> {
    const parts = this.#parts.splice(0);
    // Descriptors stay open for attached readers; #closeFiles closes them (listed before any await).
    this.#dead.push(...parts);
    this.#received = 0;
    this.#unifiedExpect = undefined;
    this.#combined?.close();
    this.#combined = undefined;
    for (const p of parts) {
      p.hash?.close();
      await closeDirect(p);
      await rm(p.tmp, { force: true });
      this.#store.live?.release(p.tmp);
    }
  }
  #dead: FillPart[] = [];
  /** Blobs this fill committed and holds until its manifest is indexed. */
  #held: string[] = [];
  /** What the upstream stated for a unified file's sha256 (checked with the combined digest). */
  #unifiedExpect: PartDigest | undefined;

  async #closeFiles(): Promise<void> {
    if (this.#closed || this.#state === 'running') return;
    this.#closed = true;
    for (const p of [...this.#parts, ...this.#dead]) await p.fh.close().catch(() => {});
  }

  #wake(): void {
    const w = this.#wakers;
    this.#wakers = [];
    for (const f of w) f();
  }
}
