// Exit codes scripts rely on: 3 for a cached image that is not there, 2 for an ambiguous prefix.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { unifiedImage } from '../../fixtures/images/make.ts';
import { cli } from '../helpers/service.ts';
import { cliWorkspace } from '../helpers/images.ts';

let t: { dir: string; cleanup: () => Promise<void> };
let config: string;
beforeEach(async () => {
  const w = await cliWorkspace();
  t = w;
  config = w.config;
});
afterEach(() => t.cleanup());

it('images rm <unknown> and images pin <unknown> exit 3 naming the prefix', async () => {
  const u = await unifiedImage(16 * 1024);
  await writeFile(join(t.dir, 'u.tar.gz'), u.files[0]!);
  expect((await cli(['images', 'import', join(t.dir, 'u.tar.gz'), '--config', config])).code).toBe(0);
  for (const verb of ['rm', 'pin']) {
    const r = await cli(['images', verb, 'ffffffffffff', '--config', config]);
    expect(r.stderr, verb).toBe('guestgate: no cached image matches ffffffffffff\n');
    expect(r.code, verb).toBe(3);
  }
  // Positive control: the real fingerprint is found.
  expect((await cli(['images', 'rm', u.fingerprint.slice(0, 12), '--config', config])).code).toBe(0);
});
