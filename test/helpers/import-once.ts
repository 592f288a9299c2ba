// Child process for the durability test: import one image file into a fresh cache, print the
// blob digests and the cache folder as JSON, exit.  node import-once.ts <state_dir> <file>
import pino from 'pino';
import { createImageService } from '../../src/images/index.ts';

const [stateDir, file] = process.argv.slice(2);
if (!stateDir || !file) throw new Error('usage: import-once.ts <state_dir> <image file>');
const svc = await createImageService(
  {
    cache_dir: undefined,
    max_size: 1024 ** 3,
    pinned: [],
    file_mode: 0o600,
    upstreams: [],
    lookup_ttl: 5_000,
    drain_timeout: 300_000,
    upstream_timeouts: undefined,
  },
  { stateDir, log: pino({ level: 'silent' }) },
);
const info = await svc.import([file]);
await svc.close();
process.stdout.write(JSON.stringify({ cacheDir: svc.cacheDir, fingerprint: info.fingerprint }));
