// The LXD/Incus REST calls guestgate makes (inventory and image upstream), over the shared HTTP client (unix socket,
// or HTTPS with a client certificate), plus the lifecycle event websocket.
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { GuestgateError } from '../errors.ts';
import { httpClient, type Endpoint, type HttpClient } from '../net/http-client.ts';
import { loadTlsFiles } from '../net/tls.ts';
import { envelopeError, envelopeMetadata, type LxdInstance } from './api.ts';

export interface ServerInfo {
  readonly extensions: ReadonlySet<string>;
  readonly serverName: string | undefined;
  /** Part of a cluster (`environment.server_clustered`): instances then carry their member's name. */
  readonly clustered: boolean;
}

export class LxdClient {
  readonly #http: HttpClient;
  readonly #ep: Endpoint;

  constructor(ep: Endpoint) {
    this.#ep = ep;
    this.#http = httpClient(ep);
  }

  get where(): string {
    return this.#http.where;
  }

  async #json(method: string, path: string, body?: unknown): Promise<{ status: number; metadata: unknown }> {
    let r: Awaited<ReturnType<HttpClient['send']>>;
    try {
      r = await this.#http.send(method, path, body);
    } catch (e) {
      throw new GuestgateError(
        'E_UNAVAILABLE',
        `cannot reach LXD at ${this.where}: ${(e as Error).message}`,
        { where: this.where, path },
        { cause: e },
      );
    }
    if (r.status >= 300 && r.status !== 404)
      throw new GuestgateError(
        'E_UPSTREAM',
        `LXD at ${this.where}: ${method} ${path}: ${r.status} ${envelopeError(r.body)}`,
        { where: this.where, path, status: r.status },
      );
    return { status: r.status, metadata: envelopeMetadata(r.body) };
  }

  async info(): Promise<ServerInfo> {
    const { metadata } = await this.#json('GET', '/1.0');
    const m = (metadata ?? {}) as {
      api_extensions?: unknown;
      environment?: { server_name?: unknown; server_clustered?: unknown };
    };
    const ext = Array.isArray(m.api_extensions)
      ? m.api_extensions.filter((x): x is string => typeof x === 'string')
      : [];
    const name = m.environment?.server_name;
    return {
      extensions: new Set(ext),
      serverName: typeof name === 'string' ? name : undefined,
      clustered: m.environment?.server_clustered === true,
    };
  }

  /** Whether `name` is a member of the server's cluster (`GET /1.0/cluster/members/<name>`). */
  async isMember(name: string): Promise<boolean> {
    const { status } = await this.#json('GET', `/1.0/cluster/members/${encodeURIComponent(name)}`);
    return status !== 404;
  }

  /** Every instance with expanded config and devices: one project, or all (`projectQuery`). */
  async list(projectQuery: string): Promise<LxdInstance[]> {
    const { status, metadata } = await this.#json('GET', `/1.0/instances?recursion=1&${projectQuery}`);
    if (status === 404)
      throw new GuestgateError('E_UPSTREAM', `LXD at ${this.where}: ${projectQuery}: project not found`, {
        where: this.where,
      });
    return Array.isArray(metadata) ? (metadata as LxdInstance[]) : [];
  }

  /** One instance, or undefined when it does not exist (any more). */
  async get(project: string, name: string): Promise<LxdInstance | undefined> {
    const { status, metadata } = await this.#json(
      'GET',
      `/1.0/instances/${encodeURIComponent(name)}?project=${encodeURIComponent(project)}`,
    );
    return status === 404 ? undefined : (metadata as LxdInstance);
  }

  /** Host pid of the instance's init (0 or undefined when not running). */
  async initPid(project: string, name: string): Promise<number | undefined> {
    const { status, metadata } = await this.#json(
      'GET',
      `/1.0/instances/${encodeURIComponent(name)}/state?project=${encodeURIComponent(project)}`,
    );
    if (status === 404) return undefined;
    const pid = (metadata as { pid?: unknown } | undefined)?.pid;
    return typeof pid === 'number' && pid > 0 ? pid : undefined;
  }

  async patchConfig(project: string, name: string, config: Record<string, string>): Promise<void> {
    const { status } = await this.#json(
      'PATCH',
      `/1.0/instances/${encodeURIComponent(name)}?project=${encodeURIComponent(project)}`,
      { config },
    );
    if (status === 404)
      throw new GuestgateError('E_NOT_FOUND', `LXD at ${this.where}: instance ${project}/${name} not found`, {
        where: this.where,
      });
  }

  /** `GET /1.0/images/<prefix>`: the raw answer (LXD resolves a unique prefix; the caller reads the envelope). */
  image(prefix: string, project: string, signal?: AbortSignal): Promise<{ status: number; body: unknown }> {
    return this.#http.getJson(`/1.0/images/${prefix}?project=${encodeURIComponent(project)}`, signal);
  }

  /** `GET /1.0/images/<fp>/export`: the response with its body unread (one file, or multipart). */
  exportImage(fingerprint: string, project: string, signal?: AbortSignal): Promise<IncomingMessage> {
    return this.#http.get(`/1.0/images/${fingerprint}/export?project=${encodeURIComponent(project)}`, signal);
  }

  /** The lifecycle event stream (`/1.0/events?type=lifecycle&...`) as a websocket. */
  events(projectQuery: string): WebSocket {
    const path = `/1.0/events?type=lifecycle&${projectQuery}`;
    const ep = this.#ep;
    if (ep.socket) return new WebSocket(`ws+unix://${ep.socket}:${path}`, { handshakeTimeout: 10_000 });
    const base = new URL(ep.url!.endsWith('/') ? ep.url! : `${ep.url!}/`);
    const url = new URL(path.replace(/^\//, ''), base);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return new WebSocket(url, {
      handshakeTimeout: 10_000,
      ...loadTlsFiles({ cert: ep.clientCert, key: ep.clientKey, ca: ep.serverCert }),
    });
  }

  close(): void {
    this.#http.close();
  }
}
