// The checks a fill passes before its tmp files are committed: every part ended and in an image's shape,
// and the combined sha256 equal to the fingerprint.
import { GuestgateError } from '../../errors.ts';
import { partsKind, type ImageKind, type PartRole } from '../store/manifest.ts';

/** The image's kind, or E_UPSTREAM when a part is still open or the parts are no image's shape. */
export function assertComplete(
  parts: readonly { readonly role: PartRole; readonly ended: boolean }[],
  fingerprint: string,
  upstream: string,
): ImageKind {
  const roles = parts.map((p) => p.role);
  const kind = partsKind(roles);
  if (!parts.every((p) => p.ended) || !kind)
    throw new GuestgateError('E_UPSTREAM', `incomplete image from ${upstream} (${roles.join(',') || 'no parts'})`, {
      fingerprint,
      upstream,
    });
  return kind;
}

/** E_INTEGRITY unless the bytes received hash to the fingerprint. */
export function assertDigest(found: string, fingerprint: string, upstream: string): void {
  if (found !== fingerprint)
    throw new GuestgateError('E_INTEGRITY', `sha256 mismatch for image from ${upstream}`, {
      fingerprint,
      expected: fingerprint,
      found,
      upstream,
    });
}

/** E_INTEGRITY unless a part hashed to what its upstream stated for it. */
export function assertPartDigest(found: string, expect: { readonly sha256: string; readonly what: string }): void {
  if (found !== expect.sha256)
    throw new GuestgateError('E_INTEGRITY', `${expect.what} sha256 mismatch`, { expected: expect.sha256, found });
}
