import { expect, it } from 'vitest';
import { listenError } from '../../src/net/listen-error.ts';

it('names the key, the value and the reason', () => {
  const inUse = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:8181'), {
    code: 'EADDRINUSE',
  });
  const e = listenError('nocloud.listen', '127.0.0.1:8181', inUse);
  expect(e.message).toBe('nocloud.listen 127.0.0.1:8181: address in use');
  expect(e.code).toBe('E_UNAVAILABLE');
  expect(e.fields.key).toBe('nocloud.listen');
  const live = listenError('guest.socket', '/run/g/sock', new Error('/run/g/sock is in use by a running server'));
  expect(live.message).toBe('guest.socket /run/g/sock: is in use by a running server');
});
