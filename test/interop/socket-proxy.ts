// A unix socket that forwards every connection to another (the real LXD's): `cut()` drops every
// connection and stops listening, `listen()` again restores it, as when the server restarts.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class SocketProxy {
  readonly path: string;
  readonly #target: string;
  #server: Server | undefined;
  readonly #conns = new Set<Socket>();

  constructor(path: string, target: string) {
    this.path = path;
    this.#target = target;
  }

  listen(): Promise<void> {
    this.#server = createServer((c) => {
      const up = createConnection(this.#target);
      this.#conns.add(c).add(up);
      c.pipe(up).pipe(c);
      const drop = (): void => {
        for (const s of [c, up]) {
          s.destroy();
          this.#conns.delete(s);
        }
      };
      c.on('error', drop).on('close', drop);
      up.on('error', drop).on('close', drop);
    });
    return new Promise((r) => this.#server!.listen(this.path, r));
  }

  cut(): Promise<void> {
    for (const c of this.#conns) c.destroy();
    this.#conns.clear();
    return new Promise((r) => (this.#server ? this.#server.close(() => r()) : r()));
  }
}
