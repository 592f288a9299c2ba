// Benchmark: templates rendered per second for a typical cloud-init set (the Ubuntu-style set in
// test/templates/fixtures/lxd-set: the cloud-init four, hostname, if/else, properties, loops), per
// trigger, including the lexer and parser (as guestgate renders from source each time), and the
// default set through templatedSeed. Prints figures; asserts nothing.   node bench/templates/run.ts
// Env: BENCH_SECONDS (per row, default 2).
import { join } from 'node:path';
import { templatedSeed } from '../../src/cloudinit/seed-templates.ts';
import type { Instance } from '../../src/inventory/model.ts';
import { renderTrigger } from '../../src/templates/apply.ts';
import type { Trigger } from '../../src/templates/context.ts';
import { DEFAULT_TEMPLATES_DIR, loadTemplateDir } from '../../src/templates/load-dir.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const set = loadTemplateDir(join(import.meta.dirname, '../../test/templates/fixtures/lxd-set'), 'lxd-set');
const defaults = loadTemplateDir(DEFAULT_TEMPLATES_DIR, 'default templates');
const instance: Instance = {
  key: 'bench-1',
  name: 'bench-1',
  project: 'default',
  type: 'container',
  location: 'none',
  config: {
    'user.user-data': `#cloud-config\npackages: [vim, curl]\nruncmd:\n${'  - echo hello\n'.repeat(20)}`,
    'user.meta-data': 'foo: bar\n',
    'user.role': 'db',
    'user.greeting': 'hello wörld',
    'volatile.cloud-init.instance-id': '5d2c0c1e-3f4b-4a8e-9d67-0e0f5a9b2c11',
  },
  devices: { eth0: { type: 'nic', name: 'eth0', hwaddr: '00:16:3e:00:00:01' }, root: { type: 'disk', path: '/' } },
  identity: {},
};

function rate(label: string, perRound: number, fn: () => void): void {
  for (let i = 0; i < 200; i++) fn(); // warm-up
  let rounds = 0;
  const start = performance.now();
  const until = start + SECONDS * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 50; i++) fn();
    rounds += 50;
  }
  const s = (performance.now() - start) / 1000;
  const tps = (rounds * perRound) / s;
  console.log(
    `${label.padEnd(42)} ${String(perRound).padStart(3)} templates/round  ${Math.round(tps).toLocaleString('en').padStart(10)} templates/s  ${((s / rounds) * 1e6).toFixed(1).padStart(8)} us/round`,
  );
}

console.log(`node ${process.version}, ${SECONDS} s per row`);
for (const t of ['create', 'copy', 'rename', 'start'] as Trigger[]) {
  const n = renderTrigger(set, instance, t).length;
  rate(`lxd-set, trigger ${t}`, n, () => renderTrigger(set, instance, t));
}
rate('default set via templatedSeed (create)', defaults.entries.length, () =>
  templatedSeed(defaults, instance, 'create'),
);
// The preview's traced rendering (per-line keys): what attribution costs over plain rendering.
rate('lxd-set traced, trigger create (preview)', renderTrigger(set, instance, 'create').length, () =>
  renderTrigger(set, instance, 'create', {}, new Map()),
);
rate('default set traced (create, preview)', defaults.entries.length, () =>
  templatedSeed(defaults, instance, 'create', true),
);
