// The NoCloud HTTP seed for VMs and bare metal: GET meta-data, user-data, vendor-data, network-config
// for the caller (by source address or capability token), rendered through its image's templates
// when the image is cached, else the template set (nocloud.templates_dir, else the default templates/). Optional files are empty 200s so
// cloud-init never stalls ~10 s retrying. Requests with proxy forwarding headers are refused (400).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { NoCloudConfig } from '../config/sections/nocloud.ts';
import type { Inventory } from '../inventory/inventory.ts';
import { noCloudMetaData } from '../cloudinit/seed.ts';
import { templatedSeed } from '../cloudinit/seed-templates.ts';
import type { ImageService } from '../images/index.ts';
import { TemplateSets } from '../templates/for-instance.ts';
import { configuredTemplateSet } from '../templates/load-dir.ts';
import type { Counter, Histogram } from '../metrics/registry.ts';
import { listenTcp, parseHostPort, tcpAddress } from '../net/address.ts';
import { listenFd } from '../net/unix-listen.ts';
import { guardConnections, serverTimeouts, type ListenerLimits } from '../net/conn-guard.ts';
import { GuestgateError, isGuestgateError } from '../errors.ts';
import { toNoCloudError } from './http-errors.ts';
import { FORWARDING_HEADERS, resolveNoCloud } from './resolve.ts';

export interface NoCloudServer {
  readonly server: Server;
  /** host:port actually bound. */
  readonly address: string;
  close(): Promise<void>;
}

export interface NoCloudMetrics {
  readonly requests: Counter;
  readonly latency: Histogram;
}

export async function startNoCloudServer(
  cfg: NoCloudConfig & { listen: string },
  inventory: Inventory,
  log: Logger,
  metrics?: NoCloudMetrics,
  limits?: ListenerLimits,
  images?: Pick<ImageService, 'list' | 'cacheDir'>,
  /** An inherited listening fd (socket activation, restart). */
  fd?: number,
): Promise<NoCloudServer> {
  const templates = new TemplateSets(images, configuredTemplateSet(cfg.templates_dir));
  const server = createServer(serverTimeouts(limits, 30_000), (req, res) => {
    const started = performance.now();
    void answer(req, res, { cfg, inventory, templates, log }).then((file) => {
      metrics?.requests.inc({ file, status: String(res.statusCode) });
      metrics?.latency.observe({ file }, (performance.now() - started) / 1000);
    });
  });
  // Callers are counted by source address (a VM's, or a NAT's: many VMs behind one share its cap).
  const keyOf = (s: { remoteAddress?: string }) => ({ key: `address:${s.remoteAddress}`, cap: limits!.perInstance });
  if (limits) guardConnections(server, { ...limits, listener: 'nocloud', keyOf });
  const address =
    fd === undefined
      ? await listenTcp(server, parseHostPort(cfg.listen))
      : await listenFd(server, fd).then(() => tcpAddress(server, cfg.listen));
  return {
    server,
    address,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, status: number, body: string, head: boolean): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(head ? undefined : body);
}

/** Answer one request; errors go through toNoCloudError. Returns the metrics label (the file name, or "other"). */
/** What every request is answered from. */
interface Served {
  readonly cfg: NoCloudConfig;
  readonly inventory: Inventory;
  readonly templates: TemplateSets;
  readonly log: Logger;
}

async function answer(req: IncomingMessage, res: ServerResponse, served: Served): Promise<string> {
  const head = req.method === 'HEAD';
  const { log } = served;
  try {
    return await serveFile(req, res, served);
  } catch (e) {
    const w = toNoCloudError(e);
    if (w.status === 500) log.error({ err: (e as Error).message }, 'nocloud request failed');
    for (const [k, v] of Object.entries(w.headers)) res.setHeader(k, v);
    send(res, w.status, w.body, head && w.status !== 405);
    const file = isGuestgateError(e) ? e.fields.file : undefined;
    return typeof file === 'string' && w.status === 403 ? file : 'other';
  }
}

async function serveFile(
  req: IncomingMessage,
  res: ServerResponse,
  { cfg, inventory, templates, log }: Served,
): Promise<string> {
  const remote = req.socket.remoteAddress ?? '';
  const path = (req.url ?? '/').split('?')[0]!;
  const head = req.method === 'HEAD';
  const proxied = FORWARDING_HEADERS.find((h) => req.headers[h] !== undefined);
  if (proxied) {
    log.warn({ remote, path, header: proxied }, 'nocloud request refused: proxy forwarding header');
    throw new GuestgateError(
      'E_BAD_REQUEST',
      `requests carrying a ${proxied} header are refused (the seed is served to instances directly, never through a proxy)`,
      { header: proxied },
    );
  }
  if (req.method !== 'GET' && !head) throw new GuestgateError('E_METHOD_NOT_ALLOWED', 'GET and HEAD only');
  const r = resolveNoCloud(path, remote, cfg.identify_by, inventory);
  if (!r.ok) {
    log.info({ remote, path, status: r.status, reason: r.reason }, 'nocloud request refused');
    throw new GuestgateError(r.status === 403 ? 'E_FORBIDDEN' : 'E_NOT_FOUND', r.reason, { file: r.file });
  }
  if (r.file === 'meta-data') {
    const m = noCloudMetaData(r.instance);
    if (m.warning) log.warn({ instance: r.instance.key }, m.warning);
  }
  // The seed a new instance gets: the `create` rendering of its image's templates, else of the
  // default set (guestgate's own file where no template renders it).
  const body = templatedSeed(await templates.for(r.instance), r.instance, 'create').files[r.file];
  send(res, 200, body, head);
  log.info(
    { instance: r.instance.key, file: r.file, by: r.by, remote, bytes: Buffer.byteLength(body) },
    'nocloud request',
  );
  return r.file;
}
