// Shared CLI bits: default config path, exit codes scripts can rely on, error printing.
import { isGuestgateError } from '../errors.ts';

export const DEFAULT_CONFIG = process.env.GUESTGATE_CONFIG ?? '/etc/guestgate/guestgate.yaml';

/** Exit codes: 0 ok, 1 failure, 2 usage/config error, 3 not found, 4 timeout. */
export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2, NOT_FOUND: 3, TIMEOUT: 4 } as const;

export function exitCodeFor(e: unknown): number {
  if (!isGuestgateError(e)) return EXIT.FAILURE;
  if (
    e.code === 'E_CONFIG' ||
    e.code === 'E_INVENTORY' ||
    e.code === 'E_BAD_REQUEST' ||
    e.code === 'E_BAD_FINGERPRINT' ||
    e.code === 'E_IMAGE_AMBIGUOUS'
  )
    return EXIT.USAGE;
  if (e.code === 'E_NOT_FOUND' || e.code === 'E_IMAGE_NOT_FOUND') return EXIT.NOT_FOUND;
  if (e.code === 'E_TIMEOUT') return EXIT.TIMEOUT;
  return EXIT.FAILURE;
}
