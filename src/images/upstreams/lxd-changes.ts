// The image lifecycle events of a real LXD/Incus server (its /1.0/events websocket), as a
// ChangeFeed: connected once the handshake is done; reconnects with backoff; every (re)connect and
// disconnect reports "anything may have changed", so nothing learnt before a gap is reused after it.
import type WebSocket from 'ws';
import type { LxdClient } from '../../lxd/client.ts';
import { imageChanged, type ChangeFeed } from './changes.ts';

export function lxdImageChanges(client: LxdClient, project: string): ChangeFeed {
  const listeners: ((fp: string | undefined) => void)[] = [];
  const emit = (fp: string | undefined): void => {
    for (const l of listeners) l(fp);
  };
  let ws: WebSocket | undefined;
  let connected = false;
  let closed = false;
  let attempt = 0;
  let timer: NodeJS.Timeout | undefined;

  const connect = (): void => {
    if (closed) return;
    const s = client.events(`project=${encodeURIComponent(project)}`);
    ws = s;
    s.on('open', () => {
      attempt = 0;
      connected = true;
      emit(undefined);
    });
    s.on('message', (data, isBinary) => {
      if (isBinary) return;
      try {
        const fp = imageChanged(JSON.parse(String(data)), project);
        if (fp) emit(fp);
      } catch {
        /* not JSON: ignored */
      }
    });
    s.on('error', () => {});
    s.on('close', () => {
      const was = connected;
      connected = false;
      if (was) emit(undefined);
      if (closed) return;
      timer = setTimeout(connect, Math.min(15_000, 250 * 2 ** attempt++));
      timer.unref();
    });
  };
  connect();

  return {
    get connected() {
      return connected;
    },
    onChange(l) {
      listeners.push(l);
    },
    close() {
      closed = true;
      connected = false;
      clearTimeout(timer);
      ws?.terminate();
    },
  };
}
