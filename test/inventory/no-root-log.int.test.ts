// An instance whose root uid cannot be established is an operator's error to fix (every request from it is
// refused) while it may run; a stopped one (an LXD container created but never started has no
// volatile.idmap.current yet) cannot ask anything, and an error line for each launch was noise (seen in the
// logs of a gateway fronting LXD while other containers were launched).
import { Writable } from 'node:stream';
import { expect, it } from 'vitest';
import { Inventory } from '../../src/inventory/inventory.ts';
import type { ChangeListener, Instance } from '../../src/inventory/model.ts';
import { createLogger } from '../../src/log.ts';

const instance = (status: string): Instance => ({
  key: 'c1',
  name: 'c1',
  project: 'default',
  type: 'container',
  location: 'none',
  config: {},
  devices: {},
  identity: { cgroup: '/lxc.payload.c1' },
  status,
});

it('no root uid: a debug line while the server says Stopped, an error naming the key once it runs', async () => {
  const lines: { level: number; msg: string; missing?: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      done();
    },
  });
  let push: ChangeListener = () => {};
  const inv = new Inventory(
    {
      kind: 'test',
      start: async (onChange) => {
        push = onChange;
        return [instance('Stopped')];
      },
      reload: async () => {},
      stop: async () => {},
    },
    { log: createLogger('debug', sink) },
  );
  await inv.start();
  const noRoot = () => lines.filter((l) => l.missing === 'identity.root_uid').map((l) => l.level);
  expect(noRoot()).toEqual([20]);
  push({ kind: 'upsert', before: instance('Stopped'), after: instance('Running') });
  expect(noRoot()).toEqual([20, 50]);
  expect(lines.at(-1)!.msg).toContain('root uid of instance "c1" cannot be established');
  await inv.stop();
});
