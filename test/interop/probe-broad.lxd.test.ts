// guestgate (lxd-5.0) vs LXD 5.0.2's devlxd over the whole broad probe (see probe/broad-suite.ts).
// The deviations are the README's list ("What cannot be matched"), asserted so a change is noticed.
import { LXD_CLI } from './lxd-harness.ts';
import { type Deviation, NODE_DEVIATIONS } from './probe/broad.ts';
import { broadSuite } from './probe/broad-suite.ts';

const IMAGE_NOT_FOUND =
  '{"type":"error","status":"","status_code":0,"operation":"","error_code":404,"error":"Image not found","metadata":null}\n\n';
const notFoundHeaders: [string, string][] = [
  ['Content-Type', 'application/json'],
  ['X-Content-Type-Options', 'nosniff'],
  ['Date', '<date>'],
  ['Content-Length', String(Buffer.byteLength(IMAGE_NOT_FOUND))],
  ['Connection', 'close'],
];

/** A private image LXD holds: LXD says `Image "<fp as asked>" not found`, guestgate as for any unknown image. */
const privateImage = (fp: string): Deviation[] =>
  [
    `GET /1.0/images/${fp}/export [full fp]`,
    `GET /1.0/images/${fp.slice(0, 12)}/export [12-char prefix]`,
    `GET /1.0/images/${fp}/export?project=default [full fp ?project=default]`,
  ]
    .map(
      (request): Deviation => ({
        request,
        why: 'a private image looks absent: guestgate does not reveal that it exists',
        guestgate: { headers: notFoundHeaders, body: IMAGE_NOT_FOUND },
      }),
    )
    .concat({
      request: `HEAD /1.0/images/${fp}/export [HEAD full fp]`,
      why: 'the same, for HEAD (headers only: Content-Length of the shorter text)',
      guestgate: { headers: notFoundHeaders },
    });

broadSuite({
  cli: LXD_CLI,
  base: 'ggx-bp',
  serverSuffix: 'lx',
  deviations: (fp) => [...NODE_DEVIATIONS, ...privateImage(fp.priv), ...privateImage(fp.base)],
});
