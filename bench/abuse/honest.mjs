// The honest instance's client when no native uxload is given: sequential keep-alive GETs for SECONDS.
//   node honest.mjs SOCKET PATH SECONDS   -> the same line as uxload prints
import { connect } from 'node:net';

const [sock, path, secondsText] = process.argv.slice(2);
const end = performance.now() + Number(secondsText) * 1000;
const lat = [];
let errors = 0;
const req = `GET ${path} HTTP/1.1\r\nHost: lxd\r\n\r\n`;
const dial = () =>
  new Promise((resolve) => {
    const c = connect(sock, () => resolve(c));
    c.on('error', () => resolve(null));
  });
let c = await dial();
while (performance.now() < end) {
  if (!c || c.destroyed) {
    errors++;
    c = await dial();
    continue;
  }
  const t0 = performance.now();
  const ok = await new Promise((resolve) => {
    let buf = '';
    const onData = (d) => {
      buf += d.toString('latin1');
      const m = /content-length: (\d+)\r\n/i.exec(buf);
      const h = buf.indexOf('\r\n\r\n');
      if (m && h >= 0 && buf.length >= h + 4 + Number(m[1])) done(buf.startsWith('HTTP/1.1 200'));
    };
    const onClose = () => done(false);
    const done = (v) => {
      c.off('data', onData);
      c.off('close', onClose);
      resolve(v);
    };
    c.on('data', onData);
    c.on('close', onClose);
    c.write(req);
  });
  if (ok) lat.push((performance.now() - t0) * 1000);
  else errors++;
}
c?.destroy();
lat.sort((a, b) => a - b);
const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0;
console.log(
  `requests=${lat.length} errors=${errors} rps=${(lat.length / Number(secondsText)).toFixed(0)} p50_us=${q(0.5).toFixed(0)} p99_us=${q(0.99).toFixed(0)} max_us=${q(1).toFixed(0)}`,
);
