// Which LXD/Incus lifecycle events change what a guest may see of an image. The first event is the
// real LXD 5.0.2's, recorded with `lxc monitor --type=lifecycle --format=json` around a PATCH of
// /1.0/images/<fp>.
import { expect, it } from 'vitest';
import { imageChanged } from '../../src/images/upstreams/changes.ts';

const FP = 'ef7f30327dc2cb2521685ecb0ad5d87c3b02fd7548aa14d99245d5895005c7f3';
const recorded = {
  location: 'none',
  metadata: {
    action: 'image-updated',
    requestor: { address: '@', protocol: 'unix', username: 'root' },
    source: `/1.0/images/${FP}`,
  },
  project: 'default',
  timestamp: '2026-12-03T07:47:31.466365387Z',
  type: 'lifecycle',
};
const event = (action: string, source = `/1.0/images/${FP}`, project = 'default') => ({
  ...recorded,
  project,
  metadata: { ...recorded.metadata, action, source },
});

it('image-created/updated/deleted/refreshed of the served project name the fingerprint', () => {
  expect(imageChanged(recorded, 'default')).toBe(FP);
  for (const a of ['image-created', 'image-deleted', 'image-refreshed'])
    expect(imageChanged(event(a), 'default')).toBe(FP);
  expect(imageChanged(event('image-updated', `/1.0/images/${FP}?project=p1`, ''), 'p1')).toBe(FP);
});

it('ignores other projects, other actions, aliases, instances and junk', () => {
  expect(imageChanged(recorded, 'p1')).toBeUndefined();
  expect(imageChanged(event('image-retrieved'), 'default')).toBeUndefined();
  expect(imageChanged(event('image-alias-created', '/1.0/images/aliases/x'), 'default')).toBeUndefined();
  expect(imageChanged(event('instance-updated', '/1.0/instances/c1'), 'default')).toBeUndefined();
  expect(imageChanged({ type: 'logging' }, 'default')).toBeUndefined();
  expect(imageChanged(null, 'default')).toBeUndefined();
});
