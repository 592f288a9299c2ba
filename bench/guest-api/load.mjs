// Closed-loop HTTP/1.1 load over a unix socket: N keep-alive connections, one request in flight per
// connection, for a fixed time. Prints JSON {requests, seconds, rps, p50_ms, p99_ms, errors}.
// A raw client (no http module) so the client is never the bottleneck being measured.
// With mode "fresh", every request opens a new connection (what the per-connection identity costs).
// usage: node load.mjs <socket> <path> <connections> <seconds> [warmup-seconds] [keepalive|fresh]
import net from 'node:net';

const [socket, path, conns, secs, warm = '0.5', mode = 'keepalive'] = process.argv.slice(2);
const fresh = mode === 'fresh';
const request = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: lxd\r\n${fresh ? 'Connection: close\r\n' : ''}\r\n`);
const lat = [];
let errors = 0;
let measuring = false;
let stop = false;

/** One request per connection, connections one after another, until stopped. */
async function freshLoop() {
  while (!stop) {
    await new Promise((resolve) => {
      const t0 = process.hrtime.bigint();
      const s = net.connect(socket);
      let head = '';
      s.on('connect', () => s.write(request));
      s.on('data', (d) => {
        if (!head) head = d.toString('latin1', 0, 12);
      });
      s.on('error', () => {
        errors++;
        resolve();
      });
      s.on('close', () => {
        if (!head.startsWith('HTTP/1.1 200')) errors++;
        else if (measuring) lat.push(Number(process.hrtime.bigint() - t0));
        resolve();
      });
    });
  }
}

function connection() {
  if (fresh) return freshLoop();
  return new Promise((resolve) => {
    const s = net.connect(socket);
    let buf = Buffer.alloc(0);
    let t0 = 0n;
    const send = () => {
      if (stop) {
        s.end();
        resolve();
        return;
      }
      t0 = process.hrtime.bigint();
      s.write(request);
    };
    s.on('connect', send);
    s.on('data', (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      for (;;) {
        const h = buf.indexOf('\r\n\r\n');
        if (h < 0) return;
        const head = buf.subarray(0, h).toString('latin1');
        const m = /content-length: (\d+)/i.exec(head);
        const total = h + 4 + (m ? Number(m[1]) : 0);
        if (buf.length < total) return;
        if (!head.startsWith('HTTP/1.1 200')) errors++;
        buf = buf.subarray(total);
        if (measuring) lat.push(Number(process.hrtime.bigint() - t0));
        send();
      }
    });
    s.on('error', () => {
      errors++;
      resolve();
    });
    s.on('close', resolve);
  });
}

const all = Array.from({ length: Number(conns) }, connection);
await new Promise((r) => setTimeout(r, Number(warm) * 1000));
measuring = true;
const start = process.hrtime.bigint();
await new Promise((r) => setTimeout(r, Number(secs) * 1000));
measuring = false;
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
stop = true;
await Promise.all(all);
lat.sort((a, b) => a - b);
const q = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] / 1e6 : NaN);
process.stdout.write(
  JSON.stringify({
    requests: lat.length,
    seconds,
    rps: lat.length / seconds,
    p50_ms: q(0.5),
    p99_ms: q(0.99),
    errors,
  }) + '\n',
);
