// The shipped unit and Dockerfile agree with the documented layout (docs/install.md): writable paths are
// runtime_dir, state_dir and the dir inventory; the unit starts after LXD/Incus; Docker checks /healthz.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(resolve(ROOT, p), 'utf8');
const directive = (unit: string, key: string) =>
  unit
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .flatMap((l) => l.slice(key.length + 1).split(/\s+/));

describe('systemd/guestgate.service', () => {
  const unit = read('systemd/guestgate.service');
  it('keeps writable exactly the default runtime_dir, state_dir and the documented instances folder', () => {
    // The defaults of runtime_dir and state_dir, from the config code (an lxd source needs no folder here).
    const c = parseConfig(
      'inventory: {source: lxd, socket: /var/lib/lxd/unix.socket}\n',
      '/etc/guestgate/guestgate.yaml',
    );
    const writable = directive(unit, 'ReadWritePaths').map((p) => p.replace(/^-/, ''));
    expect(writable).toEqual([c.runtime_dir, c.state_dir, '/etc/guestgate/instances']);
    expect(read('docs/install.md')).toContain('/etc/guestgate/instances/');
  });
  it('starts after the LXD and Incus daemons', () => {
    expect(directive(unit, 'After')).toEqual(
      expect.arrayContaining(['lxd.service', 'snap.lxd.daemon.service', 'incus.service']),
    );
  });
  it("passes serve's young-generation cap itself (a re-exec would close guestgate-guest.socket's fds)", () => {
    const cap = /--max-semi-space-size=\d+/.exec(read('bin/guestgate.js'))![0];
    expect(directive(unit, 'Environment')).toContain(`NODE_OPTIONS=${cap}`);
  });
});

describe('Dockerfile', () => {
  it('checks health on /healthz of the admin socket, not by listing instances', () => {
    const hc = read('Dockerfile')
      .split('\n')
      .find((l) => l.startsWith('HEALTHCHECK'))!;
    expect(hc).toContain("path:'/healthz'");
    expect(hc).toContain("socketPath:'/run/guestgate/admin.sock'");
    expect(hc).not.toContain('instances');
  });
});
