// /metrics follows Prometheus conventions (parsed, not grepped): one type per family, *_total counters,
// units in names, default process metrics, build info; event streams are counted with the status they
// answered; /healthz says degraded, with reasons, while inventory files are refused.
import { connect } from 'node:net';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/service.ts';
import { http, inProcess, layout, type Layout } from '../helpers/service.ts';
import { waitFor } from '../helpers/wait.ts';

let l: Layout;
let svc: Service;
beforeAll(async () => {
  l = layout({ demo: 'name: demo\nidentity: {}\n' });
  svc = await inProcess(l);
});
afterAll(async () => {
  await svc?.stop();
  l?.cleanup();
});

interface Family {
  type: string;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

/** Text exposition format 0.0.4 -> families by name. */
function parse(text: string): Map<string, Family> {
  const out = new Map<string, Family>();
  const family = (n: string): Family => {
    for (const [name, f] of out) if (n === name || /^_(bucket|sum|count)$/.test(n.slice(name.length))) return f;
    throw new Error(`sample ${n} has no # TYPE line before it`);
  };
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('# HELP')) continue;
    const t = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (t) {
      if (out.has(t[1]!)) throw new Error(`two TYPE lines for ${t[1]}`);
      out.set(t[1]!, { type: t[2]!, samples: [] });
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparseable line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    family(m[1]!).samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

const scrape = async () => {
  const r = await http(l.adminSock, 'GET', '/metrics');
  expect(r.status).toBe(200);
  return parse(r.text);
};

describe('/metrics', () => {
  it('names and types by convention, default process metrics, build info, cache families', async () => {
    const f = await scrape();
    const type = (n: string) => f.get(n)?.type;
    for (const [n, t] of [
      ['process_cpu_seconds_total', 'counter'],
      ['process_resident_memory_bytes', 'gauge'],
      ['guestgate_build_info', 'gauge'],
      ['guestgate_cache_bytes', 'gauge'],
      ['guestgate_cache_hits_total', 'counter'],
      ['guestgate_cache_misses_total', 'counter'],
      ['guestgate_cache_evictions_total', 'counter'],
      ['guestgate_inventory_rejected_files', 'gauge'],
      ['guestgate_inventory_source_degraded', 'gauge'],
      ['guestgate_guest_requests_total', 'counter'],
      ['guestgate_guest_request_duration_seconds', 'histogram'],
      ['guestgate_admin_requests_total', 'counter'],
    ])
      expect(type(n!), n).toBe(t);
    for (const [name, fam] of f) {
      if (!name.startsWith('guestgate_')) continue; // prom-client's own defaults are theirs
      if (fam.type === 'counter') expect(name, 'counters end in _total').toMatch(/_total$/);
      else expect(name, 'only counters end in _total').not.toMatch(/_total$/);
    }
    expect(f.has('guestgate_cache'), 'the mixed guestgate_cache{field} gauge is gone').toBe(false);
    const info = f.get('guestgate_build_info')!.samples[0]!;
    expect(info.value).toBe(1);
    expect(info.labels.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.labels.nodejs).toBe(process.version);
  });

  it('an event stream is counted with the status it answered (200), not 404', async () => {
    // LXD's raw stream has an LF-only preamble (node:http's client refuses it): a plain socket.
    await new Promise<void>((res, rej) => {
      const c = connect(l.guestSock, () => c.write('GET /1.0/events HTTP/1.1\r\nHost: lxd\r\n\r\n'));
      c.once('data', () => {
        c.destroy();
        res();
      });
      c.on('error', rej);
    });
    await waitFor('the event stream to be counted', async () => {
      const s = (await scrape()).get('guestgate_guest_requests_total')!.samples;
      return s.some((x) => x.labels.endpoint === 'events');
    });
    const s = (await scrape())
      .get('guestgate_guest_requests_total')!
      .samples.filter((x) => x.labels.endpoint === 'events');
    expect(s.map((x) => x.labels.status)).toEqual(['200']);
  });
});

describe('/healthz', () => {
  it('degraded with the reason while an inventory file is refused; ok again once it is gone', async () => {
    expect((await http(l.adminSock, 'GET', '/healthz')).json()).toEqual({ status: 'ok', instances: 1 });
    const bad = join(l.inventory, 'broken.yaml');
    writeFileSync(bad, 'name: [not, a, name]\n');
    await waitFor('the broken file to be rejected', async () => {
      return (await http(l.adminSock, 'GET', '/healthz')).json().status === 'degraded';
    });
    const h = (await http(l.adminSock, 'GET', '/healthz')).json();
    expect(h.reasons).toEqual(['1 inventory file(s) rejected: broken.yaml (see the log)']);
    const rejected = (await scrape()).get('guestgate_inventory_rejected_files')!.samples[0]!.value;
    expect(rejected).toBe(1);
    rmSync(bad);
    await waitFor(
      'healthz to be ok again',
      async () => (await http(l.adminSock, 'GET', '/healthz')).json().status === 'ok',
    );
    expect((await scrape()).get('guestgate_inventory_rejected_files')!.samples[0]!.value).toBe(0);
  });
});
