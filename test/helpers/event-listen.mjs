// Event listener run INSIDE a test namespace: connects to the guest socket (websocket or stream
// mode), prints each event line to stdout, exits 0 after `count` events. It fails loudly (stderr and
// a non-zero exit) on anything else: an error reply (non-101 / non-200), a connection error, the
// server closing the stream, or `ms` milliseconds passing before `count` events (exit 2, "timeout").
// stderr gets "open" once the listener is connected, then pings (ws) or the preamble (stream).
// usage: node event-listen.mjs <socket> <ws|stream> <count> <ms> [query]
import net from 'node:net';
import WebSocket from 'ws';

const [socket, mode, count, ms, query = ''] = process.argv.slice(2);
let seen = 0;
const fail = (code, why) => {
  process.stderr.write(`${why}\n`);
  process.exit(code);
};
setTimeout(() => fail(2, `timeout: ${seen} of ${count} events after ${ms} ms`), Number(ms));
const out = (line) => {
  process.stdout.write(line.endsWith('\n') ? line : `${line}\n`);
  if (++seen >= Number(count)) process.exit(0);
};
if (mode === 'ws') {
  const ws = new WebSocket(`ws+unix://${socket}:/1.0/events${query}`);
  ws.on('open', () => process.stderr.write('open\n'));
  ws.on('ping', (d) => process.stderr.write(`ping:${d.toString()}\n`));
  ws.on('message', (d) => out(d.toString()));
  ws.on('unexpected-response', (_req, res) => fail(3, `status:${res.statusCode}`));
  ws.on('error', (e) => fail(4, `error:${e.message}`));
  ws.on('close', (code) => fail(5, `closed by the server (${code}) after ${seen} events`));
} else if (mode === 'stream') {
  const s = net.connect(socket, () => s.write(`GET /1.0/events${query} HTTP/1.1\r\nHost: lxd\r\n\r\n`));
  let buf = '';
  let headerDone = false;
  s.on('error', (e) => fail(4, `error:${e.message}`));
  s.on('close', () => fail(5, `closed by the server after ${seen} events: ${JSON.stringify(buf.slice(0, 300))}`));
  s.on('data', (d) => {
    buf += d.toString();
    if (!headerDone) {
      // LXD's preamble ends in LF LF; an ordinary (error) reply in CRLF CRLF.
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(buf);
      if (status && status[1] !== '200') fail(3, `status:${status[1]}\n${buf.slice(0, 300)}`);
      const i = buf.indexOf('\n\n');
      if (i < 0) {
        if (buf.length > 4096 || (buf.length >= 12 && !status)) fail(3, `not an HTTP reply: ${buf.slice(0, 300)}`);
        return;
      }
      process.stderr.write(`open\n${buf.slice(0, i)}\n`);
      buf = buf.slice(i + 2);
      headerDone = true;
    }
    for (let j = buf.indexOf('\n'); j >= 0; j = buf.indexOf('\n')) {
      out(buf.slice(0, j + 1));
      buf = buf.slice(j + 1);
    }
  });
} else fail(1, `usage: event-listen.mjs <socket> <ws|stream> <count> <ms> [query] (mode ${mode}?)`);
