// What a failed upstream transfer becomes: coded errors pass through, anything else is E_UPSTREAM
// naming the image.
import { GuestgateError } from '../../errors.ts';

export function toUpstreamError(e: unknown, fingerprint: string): Error {
  if (e instanceof GuestgateError) return e;
  const msg = (e as Error)?.message ?? String(e);
  return new GuestgateError('E_UPSTREAM', `upstream transfer failed: ${msg}`, { fingerprint }, { cause: e });
}
