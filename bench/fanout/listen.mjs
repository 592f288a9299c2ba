// Event listeners for bench/fanout, run INSIDE one instance's pid namespace: opens COUNT listeners on the
// guest socket's /1.0/events (WebSocket or raw stream mode) and stamps each arrival of a config event for
// KEY with CLOCK_MONOTONIC (process.hrtime, the same clock in every process of this kernel), so the
// runner can subtract the time it sent the change.
//   node listen.mjs SOCKET COUNT ws|stream KEY
// stdout, one line each:  open <i>  |  ev <ns> <i> <value>  |  retry <i> <code>  |  fail <i> <why>
// A connect that fails with EAGAIN (the socket's listen backlog is full: many listeners connecting at
// once) is retried after a short random pause, and reported as `retry`; anything else is a `fail`.
// Exits when stdin closes (the runner ends it) or on SIGTERM.
import net from 'node:net';
import WebSocket from 'ws';

const [socket, countText, mode, key] = process.argv.slice(2);
const count = Number(countText);
if (!socket || !(count > 0) || (mode !== 'ws' && mode !== 'stream') || !key) {
  process.stderr.write('usage: node listen.mjs SOCKET COUNT ws|stream KEY\n');
  process.exit(1);
}
const out = (line) => process.stdout.write(`${line}\n`);
/** One event document (a JSON line or a ws message) that arrived at `ns` on listener `i`. */
const seen = (i, ns, text) => {
  const e = JSON.parse(text);
  if (e.type === 'config' && e.metadata?.key === key) out(`ev ${ns} ${i} ${e.metadata.value}`);
};

/** Listener `i`'s connection attempt: `opened()` once it listens; `failed(why, code)` ends the attempt. */
function attempt(i, tries) {
  let state = 'connecting';
  const opened = () => {
    state = 'open';
    out(`open ${i}`);
  };
  const failed = (why, code) => {
    if (state === 'done') return;
    const retry = state === 'connecting' && code === 'EAGAIN' && tries < 1000;
    state = 'done';
    if (!retry) return out(`fail ${i} ${why}`);
    out(`retry ${i} ${code}`);
    setTimeout(() => attempt(i, tries + 1), 5 + Math.random() * 5 * Math.min(tries + 1, 20));
  };
  (mode === 'ws' ? openWs : openStream)(i, opened, failed);
}

function openWs(i, opened, failed) {
  const ws = new WebSocket(`ws+unix://${socket}:/1.0/events?type=config`);
  ws.on('open', opened);
  ws.on('message', (d) => seen(i, process.hrtime.bigint(), d.toString()));
  ws.on('unexpected-response', (_req, res) => failed(`status ${res.statusCode}`));
  ws.on('error', (e) => failed(`error ${e.message}`, e.code));
  ws.on('close', (code) => failed(`closed by the server (${code})`));
}

function openStream(i, opened, failed) {
  const s = net.connect(socket, () => s.write('GET /1.0/events?type=config HTTP/1.1\r\nHost: lxd\r\n\r\n'));
  let buf = '';
  let headerDone = false;
  s.on('error', (e) => failed(`error ${e.message}`, e.code));
  s.on('close', () => failed('closed by the server'));
  s.on('data', (d) => {
    const ns = process.hrtime.bigint();
    buf += d.toString();
    if (!headerDone) {
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(buf);
      if (status && status[1] !== '200') {
        failed(`status ${status[1]}`);
        s.destroy();
        return;
      }
      // LXD's preamble ends in LF LF.
      const end = buf.indexOf('\n\n');
      if (end < 0) return;
      buf = buf.slice(end + 2);
      headerDone = true;
      opened();
    }
    for (let j = buf.indexOf('\n'); j >= 0; j = buf.indexOf('\n')) {
      const line = buf.slice(0, j).trim();
      buf = buf.slice(j + 1);
      if (line) seen(i, ns, line);
    }
  });
}

for (let i = 0; i < count; i++) attempt(i, 0);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
