// guestgate (incus) vs Incus 6.0.4's guest API over the whole broad probe (see probe/broad-suite.ts).
// The deviations below are the README's list ("What cannot be matched"), asserted so a change is noticed.
import { INCUS_CLI } from './lxd-harness.ts';
import { NODE_DEVIATIONS } from './probe/broad.ts';
import { broadSuite } from './probe/broad-suite.ts';

broadSuite({
  cli: INCUS_CLI,
  base: 'ggx-bq',
  serverSuffix: 'in',
  deviations: () => NODE_DEVIATIONS,
});
