// The reference: a bare Node `http` server answering a 3-byte body on a unix socket.
import http from 'node:http';
import { rmSync } from 'node:fs';
const path = process.argv[2];
rmSync(path, { force: true });
http
  .createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': 3 });
    res.end('bar');
  })
  .listen(path, () => process.stdout.write('ready\n'));
