// File names in export responses, byte-for-byte as LXD writes them (no quotes, no space after ';'
// for the unified header; Go's multipart.CreateFormFile shape for parts). Fingerprints and sniffed
// extensions are [0-9a-z.] only, so nothing needs escaping.
import type { PartRole } from '../store/manifest.ts';

export const unifiedDisposition = (fp: string, ext: string): string => `inline;filename=${fp}${ext}`;

export const partFileName = (fp: string, role: PartRole, ext: string): string =>
  role === 'metadata' ? `meta-${fp}${ext}` : `${fp}${ext}`;

export const formDataDisposition = (name: string, filename: string): string =>
  `form-data; name="${name}"; filename="${filename}"`;
