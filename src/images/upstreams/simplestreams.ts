// A simplestreams server (images.linuxcontainers.org style): streams/v1/index.json -> products
// documents -> items. Item paths are relative to the server URL. The catalog is cached briefly
// (and fetched once however many lookups arrive together).
import { GuestgateError } from '../../errors.ts';
import { httpClient, discard, type Endpoint } from '../../net/http-client.ts';
import { imagesFromProducts, productPathsFromIndex, type StreamImage } from './simplestreams-catalog.ts';
import type { PartSink, Upstream, UpstreamImage } from './types.ts';

export interface SimplestreamsOptions extends Endpoint {
  readonly url: string;
  /** How long a fetched catalog is trusted (ms). */
  readonly catalogTtl?: number;
}

export function simplestreamsUpstream(opts: SimplestreamsOptions): Upstream {
  const client = httpClient(opts);
  const name = `simplestreams:${client.where}`;
  const ttl = opts.catalogTtl ?? 60_000;
  let catalog: { at: number; images: Promise<Map<string, StreamImage>> } | undefined;

  async function load(signal?: AbortSignal): Promise<Map<string, StreamImage>> {
    const fail = (what: string): never => {
      throw new GuestgateError('E_UPSTREAM', `upstream ${name}: ${what}`, { upstream: name });
    };
    const idx = await client.getJson('streams/v1/index.json', signal);
    if (idx.status !== 200) fail(`index.json answered ${idx.status}`);
    const all = new Map<string, StreamImage>();
    for (const p of productPathsFromIndex(idx.body)) {
      const doc = await client.getJson(p, signal);
      if (doc.status !== 200) fail(`${p} answered ${doc.status}`);
      for (const [fp, img] of imagesFromProducts(doc.body)) if (!all.has(fp)) all.set(fp, img);
    }
    return all;
  }

  function images(): Promise<Map<string, StreamImage>> {
    if (!catalog || Date.now() - catalog.at > ttl) {
      // Not tied to one caller's signal: other lookups share this fetch.
      const p = load();
      catalog = { at: Date.now(), images: p };
      p.catch(() => {
        if (catalog?.images === p) catalog = undefined;
      });
    }
    return catalog.images;
  }

  const toUpstream = (s: StreamImage): UpstreamImage => {
    const sizes = s.files.map((f) => f.size);
    return {
      fingerprint: s.fingerprint,
      public: true,
      cached: false,
      kind: s.files.length === 1 ? 'unified' : 'split',
      type: s.type,
      ...(sizes.every((n) => n !== undefined) ? { size: sizes.reduce((a, b) => a! + b!, 0) } : {}),
      architecture: s.architecture,
      properties: s.properties,
    };
  };

  return {
    name,
    async find(prefix) {
      const all = await images();
      const exact = all.get(prefix);
      if (exact) return [toUpstream(exact)];
      return [...all.values()].filter((s) => s.fingerprint.startsWith(prefix)).map(toUpstream);
    },
    async fetch(image, sink: PartSink, signal) {
      const s = (await images()).get(image.fingerprint);
      if (!s)
        throw new GuestgateError('E_UPSTREAM', `upstream ${name}: ${image.fingerprint} left the catalog`, {
          upstream: name,
        });
      for (const f of s.files) {
        const res = await client.get(f.path, signal);
        if (res.statusCode !== 200) {
          discard(res);
          throw new GuestgateError('E_UPSTREAM', `upstream ${name}: ${f.path} answered ${res.statusCode}`, {
            upstream: name,
          });
        }
        const len = Number(res.headers['content-length']);
        await sink.startPart(f.role, f.size ?? (Number.isSafeInteger(len) ? len : undefined));
        let n = 0;
        for await (const c of res) {
          n += (c as Buffer).length;
          await sink.write(c as Buffer);
        }
        if (!res.complete || (f.size !== undefined && n !== f.size))
          throw new GuestgateError('E_UPSTREAM', `upstream ${name}: ${f.path} truncated (${n} bytes)`, {
            upstream: name,
          });
        // Items carry their own sha256: the fill's hashers check it too (no second hash here), so a bad
        // item is named precisely.
        await sink.endPart(f.sha256 ? { sha256: f.sha256, what: `upstream ${name}: ${f.path}` } : undefined);
      }
    },
    async close() {
      client.close();
    },
  };
}
