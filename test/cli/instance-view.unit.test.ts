import { describe, expect, it } from 'vitest';
import { listTable, showTable, type View } from '../../src/cli/instance-view.ts';

const v = (name: string, over: Partial<View> = {}): View => ({
  key: name,
  name,
  project: 'default',
  type: 'container',
  state: 'Unknown',
  state_since: null,
  config: {},
  devices: {},
  identity: {},
  ...over,
});

describe('instances ls / show tables', () => {
  it('LXD/Incus sources: STATUS (the server) beside READY (the guest report)', () => {
    expect(listTable([v('c1', { status: 'Running', state: 'Ready' }), v('c2', { status: 'Stopped' })])).toBe(
      'NAME  PROJECT  TYPE       STATUS   READY    ADDRESSES\n' +
        'c1    default  container  Running  Ready\n' +
        'c2    default  container  Stopped  Unknown\n',
    );
    expect(showTable(v('c1', { status: 'Frozen' }))).toMatch(/^status\s+Frozen$/m);
  });

  it('a dir inventory has no server status: no STATUS column', () => {
    expect(listTable([v('c1', { identity: { addresses: ['10.0.0.2'] } })])).toBe(
      'NAME  PROJECT  TYPE       READY    ADDRESSES\nc1    default  container  Unknown  10.0.0.2\n',
    );
    expect(showTable(v('c1'))).not.toMatch(/^status/m);
  });
});
