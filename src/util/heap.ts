// Give memory back after the start-up burst. Reading and parsing the whole inventory at start (10,000
// instance files) grows V8's young generation to its maximum (64 MiB committed for a few hundred KiB
// live), and V8 keeps it: that was 60 of the 168 MiB a 10,000-instance gateway held once idle. One full
// garbage collection that reduces memory (V8's "last resort" flavour) shrinks it back; it grows again
// only if the request path needs it. V8's gc() is reached through --expose-gc set at run time, which
// exposes the function and changes nothing else.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (opts: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

/** One synchronous full GC that returns unused heap pages to the system. */
export function compactHeap(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as Gc | undefined;
  gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}
