// The instance side of the fake LXD daemon (fake-upstreams.ts fakeLxd), for the inventory source: GET /1.0,
// the instance list, each instance's /state (a pid, or an error status while `failState` says so), and
// the lifecycle event websocket (`emit` sends one event to every listener).
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

export interface FakeInstance {
  name: string;
  status: 'Running' | 'Stopped';
  pid: number;
  config?: Record<string, string>;
}

export interface FakeInstances {
  readonly instances: Map<string, FakeInstance>;
  /** Names whose /state answers this status (e.g. 500) instead of the pid. */
  readonly failState: Map<string, number>;
  /** How often each instance's /state was asked for. */
  readonly stateReads: Map<string, number>;
  emit(event: Record<string, unknown>): void;
}

const sync = (metadata: unknown) => JSON.stringify({ type: 'sync', status: 'Success', status_code: 200, metadata });
const error = (status: number, text: string) => JSON.stringify({ type: 'error', error: text, error_code: status });

function view(i: FakeInstance) {
  return {
    name: i.name,
    project: 'default',
    type: 'container',
    status: i.status,
    status_code: i.status === 'Running' ? 103 : 102,
    config: i.config ?? {},
    expanded_config: i.config ?? {},
    devices: {},
    expanded_devices: {},
    profiles: ['default'],
  };
}

export interface InstanceRoutes extends FakeInstances {
  /** Answers the request if it is one of these routes; false otherwise. */
  handle(url: URL, res: ServerResponse): boolean;
  /** Serves the event websocket on `server`'s upgrades. */
  attach(server: Server): void;
  /** Drops every event listener. */
  close(): void;
}

export function instanceRoutes(): InstanceRoutes {
  const instances = new Map<string, FakeInstance>();
  const failState = new Map<string, number>();
  const stateReads = new Map<string, number>();
  const listeners = new Set<WebSocket>();
  const wss = new WebSocketServer({ noServer: true });
  const answer = (res: ServerResponse, status: number, body: string): true => {
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(body);
    return true;
  };
  return {
    instances,
    failState,
    stateReads,
    emit: (event) => {
      for (const ws of listeners) ws.send(JSON.stringify(event));
    },
    handle(url, res) {
      if (url.pathname === '/1.0')
        return answer(res, 200, sync({ api_extensions: [], environment: { server_name: 'fake' } }));
      if (url.pathname === '/1.0/instances') return answer(res, 200, sync([...instances.values()].map(view)));
      const m = /^\/1\.0\/instances\/([^/]+)(\/state)?$/.exec(url.pathname);
      if (!m) return false;
      const inst = instances.get(decodeURIComponent(m[1]!));
      if (!inst) return answer(res, 404, error(404, 'Instance not found'));
      if (!m[2]) return answer(res, 200, sync(view(inst)));
      stateReads.set(inst.name, (stateReads.get(inst.name) ?? 0) + 1);
      const fail = failState.get(inst.name);
      if (fail !== undefined) return answer(res, fail, error(fail, "Invalid PID '-1'"));
      return answer(res, 200, sync({ status: inst.status, pid: inst.status === 'Running' ? inst.pid : -1 }));
    },
    attach(server) {
      server.on('upgrade', (req: IncomingMessage, sock, head) => {
        wss.handleUpgrade(req, sock, head, (ws) => {
          listeners.add(ws);
          ws.on('close', () => listeners.delete(ws));
        });
      });
    },
    close() {
      for (const ws of listeners) ws.terminate();
    },
  };
}
