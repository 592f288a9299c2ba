// Stopping (a restart's predecessor, or SIGTERM) must not drop a connection the gateway has already
// accepted: a caller that connected a moment before the listener closed, and sends its request a
// moment after, gets an answer. Seen in CI: one of 822 restart-hammer connections got ECONNRESET
// because stop() closed every connection (closeAllConnections) as soon as no export was in flight.
// A long-lived event stream must not hold the stop up (it is closed; its client reconnects).
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close().catch(() => undefined);
  gw = undefined;
});

/** Everything the server sends until it closes (or the error that ended the connection). */
const readAll = (s: Socket): Promise<{ text: string; error?: string }> =>
  new Promise((resolve) => {
    let text = '';
    s.on('data', (c: Buffer) => (text += c.toString('latin1')));
    s.on('error', (e: NodeJS.ErrnoException) => resolve({ text, error: e.code ?? e.message }));
    s.on('close', () => resolve({ text }));
  });

it('a connection accepted before stop() is answered even when its request arrives after stop() began', async () => {
  gw = await startGateway({ limits: { header_timeout: '10m' } });
  const g = gw;
  const accepted = once(g.service.guest.server, 'connection');
  const s = connect(g.socket);
  const answer = readAll(s);
  await once(s, 'connect');
  await accepted;
  const stopped = g.service.stop();
  // Let stop() run as far as it goes without this request (a few turns of the event loop).
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  s.write('GET / HTTP/1.1\r\nHost: lxd\r\n\r\n');
  const { text, error } = await answer;
  expect(error, `the connection ended with ${error} after ${JSON.stringify(text)}`).toBeUndefined();
  expect(text).toMatch(/^HTTP\/1\.1 \d{3} /);
  // readAll resolved: the server closed the connection after answering (no keep-alive while stopping).
  await stopped;
  gw = undefined;
}, 60_000);

it('an open event stream does not hold stop() up: it is closed, and stop() finishes', async () => {
  gw = await startGateway({
    limits: { header_timeout: '10m' },
    instances: [{ name: 'c1', match: { uid: process.getuid?.() ?? 0 }, config: {} }],
  });
  const g = gw;
  const s = connect(g.socket);
  const got = readAll(s);
  await once(s, 'connect');
  s.write('GET /1.0/events HTTP/1.1\r\nHost: lxd\r\n\r\n');
  await once(s, 'data');
  await g.service.stop(); // the vitest timeout fails this if the stream holds stop() up
  gw = undefined;
  const { text } = await got;
  expect(text).toMatch(/^HTTP\/1\.1 /);
}, 60_000);
