// Bounded concurrency, consumed in order: `f` of each item is started at most `width` ahead of the one
// being consumed. Used where many small reads (files, LXD's /state) would otherwise wait one by one.

/** get(i) awaits item i (call it for i = 0, 1, 2, ...); a rejection surfaces at its own get(i) only. */
export function inOrder<T, R>(items: readonly T[], width: number, f: (t: T) => Promise<R>): (i: number) => Promise<R> {
  const started: Promise<R>[] = [];
  return (i) => {
    for (let j = started.length; j < Math.min(items.length, i + width); j++) {
      const p = f(items[j]!);
      p.catch(() => {}); // observed by its get(j)
      started.push(p);
    }
    return started[i]!;
  };
}
