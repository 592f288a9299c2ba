// What an operator's journal gets: instance lifecycle at info, an expected 501 at info without a stack,
// and `log.format: pretty` human-readable lines from the real binary.
import { spawn } from 'node:child_process';
import { writeFileSync, unlinkSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { startService, type Service } from '../../src/service.ts';
import { BIN, http, layout, waitHealthy, type Layout } from '../helpers/service.ts';
import { waitFor } from '../helpers/wait.ts';

const layouts: Layout[] = [];
let svc: Service | undefined;
afterAll(async () => {
  await svc?.stop();
  for (const l of layouts) l.cleanup();
});

it('instance added/updated/removed at info; a 501 refusal at info with no stack', async () => {
  const l = layout({ demo: 'name: demo\nidentity: {}\n' });
  layouts.push(l);
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const s of chunk.toString('utf8').split('\n')) if (s) lines.push(JSON.parse(s));
      cb();
    },
  });
  const config = parseConfig(readFileSync(l.configFile, 'utf8'), l.configFile);
  svc = await startService(config, pino({ level: 'info' }, sink));
  const file = join(l.inventory, 'c1.yaml');
  writeFileSync(file, 'name: c1\nidentity: {}\n');
  await waitFor('instance added', () => lines.some((x) => x.msg === 'instance added' && x.instance === 'c1'));
  writeFileSync(file, 'name: c1\nconfig:\n  user.a: "1"\nidentity: {}\n');
  await waitFor('instance updated', () => lines.some((x) => x.msg === 'instance updated' && x.instance === 'c1'));
  unlinkSync(file);
  await waitFor('instance removed', () => lines.some((x) => x.msg === 'instance removed' && x.instance === 'c1'));
  for (const m of ['instance added', 'instance updated', 'instance removed'])
    expect(lines.find((x) => x.msg === m)?.level, m).toBe(30);

  const r = await http(l.guestSock, 'DELETE', '/1.0/config');
  expect(r.status).toBe(501);
  await waitFor('the refusal to be logged', () => lines.some((x) => x.path === '/1.0/config' && x.status === 501));
  const line = lines.find((x) => x.path === '/1.0/config' && x.status === 501)!;
  expect(line.level).toBe(30);
  expect(line.msg).toBe('guest request refused');
  expect(JSON.stringify(line)).not.toContain('"stack"');
});

it('log.format: pretty prints human-readable lines (no JSON)', async () => {
  const l = layout({ demo: 'name: demo\nidentity: {}\n' });
  layouts.push(l);
  writeFileSync(
    l.configFile,
    readFileSync(l.configFile, 'utf8').replace('level: warn', 'level: info\n  format: pretty'),
  );
  const gw = spawn(process.execPath, [BIN, 'serve', '--config', l.configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  gw.stderr.on('data', (c: Buffer) => (err += c));
  try {
    await waitHealthy(l.adminSock, 60_000);
    await waitFor('the listening line', () => err.includes('guest API listening'));
  } finally {
    gw.kill('SIGTERM');
  }
  const first = err.split('\n').find((s) => s.includes('guest API listening'))!;
  expect(first).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO.*: guest API listening/);
  expect(first.trimStart().startsWith('{')).toBe(false);
});
