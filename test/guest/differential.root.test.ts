// Differential test: the requests of the LXD 5.0.2 probe (fixtures/reference/lxd-5.0.2/probe.sh),
// replayed with curl from a process in a pid namespace against guestgate in the `lxd-5.0` dialect with
// exact bytes, give LXD 5.0.2's status line, every header (name, value and order; Date's value is the time of
// day, its place is compared) and body (Go map order aside).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { createNamespace, parseHttp, type TestNamespace } from '../helpers/namespaces.ts';

const REF = fileURLToPath(new URL('../../fixtures/reference/lxd-5.0.2/', import.meta.url));

interface Probe {
  readonly args: string[];
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  /** Status line and header lines as sent, Date's value replaced. */
  readonly head: string[];
}

/** The status line and header lines of what curl -i printed, Date's value replaced by <date>. */
const headLines = (raw: string): string[] =>
  raw
    .slice(0, raw.indexOf('\r\n\r\n'))
    .split('\r\n')
    .map((l) => (/^date:/i.test(l) ? 'Date: <date>' : l));

/** probe.sh's `p` lines, in order, paired with the recorded answers. */
function loadProbes(): Probe[] {
  const script = readFileSync(`${REF}probe.sh`, 'utf8');
  const calls = script
    .split('\n')
    .filter((l) => l.startsWith('p '))
    .map((l) => [...l.slice(2).matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!));
  const text = readFileSync(`${REF}probe-responses.txt`, 'utf8');
  const blocks = text.split(/^### rc=\d+\n/m).filter((b) => b.startsWith('### '));
  expect(blocks.length).toBe(calls.length);
  return calls.map((args, i) => {
    const block = blocks[i]!;
    // After the `### args` line: what curl printed (CRLF headers, raw body), then probe.sh's echo (one LF).
    const printed = block.slice(block.indexOf('\n') + 1).replace(/\n$/, '');
    if (!printed.startsWith('HTTP/')) return { args, status: 0, contentType: '', body: '', head: [] };
    const r = parseHttp(printed);
    return { args, status: r.status, contentType: r.contentType, body: r.body, head: headLines(printed) };
  });
}

const probeInstance = yaml.load(readFileSync(`${REF}instance-c1-at-probe.yaml`, 'utf8')) as {
  config: Record<string, string>;
  devices: Record<string, unknown>;
};

let gw: TestGateway;
let ns: TestNamespace;

beforeAll(async () => {
  ns = await createNamespace();
  gw = await startGateway({
    guest: { dialect: 'lxd-5.0', raw_content_type: 'dialect' },
    instances: [
      { name: 'c1', config: probeInstance.config, devices: probeInstance.devices, identity: { init_pid: ns.initPid } },
    ],
  });
});
afterAll(async () => {
  await gw?.close();
  await ns?.close();
});

const sortedIfConfigList = (_p: Probe, body: string): string => JSON.stringify((JSON.parse(body) as string[]).sort());

describe('differential: guestgate (lxd-5.0) vs recorded LXD 5.0.2', () => {
  const probes = loadProbes();

  it('has the whole probe', () => {
    expect(probes.length).toBe(25);
  });

  for (const [i, p] of probes.entries()) {
    it(`#${i + 1} ${p.args.join(' ')}`, async () => {
      const r = await ns.exec(['curl', '-s', '-i', '--unix-socket', gw.socket, ...p.args]);
      if (p.status === 0) {
        // `-o /dev/null` (a private image by prefix): the recording holds nothing to compare with, so check
        // guestgate's answer itself: the 404 envelope of an absent image (LXD 5.0.2: its quoted-name variant).
        expect(r.stdout).toBe('');
        const seen = await ns.exec(['curl', '-s', '-i', '--unix-socket', gw.socket, p.args[0]!]);
        const got = parseHttp(seen.stdout);
        expect([got.status, got.contentType]).toEqual([404, 'application/json']);
        expect(JSON.parse(got.body)).toMatchObject({ error_code: 404, error: 'Image not found' });
        return;
      }
      const got = parseHttp(r.stdout);
      const privateImage = p.args.includes('-I') && p.args.some((a) => a.includes('c67e8715'));
      expect([got.status, got.contentType]).toEqual([p.status, p.contentType]);
      if (!privateImage) expect(headLines(r.stdout)).toEqual(p.head);
      if (privateImage) {
        // Documented deviation: LXD 5.0.2 says `Image "<fp>" not found` for a PRIVATE image it holds
        // (revealing that it exists); guestgate answers the same as for an unknown one. HEAD: no body.
        expect(got.body).toBe('');
        expect(/content-length: (\d+)/i.exec(got.raw)?.[1]).toBe('120');
        return;
      }
      if (p.args.at(-1)!.endsWith('/1.0/config')) {
        // Go map order is random: same elements, same bytes once sorted.
        expect(got.body.endsWith(']\n')).toBe(true);
        expect(sortedIfConfigList(p, got.body)).toBe(sortedIfConfigList(p, p.body));
      } else expect(got.body).toBe(p.body);
    });
  }
});
