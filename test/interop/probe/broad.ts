// The broad differential probe: the requests of fixtures/reference/lxd-5.0.2/probe-broad.txt, replayed by
// broad-probe.py from inside twin containers (one answered by guestgate, one by the server's own guest API),
// and the answers compared field by field: status line, every header (name, value, wire order; Date's value is
// replaced by <date> by the probe because it is the time of day, its place is compared) and the body bytes.
import { readFileSync } from 'node:fs';
import type { Container } from '../lxd-harness.ts';
import { SERVER_RACE, SERVER_RACE_DEADLINE_MS, SERVER_RACE_HEAD_LENGTH } from '../server-race.ts';

const SCRIPT = readFileSync(new URL('./broad-probe.py', import.meta.url), 'utf8');
export const BROAD = readFileSync(
  new URL('../../../fixtures/reference/lxd-5.0.2/probe-broad.txt', import.meta.url),
  'utf8',
);

/** Steps of the recording replayed as they are (events need host actions: see events.lxd.test.ts). */
export const PLAIN_STEPS = ['basic', 'unknown', 'wrongmethods', 'nonroot', 'patch', 'lxdextra'];

export interface Answer {
  readonly step: string;
  readonly request: string;
  readonly status: string;
  readonly headers: [string, string][];
  readonly body: string;
  /** How often the request was sent again past the server's own race (server-race.ts). */
  readonly race_retries: number;
}

/**
 * Runs the named steps inside `c` against `socket`, with fingerprints etc. substituted in the request lines.
 * `server`: `c` is answered by the real LXD/Incus, whose own race (server-race.ts) is retried past.
 */
export async function probe(
  c: Container,
  socket: string,
  steps: string[],
  subst: Record<string, string> = {},
  server = false,
): Promise<Answer[]> {
  const put = await c.exec(['sh', '-c', 'cat > /root/broad-probe.py'], { input: SCRIPT });
  if (put.code !== 0) throw new Error(`cannot copy the probe into ${c.name}: ${put.stderr}`);
  const r = await c.exec(
    [
      'env',
      `PROBE_SUBST=${JSON.stringify(subst)}`,
      ...(server
        ? [
            `PROBE_RACE=${SERVER_RACE.source}`,
            `PROBE_RACE_HEAD_LENGTH=${SERVER_RACE_HEAD_LENGTH}`,
            `PROBE_RACE_S=${SERVER_RACE_DEADLINE_MS / 1000}`,
          ]
        : []),
      'python3',
      '/root/broad-probe.py',
      socket,
      ...steps,
    ],
    { input: BROAD, timeoutMs: 300_000 },
  );
  if (r.code !== 0) throw new Error(`probe failed in ${c.name} (exit ${r.code}): ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const o = JSON.parse(l) as Answer;
      return { ...o, body: Buffer.from(o.body, 'base64').toString('latin1') };
    });
}

/** Per-twin facts that differ by nature (the name, cloud-init's instance-id), replaced by placeholders. */
export function normaliser(facts: Record<string, string>): (a: Answer) => Answer {
  const pairs = Object.entries(facts).filter(([, v]) => v !== '');
  const norm = (s: string) => pairs.reduce((acc, [k, v]) => acc.replaceAll(v, `<${k}>`), s);
  return (a) => {
    let body = norm(a.body);
    // GET /1.0/config is a Go map on the servers: its order is random on every call. Compare as a set.
    if (/ \/1\.0\/config(\?recursion=1)?( |$)/.test(a.request) && a.status.includes(' 200 ') && body.startsWith('['))
      body = `${JSON.stringify((JSON.parse(body) as string[]).sort())}\n`;
    return { ...a, body, headers: a.headers.map(([k, v]) => [k, norm(v)]) };
  };
}

/** What a documented deviation replaces in guestgate's answer (asserted, so a change is noticed). */
export interface Deviation {
  /** The request line (after substitution) or a RegExp over it. */
  readonly request: string | RegExp;
  /** Why: a line for the README's list. */
  readonly why: string;
  /** guestgate's answer in full, where it differs from the server's. */
  readonly guestgate: Partial<Pick<Answer, 'status' | 'headers' | 'body'>>;
}

/**
 * What Node's HTTP layer cannot match, for both servers (README, "What cannot be matched"): its status line
 * always says HTTP/1.1, and its parser refuses methods it does not know before any JS runs (our clientError
 * handler then answers as Go's server does for a request it cannot parse).
 */
export const NODE_DEVIATIONS: Deviation[] = [
  {
    request: /^GET \S+ \[HTTP\/1\.0 /,
    why: 'HTTP/1.0 requests: Node writes `HTTP/1.1 200 OK` where Go echoes `HTTP/1.0 200 OK` (same headers, body)',
    guestgate: { status: 'HTTP/1.1 200 OK' },
  },
  ...['FOO /1.0', 'get /1.0 [lower-case method]'].map((request) => ({
    request,
    why: "methods llhttp does not know (FOO, lower-case get): refused by Node's parser before any JS runs",
    guestgate: {
      status: 'HTTP/1.1 400 Bad Request',
      headers: [
        ['Content-Type', 'text/plain; charset=utf-8'],
        ['Connection', 'close'],
      ] as [string, string][],
      body: '400 Bad Request',
    },
  })),
];

/**
 * Headers guestgate adds to image exports on purpose (README, "Resumable, verifiable exports"): the
 * fingerprint as ETag and the RFC 9530 digest. Where the server sends no such header they are taken out of
 * guestgate's answer before the comparison and the answer is counted as a deviation; everything else of
 * it must still be identical.
 */
export const EXTENSION_HEADERS = ['ETag', 'Repr-Digest'];

export interface Comparison {
  readonly compared: number;
  readonly identical: number;
  readonly deviations: string[];
  readonly mismatches: string[];
}

const show = (a: Answer) =>
  `${a.status}\n${a.headers.map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${JSON.stringify(a.body.slice(0, 400))}`;

/** Compares answer by answer; a deviation must hold exactly (its fields as documented, the rest identical). */
export function compare(mine: Answer[], theirs: Answer[], deviations: Deviation[]): Comparison {
  const mismatches: string[] = [];
  const seen: string[] = [];
  let identical = 0;
  if (mine.length !== theirs.length) mismatches.push(`answer count: guestgate ${mine.length}, server ${theirs.length}`);
  for (let i = 0; i < Math.min(mine.length, theirs.length); i++) {
    const s = theirs[i]!;
    const [g, extended] = withoutExtensions(mine[i]!, s);
    if (g.request !== s.request) {
      mismatches.push(`#${i}: request order differs: ${g.request} / ${s.request}`);
      continue;
    }
    const dev = deviations.find((d) =>
      typeof d.request === 'string' ? d.request === g.request : d.request.test(g.request),
    );
    const expected = dev ? { ...pick(s), ...dev.guestgate } : pick(s);
    if (JSON.stringify(pick(g)) !== JSON.stringify(expected)) {
      mismatches.push(
        `#${i} [${g.step}] ${g.request}${dev ? ' (documented deviation no longer holds)' : ''}\n--- guestgate:\n${show(g)}\n--- server:\n${show(s)}`,
      );
    } else if (dev) {
      if (JSON.stringify(pick(g)) === JSON.stringify(pick(s)))
        mismatches.push(`#${i} ${g.request}: documented as a deviation but identical now (update the list)`);
      seen.push(g.request);
    } else if (extended) seen.push(`${g.request} (+${EXTENSION_HEADERS.join(', ')})`);
    else identical++;
  }
  return { compared: Math.min(mine.length, theirs.length), identical, deviations: seen, mismatches };
}

function withoutExtensions(g: Answer, s: Answer): [Answer, boolean] {
  const theirs = new Set(s.headers.map(([k]) => k.toLowerCase()));
  const extra = (k: string) => EXTENSION_HEADERS.includes(k) && !theirs.has(k.toLowerCase());
  if (!g.headers.some(([k]) => extra(k))) return [g, false];
  return [{ ...g, headers: g.headers.filter(([k]) => !extra(k)) }, true];
}

const pick = (a: Answer) => ({ status: a.status, headers: a.headers, body: a.body });
