// A real LXD or Incus server's REST API, over its unix socket or HTTPS with a client certificate:
// `GET /1.0/images/<fp>` for flags and properties, `GET /1.0/images/<fp>/export` for the bytes
// (one file, or multipart/form-data with `metadata` then `rootfs`/`rootfs.img`).
import { GuestgateError } from '../../errors.ts';
import { isDigest } from '../fingerprint.ts';
import { nextPartRoles, type PartRole } from '../store/manifest.ts';
import { MultipartParser, MultipartError } from './multipart-parser.ts';
import { boundaryOf } from '../export/multipart.ts';
import { envelopeError, envelopeMetadata } from '../../lxd/api.ts';
import { LxdClient } from '../../lxd/client.ts';
import type { Endpoint } from '../../net/http-client.ts';
import { DIRECT_SLABS } from '../fill/direct.ts';
import { pump, type PartSink, type Upstream, type UpstreamImage } from './types.ts';
import { lxdImageChanges } from './lxd-changes.ts';

export interface LxdUpstreamOptions extends Endpoint {
  readonly type: 'lxd' | 'incus';
  readonly project: string;
}

interface LxdImage {
  fingerprint?: unknown;
  public?: unknown;
  cached?: unknown;
  type?: unknown;
  size?: unknown;
  architecture?: unknown;
  properties?: unknown;
  created_at?: unknown;
  uploaded_at?: unknown;
}

function toImage(m: LxdImage): UpstreamImage | undefined {
  if (typeof m.fingerprint !== 'string' || !isDigest(m.fingerprint)) return undefined;
  const props: Record<string, string> = {};
  if (typeof m.properties === 'object' && m.properties !== null)
    for (const [k, v] of Object.entries(m.properties)) if (typeof v === 'string') props[k] = v;
  const when =
    typeof m.uploaded_at === 'string'
      ? new Date(m.uploaded_at)
      : typeof m.created_at === 'string'
        ? new Date(m.created_at)
        : undefined;
  return {
    fingerprint: m.fingerprint,
    public: m.public === true,
    cached: m.cached === true,
    ...(m.type === 'virtual-machine' || m.type === 'container' ? { type: m.type } : {}),
    ...(typeof m.size === 'number' ? { size: m.size } : {}),
    ...(typeof m.architecture === 'string' ? { architecture: m.architecture } : {}),
    properties: props,
    ...(when && !Number.isNaN(when.getTime()) && when.getTime() > 0 ? { lastModified: when } : {}),
  };
}

export function lxdUpstream(opts: LxdUpstreamOptions): Upstream {
  const client = new LxdClient(opts);
  const name = `${opts.type}:${client.where}`;
  const changes = lxdImageChanges(client, opts.project);

  return {
    name,
    changes,
    async find(prefix, signal) {
      // LXD resolves a unique prefix itself (and says "More than one image matches" otherwise).
      const { status, body } = await client.image(prefix, opts.project, signal);
      if (status === 404) return [];
      if (status !== 200) {
        const msg = envelopeError(body);
        if (/more than one/i.test(msg))
          throw new GuestgateError('E_IMAGE_AMBIGUOUS', 'More than one image matches', {
            fingerprint: prefix,
            upstream: name,
          });
        throw new GuestgateError('E_UPSTREAM', `upstream ${name}: GET image: ${status} ${msg}`, {
          upstream: name,
          status,
        });
      }
      const img = toImage((envelopeMetadata(body) ?? {}) as LxdImage);
      return img?.fingerprint.startsWith(prefix) ? [img] : [];
    },
    async fetch(image, sink: PartSink, signal) {
      const res = await client.exportImage(image.fingerprint, opts.project, signal, DIRECT_SLABS);
      if (res.status !== 200) {
        res.destroy();
        throw new GuestgateError('E_UPSTREAM', `upstream ${name}: export answered ${res.status}`, {
          upstream: name,
          status: res.status,
        });
      }
      const lastModified = res.headers['last-modified'];
      if (typeof lastModified === 'string') sink.dated?.(new Date(lastModified));
      const boundary = boundaryOf(res.headers['content-type']);
      if (!boundary) {
        const len = Number(res.headers['content-length']);
        await sink.startPart('unified', Number.isSafeInteger(len) && len >= 0 ? len : undefined);
        const n = await pump(res.body, sink);
        if (!res.complete)
          throw new GuestgateError('E_UPSTREAM', `upstream ${name}: export truncated after ${n} bytes`, {
            upstream: name,
          });
        await sink.endPart();
        return;
      }
      const roles: PartRole[] = [];
      const parser = new MultipartParser(boundary, {
        onPart: async (p) => {
          // A multipart export is always split: the part-order rule without the unified file.
          const want: readonly string[] = nextPartRoles(roles).filter((r) => r !== 'unified');
          if (!p.name || !want.includes(p.name))
            throw new MultipartError(`unexpected part ${JSON.stringify(p.name)} at position ${roles.length + 1}`);
          roles.push(p.name as PartRole);
          await sink.startPart(p.name as PartRole);
        },
        onData: (c) => sink.write(c),
        onPartEnd: () => sink.endPart(),
      });
      try {
        for await (const chunk of res.body) await parser.write(chunk);
        parser.end();
      } catch (e) {
        if (e instanceof MultipartError)
          throw new GuestgateError('E_UPSTREAM', `upstream ${name}: ${e.message}`, { upstream: name }, { cause: e });
        throw e;
      }
      if (roles.length !== 2)
        throw new GuestgateError('E_UPSTREAM', `upstream ${name}: multipart export had ${roles.length} parts`, {
          upstream: name,
        });
    },
    async close() {
      changes.close();
      client.close();
    },
  };
}
