// The copy ring both hashers share for chunks that are not over shared memory (their caller may reuse
// them at once): bytes go in at a running position that wraps at the ring's end.

/**
 * Copy `chunk` into `ring` at running position `pos`; `placed(at, n)` hears of each contiguous piece
 * (two when the copy wraps). Returns the position after it. The caller keeps `pos` and makes sure the
 * bytes it overwrites were read (no more than ring.length bytes pending).
 */
export function copyIntoRing(
  chunk: Buffer,
  ring: Buffer,
  pos: number,
  placed: (at: number, n: number) => void,
): number {
  for (let off = 0; off < chunk.length; ) {
    const at = pos % ring.length;
    const n = Math.min(chunk.length - off, ring.length - at);
    chunk.copy(ring, at, off, off + n);
    placed(at, n);
    pos += n;
    off += n;
  }
  return pos;
}
