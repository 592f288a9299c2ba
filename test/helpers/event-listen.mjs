// Event listener run INSIDE a test namespace: connects to the guest socket (websocket or stream
// mode), prints each event line to stdout, exits after `count` events or `ms` milliseconds.
// usage: node event-listen.mjs <socket> <ws|stream> <count> <ms> [query]
import net from 'node:net';
import WebSocket from 'ws';

const [socket, mode, count, ms, query = ''] = process.argv.slice(2);
let seen = 0;
const done = () => process.exit(0);
setTimeout(done, Number(ms));
const out = (line) => {
  process.stdout.write(line.endsWith('\n') ? line : `${line}\n`);
  if (++seen >= Number(count)) done();
};
if (mode === 'ws') {
  const ws = new WebSocket(`ws+unix://${socket}:/1.0/events${query}`);
  ws.on('open', () => process.stderr.write('open\n'));
  ws.on('ping', (d) => process.stderr.write(`ping:${d.toString()}\n`));
  ws.on('message', (d) => out(d.toString()));
  ws.on('unexpected-response', (_req, res) => {
    process.stderr.write(`status:${res.statusCode}\n`);
    process.exit(3);
  });
} else {
  const s = net.connect(socket, () => s.write(`GET /1.0/events${query} HTTP/1.1\r\nHost: lxd\r\n\r\n`));
  let buf = '';
  let headerDone = false;
  s.on('data', (d) => {
    buf += d.toString();
    if (!headerDone) {
      const i = buf.indexOf('\n\n');
      if (i < 0) return;
      process.stderr.write(`open\n${buf.slice(0, i)}\n`);
      buf = buf.slice(i + 2);
      headerDone = true;
    }
    for (let j = buf.indexOf('\n'); j >= 0; j = buf.indexOf('\n')) {
      out(buf.slice(0, j + 1));
      buf = buf.slice(j + 1);
    }
  });
}
