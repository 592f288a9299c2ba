// Pure parsers of /proc text: start time (comm may hold spaces and parentheses) and the v2 cgroup line.
import { describe, expect, it } from 'vitest';
import { parseCgroupFile, parseStartTime, unifiedCgroup } from '../../src/identity/procfs.ts';

describe('procfs parsers', () => {
  it('start time is field 22, counted after the last ")" whatever comm holds', () => {
    const fields = (comm: string) =>
      `4242 (${comm}) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 880151 1000000 200 18446744073709551615`;
    expect(parseStartTime(fields('sleep'))).toBe(880151);
    expect(parseStartTime(fields('a) S 1 2 3 (b'))).toBe(880151);
    expect(parseStartTime('garbage')).toBeUndefined();
  });

  it('the unified (v2) cgroup is the 0:: line; every hierarchy path is kept for matching', () => {
    const text = '9:name=systemd:/\n4:memory:/lxc.payload.c1\n0::/lxc.payload.c1/init.scope\n';
    expect(unifiedCgroup(text)).toBe('/lxc.payload.c1/init.scope');
    expect(parseCgroupFile(text)).toEqual(['/', '/lxc.payload.c1', '/lxc.payload.c1/init.scope']);
    expect(unifiedCgroup('4:memory:/x\n')).toBeUndefined();
  });
});
