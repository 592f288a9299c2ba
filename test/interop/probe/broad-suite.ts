// One broad differential suite for both live servers: guestgate (lxd-5.0) vs LXD 5.0.2's devlxd, and
// guestgate (incus) vs Incus 6.0.4's guest API. Twin containers with the recorded probe's config; the plain
// steps of probe-broad.txt, then its image steps with the image gate set on both twins as the recording did.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Cli, type Container, lxcQuery } from '../lxd-harness.ts';
import { INCUS_SOCKET, LXD_SOCKET, launchTwins, requireLxd, startLxdGateway, type LxdGateway } from '../lxd-gateway.ts';
import { type Answer, compare, type Deviation, normaliser, PLAIN_STEPS, probe } from './broad.ts';
import { importTinyImages, type TinyImages } from './tiny-images.ts';

/** The recorded probe's images: bp-img-priv, bp-img-pub and the container's base image. */
const REC = {
  priv: 'c0cc15289363909640a30cfc6b59ab17712dacb04533e142a589c4ee32e71f89',
  pub: 'a16ddfde421efa0f30db039ecfd95cc7ee1f88c7015c063053ce3315628b5f50',
  base: '7ec99f4c0be100621d168b9170b4aa7138356b7aecc41c22b220e9ae6afb3305',
};

export interface SuiteOptions {
  readonly cli: Cli;
  /** Short names of equal length for both twins keep Content-Length equal (meta-data holds the name). */
  readonly base: string;
  readonly serverSuffix: string;
  readonly deviations: (fp: { priv: string; pub: string; base: string }) => Deviation[];
}

export function broadSuite(o: SuiteOptions): void {
  const socket = `${o.cli.guestDir}/sock`;
  const imagesKey = `${o.cli.enabledKey}.images`;
  const config = {
    'user.foo': 'bar',
    'user.pct': 'bar %s bar',
    'user.utf8': 'naïve ✓ 日本',
    'user.meta-data': 'ci25-meta-key: v\nlocal-hostname: from-user-meta',
    'cloud-init.user-data': '#cloud-config\n# naïve ✓\nruncmd: [echo hi]',
    'cloud-init.vendor-data': '#cloud-config\nbootcmd: [echo vd]',
    'cloud-init.network-config': 'version: 1\nconfig: []',
    'security.nesting': 'true',
    [imagesKey]: 'true',
  };
  let gw: LxdGateway | undefined;
  let twins: [Container, Container] | undefined;
  let images: TinyImages | undefined;
  let fp = { priv: '', pub: '', base: '' };
  let norms: [(a: Answer) => Answer, (a: Answer) => Answer] = [(a) => a, (a) => a];
  const subst: Record<string, string> = {};
  const totals = { compared: 0, identical: 0, deviations: [] as string[], raceRetries: 0 };

  beforeAll(async () => {
    await requireLxd(o.cli);
    images = await importTinyImages(o.cli, `${o.base}-img`);
    const alias = await lxcQuery<{ target: string }>('/1.0/images/aliases/guestgate-ci', o.cli);
    fp = { priv: images.priv, pub: images.pub, base: alias.target };
    for (const k of ['priv', 'pub', 'base'] as const) {
      subst[REC[k]] = fp[k];
      subst[`/${REC[k].slice(0, 12)}/`] = `/${fp[k].slice(0, 12)}/`;
    }
    const upstream =
      o.cli.bin === 'lxc' ? { type: 'lxd', socket: LXD_SOCKET } : { type: 'incus', socket: INCUS_SOCKET };
    gw = await startLxdGateway({ cli: o.cli, images: { upstreams: [upstream] } });
    twins = await launchTwins(gw, o.base, config, o.serverSuffix);
    const facts = await Promise.all(
      twins.map(async (c) => ({
        name: c.name,
        'instance-id': (await c.expandedConfig()).config['volatile.cloud-init.instance-id'] ?? '',
      })),
    );
    norms = [normaliser(facts[0]!), normaliser(facts[1]!)];
  }, 300_000);

  afterAll(async () => {
    await Promise.all((twins ?? []).map((c) => c.delete()));
    await gw?.close();
    await images?.remove();
    if (totals.compared)
      console.log(
        `broad differential vs ${o.cli.bin === 'lxc' ? 'LXD 5.0.2' : 'Incus 6.0.4'}: ${totals.compared} responses compared, ` +
          `${totals.identical} identical, ${totals.deviations.length} documented deviations` +
          (totals.raceRetries ? `; the server's own race retried ${totals.raceRetries} times (server-race.ts)` : ''),
      );
  });

  async function run(steps: string[]): Promise<void> {
    const [g, s] = await Promise.all(twins!.map((c, i) => probe(c, socket, steps, subst, i === 1)));
    totals.raceRetries += s!.reduce((n, a) => n + a.race_retries, 0);
    // GG_PROBE_DUMP=<dir>: keep both sides' answers for reading (not needed by the test).
    if (process.env.GG_PROBE_DUMP)
      writeFileSync(
        `${process.env.GG_PROBE_DUMP}/${o.base}-${steps[0]!.slice(0, 20)}.json`,
        JSON.stringify({ g, s }, null, 1),
      );
    const r = compare(g!.map(norms[0]), s!.map(norms[1]), o.deviations(fp));
    totals.compared += r.compared;
    totals.identical += r.identical;
    totals.deviations.push(...r.deviations);
    expect(r.mismatches.join('\n\n')).toBe('');
    expect(r.compared).toBeGreaterThan(0);
  }

  async function setGate(value: string | undefined): Promise<void> {
    await Promise.all(
      twins!.map((c) => (value === undefined ? c.unsetConfig(imagesKey) : c.setConfig(imagesKey, value))),
    );
    await gw!.until(
      () => gw!.service.inventory.get(twins![0].name)?.config[imagesKey] === value,
      30_000,
      `${imagesKey}=${String(value)} seen by guestgate`,
    );
  }

  it('plain steps: basic, unknown paths, wrong methods, non-root, PATCH bodies, extras', async () => {
    await run(PLAIN_STEPS);
  }, 300_000);

  it('image steps: private, public, base image with the gate on; public with the gate off and unset', async () => {
    await run(['image, security.devlxd.images=true, private', 'image, security.devlxd.images=true, public']);
    await run(["image, security.devlxd.images=true, container's own base image"]);
    await setGate('false');
    await run(['image, security.devlxd.images=false']);
    await setGate(undefined);
    await run(['image, security.devlxd.images unset']);
  }, 300_000);
}
