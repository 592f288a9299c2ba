// Image file type by magic bytes, exactly as LXD's DetectCompressionFile decides it; export uses the
// result as the file name extension. Pure.

/** How many leading bytes sniffing needs (the tar "ustar" magic sits at offset 257). */
export const SNIFF_BYTES = 262;

const starts = (b: Uint8Array, magic: readonly number[], at = 0): boolean =>
  b.length >= at + magic.length && magic.every((m, i) => b[at + i] === m);
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

/** The extension for these leading bytes ('' when unknown, as LXD does). */
export function sniffExtension(head: Uint8Array): string {
  if (starts(head, ascii('BZ'))) return '.tar.bz2';
  if (starts(head, [0x1f, 0x8b])) return '.tar.gz';
  if (starts(head, [0xfd, ...ascii('7zXZ')])) return '.tar.xz';
  if (starts(head, ascii('7zXZ'), 1) || starts(head, [0x5d, 0x00, 0x00])) return '.tar.lzma';
  if (starts(head, ascii('ustar'), 257)) return '.tar';
  if (starts(head, ascii('hsqs'))) return '.squashfs';
  if (starts(head, ascii('QFI'))) return '.qcow2';
  if (starts(head, [0x28, 0xb5, 0x2f, 0xfd])) return '.tar.zst';
  return '';
}
