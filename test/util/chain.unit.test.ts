import { expect, it } from 'vitest';
import { Chain, KeyedChains } from '../../src/util/chain.ts';

it('runs one at a time in call order; a failure reaches its caller and onError, and the chain goes on', async () => {
  const errors: unknown[] = [];
  const chain = new Chain((e) => errors.push(e));
  const log: string[] = [];
  let running = 0;
  const step =
    (name: string, fail = false) =>
    async () => {
      running++;
      expect(running).toBe(1);
      await new Promise((r) => setImmediate(r));
      log.push(name);
      running--;
      if (fail) throw new Error(name);
      return name;
    };
  const a = chain.run(step('a'));
  const b = chain.run(step('b', true));
  const c = chain.run(step('c'));
  await expect(a).resolves.toBe('a');
  await expect(b).rejects.toThrow('b');
  await expect(c).resolves.toBe('c');
  await chain.idle;
  expect(log).toEqual(['a', 'b', 'c']);
  expect(errors.map((e) => (e as Error).message)).toEqual(['b']);
});

it('keyed chains: one key in call order, other keys not held up, each chain forgotten once idle', async () => {
  const chains = new KeyedChains();
  const log: string[] = [];
  let releaseA!: () => void;
  const a1 = chains.run('a', () => new Promise<void>((r) => (releaseA = r)).then(() => void log.push('a1')));
  const a2 = chains.run('a', async () => void log.push('a2'));
  await chains.run('b', async () => void log.push('b1'));
  expect(log).toEqual(['b1']); // b ran while a's first write was still open
  releaseA();
  await Promise.all([a1, a2]);
  expect(log).toEqual(['b1', 'a1', 'a2']);
  await new Promise((r) => setImmediate(r));
  expect(chains.size).toBe(0);
});
