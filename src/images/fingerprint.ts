// Fingerprints as guests type them. Validation happens here, before any value reaches a path, a
// URL or a query: only hex survives, and it is lower-cased (LXD 5.0's SQL LIKE matched case-insensitively).
import { GuestgateError } from '../errors.ts';

const HEX = /^[0-9a-fA-F]{1,64}$/;
const DIGEST = /^[0-9a-f]{64}$/;

/** True for a full lower-case sha256 hex digest (the only shape that may name a file). */
export const isDigest = (s: string): boolean => DIGEST.test(s);

/** Parse a guest-supplied fingerprint or prefix; throws E_BAD_FINGERPRINT for anything but 1-64 hex digits. */
export function parseFingerprint(input: string): string {
  if (typeof input !== 'string' || !HEX.test(input)) {
    throw new GuestgateError('E_BAD_FINGERPRINT', 'Invalid fingerprint', { fingerprint: String(input).slice(0, 80) });
  }
  return input.toLowerCase();
}
