// A fake LXD daemon for the inventory source, on a unix socket: GET /1.0, the instance list, each
// instance's /state (a pid, or an error status while `failState` says so), and the lifecycle event
// websocket (`emit` sends one event to every listener).
import { createServer, type Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

export interface FakeInstance {
  name: string;
  status: 'Running' | 'Stopped';
  pid: number;
  config?: Record<string, string>;
}

export interface FakeLxdServer {
  readonly instances: Map<string, FakeInstance>;
  /** Names whose /state answers this status (e.g. 500) instead of the pid. */
  readonly failState: Map<string, number>;
  /** How often each instance's /state was asked for. */
  readonly stateReads: Map<string, number>;
  emit(event: Record<string, unknown>): void;
  close(): Promise<void>;
}

const sync = (metadata: unknown) => JSON.stringify({ type: 'sync', status: 'Success', status_code: 200, metadata });

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

export async function fakeLxdServer(socket: string): Promise<FakeLxdServer> {
  const instances = new Map<string, FakeInstance>();
  const failState = new Map<string, number>();
  const stateReads = new Map<string, number>();
  const listeners = new Set<WebSocket>();
  const wss = new WebSocketServer({ noServer: true });
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    res.setHeader('Content-Type', 'application/json');
    const answer = (status: number, body: string): void => {
      res.statusCode = status;
      res.end(body);
    };
    if (url.pathname === '/1.0') return answer(200, sync({ api_extensions: [], environment: { server_name: 'fake' } }));
    if (url.pathname === '/1.0/instances') return answer(200, sync([...instances.values()].map(view)));
    const m = /^\/1\.0\/instances\/([^/]+)(\/state)?$/.exec(url.pathname);
    const inst = m ? instances.get(decodeURIComponent(m[1]!)) : undefined;
    if (!m || !inst)
      return answer(404, JSON.stringify({ type: 'error', error: 'Instance not found', error_code: 404 }));
    if (!m[2]) return answer(200, sync(view(inst)));
    stateReads.set(inst.name, (stateReads.get(inst.name) ?? 0) + 1);
    const fail = failState.get(inst.name);
    if (fail !== undefined)
      return answer(fail, JSON.stringify({ type: 'error', error: "Invalid PID '-1'", error_code: fail }));
    answer(200, sync({ status: inst.status, pid: inst.status === 'Running' ? inst.pid : -1 }));
  });
  server.on('upgrade', (req, sock, head) => {
    wss.handleUpgrade(req, sock, head, (ws) => {
      listeners.add(ws);
      ws.on('close', () => listeners.delete(ws));
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
  return {
    instances,
    failState,
    stateReads,
    emit: (event) => {
      for (const ws of listeners) ws.send(JSON.stringify(event));
    },
    close: async () => {
      for (const ws of listeners) ws.terminate();
      await new Promise((r) => server.close(r));
    },
  };
}
