// Child process for the durability test: import one image file into a fresh cache, print the
// blob digests and the cache folder as JSON, exit.  node import-once.ts <state_dir> <file>
import { service } from './images.ts';

const [stateDir, file] = process.argv.slice(2);
if (!stateDir || !file) throw new Error('usage: import-once.ts <state_dir> <image file>');
const svc = await service(stateDir);
const info = await svc.import([file]);
await svc.close();
process.stdout.write(JSON.stringify({ cacheDir: svc.cacheDir, fingerprint: info.fingerprint }));
