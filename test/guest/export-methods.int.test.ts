// Methods other than GET/HEAD on /1.0/images/<fp>/export answer as the dialect's daemon does
// (LXD 5.0.2 and Incus route on the path alone: the GET answer; LXD >= 6.4: 501 for the other known
// verbs, as on its other endpoints), never a 500 with an error-level log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { unifiedImage, writeToDir, type MadeImage } from '../../fixtures/images/make.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { get } from '../helpers/images.ts';

let imgDir: string;
let img: MadeImage;
const gws: TestGateway[] = [];
const logs: string[] = [];
const errorLogs = (): string[] => logs.filter((l) => l.includes('"level":50'));

async function gateway(dialect: 'lxd-5.0' | 'lxd' | 'incus'): Promise<TestGateway> {
  const logStream = new PassThrough();
  logStream.on('data', (d: Buffer) => logs.push(...d.toString().split('\n').filter(Boolean)));
  const gw = await startGateway({
    guest: { dialect, demo_instance: 'demo' },
    images: { upstreams: [{ type: 'dir', path: imgDir }] },
    instances: [
      {
        name: 'demo',
        config: { [dialect === 'incus' ? 'security.guestapi.images' : 'security.devlxd.images']: 'true' },
        identity: { root_uid: 0 },
      },
    ],
    logLevel: 'info',
    logStream,
  });
  gws.push(gw);
  return gw;
}

beforeAll(async () => {
  imgDir = mkdtempSync(join(tmpdir(), 'gg-imgs-'));
  chmodSync(imgDir, 0o755);
  img = await unifiedImage(64 * 1024);
  await writeToDir(imgDir, img);
});
afterAll(async () => {
  for (const g of gws) await g.close();
  rmSync(imgDir, { recursive: true, force: true });
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe.each(['lxd-5.0', 'incus'] as const)('%s: the method is not looked at', (dialect) => {
  it.each(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])('%s answers the GET answer', async (method) => {
    const gw = await gateway(dialect);
    const r = await get(gw.socket, `/1.0/images/${img.fingerprint}/export`, { method });
    expect(r.status).toBe(200);
    expect(sha(r.body)).toBe(img.fingerprint);
    expect(errorLogs()).toEqual([]);
  });
});

describe('lxd (6.x): per-endpoint methods', () => {
  it('answers 501 Not Implemented to the other known verbs, as on its other endpoints, and never logs an error', async () => {
    const gw = await gateway('lxd');
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await get(gw.socket, `/1.0/images/${img.fingerprint}/export`, { method });
      expect([method, r.status, r.body.toString()]).toEqual([method, 501, 'Not Implemented\n']);
    }
    expect(errorLogs()).toEqual([]);
  });
});
