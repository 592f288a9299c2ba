// The LXD/Incus REST calls guestgate makes (inventory and image upstream), over the shared HTTP client (unix socket,
// or HTTPS with a client certificate), plus the lifecycle event websocket.
import type { AlignedSlabs, StreamResponse } from '../net/http-client-stream.ts';
import WebSocket from 'ws';
import { GuestgateError, isGuestgateError } from '../errors.ts';
import { httpClient, type Endpoint, type HttpClient } from '../net/http-client.ts';
import { loadTlsFiles } from '../net/tls.ts';
import { envelopeError, envelopeMetadata, type InstancePut, type LxdInstance } from './api.ts';

/** Extra tries of an instance's /state after a 5xx (50 ms doubling: 1.55 s in all). */
const INIT_PID_RETRIES = 5;

export interface ServerInfo {
  readonly extensions: ReadonlySet<string>;
  readonly serverName: string | undefined;
  /** Part of a cluster (`environment.server_clustered`): instances then carry their member's name. */
  readonly clustered: boolean;
}

const instanceUrl = (project: string, name: string): string =>
  `/1.0/instances/${encodeURIComponent(name)}?project=${encodeURIComponent(project)}`;

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

  async #json(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; metadata: unknown; etag?: string | undefined }> {
    let r: Awaited<ReturnType<HttpClient['send']>>;
    try {
      r = await this.#http.send(method, path, body, undefined, headers);
    } catch (e) {
      throw new GuestgateError(
        'E_UNAVAILABLE',
        `cannot reach LXD at ${this.where}: ${(e as Error).message}`,
        { where: this.where, path },
        { cause: e },
      );
    }
    if (r.status === 412)
      throw new GuestgateError('E_CONFLICT', `LXD at ${this.where}: ${method} ${path}: changed meanwhile (412)`, {
        where: this.where,
        path,
        status: r.status,
      });
    if (r.status >= 300 && r.status !== 404)
      throw new GuestgateError(
        'E_UPSTREAM',
        `LXD at ${this.where}: ${method} ${path}: ${r.status} ${envelopeError(r.body)}`,
        { where: this.where, path, status: r.status },
      );
    return { status: r.status, metadata: envelopeMetadata(r.body), etag: r.etag };
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
    const { status, metadata } = await this.#json('GET', instanceUrl(project, name));
    return status === 404 ? undefined : (metadata as LxdInstance);
  }

  /** One instance and its ETag (for a PUT with If-Match), or undefined when it does not exist. */
  async getForUpdate(project: string, name: string): Promise<{ instance: LxdInstance; etag?: string } | undefined> {
    const { status, metadata, etag } = await this.#json('GET', instanceUrl(project, name));
    if (status === 404) return undefined;
    return { instance: metadata as LxdInstance, ...(etag ? { etag } : {}) };
  }

  /**
   * Host pid of the instance's init (undefined when not running). A container that is starting or
   * stopping may answer 500 for a moment (Incus 6.0.4: "Invalid PID" while its pid file is written):
   * asked again a few times, 50 ms doubling, before the error stands.
   */
  async initPid(project: string, name: string): Promise<number | undefined> {
    const path = `/1.0/instances/${encodeURIComponent(name)}/state?project=${encodeURIComponent(project)}`;
    let state: { status: number; metadata: unknown } | undefined;
    for (let attempt = 0, waitMs = 50; !state; attempt++, waitMs *= 2) {
      try {
        state = await this.#json('GET', path);
      } catch (e) {
        const status = isGuestgateError(e) ? (e.fields.status as number | undefined) : undefined;
        if (attempt >= INIT_PID_RETRIES || status === undefined || status < 500) throw e;
        await new Promise((r) => setTimeout(r, waitMs));
      }
    }
    const { status, metadata } = state;
    if (status === 404) return undefined;
    const pid = (metadata as { pid?: unknown } | undefined)?.pid;
    return typeof pid === 'number' && pid > 0 ? pid : undefined;
  }

  async patchConfig(project: string, name: string, config: Record<string, string>): Promise<void> {
    await this.patchInstance(project, name, { config });
  }

  /** `PATCH /1.0/instances/<name>`: the given config keys and devices are merged into the instance's own (sync). */
  async patchInstance(
    project: string,
    name: string,
    patch: { config?: Record<string, string>; devices?: Record<string, Record<string, string>> },
  ): Promise<void> {
    const { status } = await this.#json('PATCH', instanceUrl(project, name), patch);
    if (status === 404) throw this.#notFound(project, name);
  }

  /**
   * `PUT /1.0/instances/<name>`: replaces the instance's own config and devices; waits for the operation.
   * With `etag` (from getForUpdate), a change made meanwhile makes it fail with E_CONFLICT (412).
   */
  async putInstance(project: string, name: string, put: InstancePut, etag?: string): Promise<void> {
    const { status, metadata } = await this.#json(
      'PUT',
      instanceUrl(project, name),
      put,
      etag ? { 'If-Match': etag } : undefined,
    );
    if (status === 404) throw this.#notFound(project, name);
    const id = (metadata as { id?: unknown } | undefined)?.id;
    if (typeof id !== 'string') return; // answered synchronously
    const op = await this.#json('GET', `/1.0/operations/${encodeURIComponent(id)}/wait?timeout=120`);
    const m = (op.metadata ?? {}) as { status?: unknown; err?: unknown };
    if (m.status !== 'Success')
      throw new GuestgateError(
        'E_UPSTREAM',
        `LXD at ${this.where}: updating instance ${project}/${name}: ${String(m.err || m.status)}`,
        { where: this.where },
      );
  }

  #notFound(project: string, name: string): GuestgateError {
    return new GuestgateError('E_NOT_FOUND', `LXD at ${this.where}: instance ${project}/${name} not found`, {
      where: this.where,
    });
  }

  /** `GET /1.0/images/<prefix>`: the raw answer (LXD resolves a unique prefix; the caller reads the envelope). */
  image(prefix: string, project: string, signal?: AbortSignal): Promise<{ status: number; body: unknown }> {
    return this.#http.getJson(`/1.0/images/${prefix}?project=${encodeURIComponent(project)}`, signal);
  }

  /** `GET /1.0/images/<fp>/export`: the response with its body unread (one file, or multipart). */
  exportImage(
    fingerprint: string,
    project: string,
    signal?: AbortSignal,
    slabs?: AlignedSlabs,
  ): Promise<StreamResponse> {
    const path = `/1.0/images/${fingerprint}/export?project=${encodeURIComponent(project)}`;
    return this.#http.stream(path, signal, slabs);
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
