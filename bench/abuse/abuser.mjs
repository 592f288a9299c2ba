// The abusive instance's load, run inside its pid namespace (plain JS: started with the gateway's node).
//   node abuser.mjs SOCKET MODE COUNT
// MODE idle: open COUNT connections that send nothing; slowloris: COUNT connections sending one header
// byte a second; listeners: COUNT event listeners that never read; flood: COUNT requests/s of
// GET /1.0/config/user.key over 8 keep-alive connections. Prints "ready <figures>" once under way,
// then a status line every second; runs until killed.
import { connect } from 'node:net';

const [sock, mode, countText] = process.argv.slice(2);
const count = Number(countText);
const conns = [];
let closed = 0;
let answered = 0;
let refused = 0;

function open(onConnect) {
  return new Promise((resolve) => {
    const c = connect(sock);
    c.on('connect', () => {
      onConnect?.(c);
      resolve(c);
    });
    c.on('error', () => resolve(c));
    c.on('close', () => closed++);
    conns.push(c);
  });
}

async function openMany(n, onConnect, pace = 200) {
  for (let i = 0; i < n; i += pace)
    await Promise.all(Array.from({ length: Math.min(pace, n - i) }, () => open(onConnect)));
}

const status = () => `open=${conns.length - closed} closed=${closed} answered=${answered} refused=${refused}`;

if (mode === 'idle') {
  await openMany(count, (c) => c.resume());
} else if (mode === 'slowloris') {
  const text = 'GET /1.0 HTTP/1.1\r\nHost: lxd\r\nX-Slow: ' + 'a'.repeat(10_000);
  await openMany(count, (c) => {
    c.resume();
    let i = 0;
    const t = setInterval(() => (c.destroyed ? clearInterval(t) : c.write(text[i++ % text.length])), 1000);
  });
} else if (mode === 'listeners') {
  await openMany(count, (c) => {
    c.write('GET /1.0/events HTTP/1.1\r\nHost: lxd\r\n\r\n');
    c.pause();
  });
} else if (mode === 'flood') {
  const req = 'GET /1.0/config/user.key HTTP/1.1\r\nHost: lxd\r\n\r\n';
  const pool = [];
  for (let i = 0; i < 8; i++) {
    const c = await open((s) =>
      s.on('data', (d) => {
        const t = d.toString('latin1');
        answered += (t.match(/HTTP\/1\.1 200/g) ?? []).length;
        refused += (t.match(/HTTP\/1\.1 (4|5)\d\d/g) ?? []).length;
      }),
    );
    pool.push(c);
  }
  // count requests per second, in 10 ms slices.
  let k = 0;
  setInterval(() => {
    for (let i = 0; i < count / 100; i++) {
      const c = pool[k++ % pool.length];
      if (!c.destroyed) c.write(req);
    }
  }, 10);
}
console.log(`ready ${status()}`);
setInterval(() => console.log(status()), 1000);
