// A listener that cannot start names its config key and what stands in the way:
// "nocloud.listen 127.0.0.1:8181: address in use". Pure.
import { GuestgateError } from '../errors.ts';

const ERRNO_TEXT: Record<string, string> = {
  EADDRINUSE: 'address in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'address not available on this host',
  ENOENT: 'folder does not exist',
  ENOTDIR: 'a path component is not a folder',
};

export function listenError(key: string, value: string, e: unknown): GuestgateError {
  const err = e as NodeJS.ErrnoException;
  const why =
    (err.code && ERRNO_TEXT[err.code]) ??
    String(err.message ?? e)
      .replace(value, '')
      .replace(/^\s*/, '');
  return new GuestgateError('E_UNAVAILABLE', `${key} ${value}: ${why}`, { key, value }, { cause: e });
}
