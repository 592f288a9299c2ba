// kill -9 during a burst of admin writes, then restart: every acknowledged write is there, and
// every inventory file is whole (parses); nothing half-written. Any write answered with an error
// fails the test. (kill -9 cannot see a missing fsync, the page cache survives it: fsync.root.test.ts
// checks that at the system-call level.)
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { parseInstanceYaml } from '../../src/inventory/parse.ts';
import { http, json, layout, spawnGateway, waitHealthy, type Layout } from '../helpers/service.ts';
import { waitFor } from '../helpers/wait.ts';

let l: Layout | undefined;
afterAll(() => l?.cleanup());

it('keeps every acknowledged write across kill -9', async () => {
  const names = ['a1', 'a2', 'a3', 'a4'];
  l = layout(Object.fromEntries(names.map((n) => [n, `name: ${n}\nconfig:\n  user.seq: "0"\n`])));
  const acked = new Map<string, number>(); // instance -> highest acknowledged seq
  const createdAcked = new Set<string>();
  let total = 0;
  for (let round = 0; round < 3; round++) {
    const gw = spawnGateway(l.configFile);
    await waitHealthy(l.adminSock);
    let stop = false;
    const writers = names.map(async (n) => {
      for (let seq = (acked.get(n) ?? 0) + 1; !stop; seq++) {
        try {
          const r = await http(
            l!.adminSock,
            'PATCH',
            `/1.0/instances/${n}`,
            ...json({ config: { 'user.seq': String(seq), 'user.blob': `${n}-${seq}-`.repeat(200) } }),
          );
          if (r.status !== 200) throw new Error(`PATCH ${n}: ${r.status} ${r.text}`);
          acked.set(n, seq);
          total++;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code && stop) return; // connection cut by the kill
          if (stop) return;
          throw e;
        }
      }
    });
    // creates in the same burst: every answer before the kill must be 201
    let roundCreates = 0;
    const creator = (async () => {
      for (let i = 0; !stop; i++) {
        const name = `c${round}x${i}`;
        let r: Awaited<ReturnType<typeof http>>;
        try {
          r = await http(l!.adminSock, 'POST', '/1.0/instances', ...json({ name, config: { 'user.n': String(i) } }));
        } catch (e) {
          if (stop) return; // connection cut by the kill
          throw e;
        }
        if (r.status !== 201) throw new Error(`POST ${name}: ${r.status} ${r.text}`);
        createdAcked.add(name);
        roundCreates++;
      }
    })();
    // Kill in the middle of the burst, once this round has acknowledged enough of both (not after a
    // fixed time: on a loaded machine that may be before the first answer). A writer that threw ends it.
    const before = total;
    const failed = Promise.race([...writers, creator]).then(
      () => new Error('a writer stopped before the kill'),
      (e: Error) => e,
    );
    const enough = waitFor(
      `round ${round}: 20 PATCHes and 3 creates acknowledged`,
      () => total - before >= 20 && roundCreates >= 3,
      {
        ms: 60_000,
      },
    );
    const first = await Promise.race([
      enough.then(
        () => undefined,
        (e: Error) => e,
      ),
      failed,
    ]);
    gw.kill('SIGKILL');
    stop = true;
    await new Promise((r) => gw.once('exit', r));
    if (first) throw first;
    // After the kill, a writer may only have ended by the cut connection.
    for (const r of await Promise.allSettled([...writers, creator])) if (r.status === 'rejected') throw r.reason;
  }
  // Restart once more and check through the API and on disk.
  const gw = spawnGateway(l.configFile);
  await waitHealthy(l.adminSock);
  try {
    for (const n of names) {
      const v = (await http(l.adminSock, 'GET', `/1.0/instances/${n}`)).json();
      // the last acknowledged write, or one that was in flight when killed (never older)
      expect(Number(v.config['user.seq']), n).toBeGreaterThanOrEqual(acked.get(n) ?? 0);
      expect(v.config['user.blob']).toBe(`${n}-${v.config['user.seq']}-`.repeat(200));
    }
    const keys = new Set((await http(l.adminSock, 'GET', '/1.0/instances')).json().map((i: { key: string }) => i.key));
    for (const c of createdAcked) expect(keys.has(c), c).toBe(true);
    for (const f of readdirSync(l.inventory).filter((f) => f.endsWith('.yaml')))
      parseInstanceYaml(readFileSync(join(l.inventory, f), 'utf8'), f);
    console.log(
      `kill -9 durability: ${total} acknowledged PATCHes and ${createdAcked.size} creates over 3 kills, all present`,
    );
    expect(total).toBeGreaterThanOrEqual(60);
    expect(createdAcked.size).toBeGreaterThanOrEqual(9);
  } finally {
    gw.kill('SIGTERM');
    await new Promise((r) => gw.once('exit', r));
  }
});
