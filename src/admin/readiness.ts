// Readiness long-poll: resolve as soon as the guest PATCHes the wanted state (ReadyStore 'change'),
// or at once when it already has it. `after` asks for a report newer than a time (a fresh boot).
import { GuestgateError } from '../errors.ts';
import type { ReadyRecord, ReadyState, ReadyStore } from '../state/ready.ts';

export interface WaitOptions {
  readonly state: ReadyState;
  readonly timeoutMs: number;
  /** Only a report made after this time counts (ISO time or epoch ms). */
  readonly after?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

const satisfies = (r: ReadyRecord | undefined, o: WaitOptions): r is ReadyRecord =>
  r !== undefined && r.state === o.state && (o.after === undefined || Date.parse(r.since) > o.after);

/** The record once the state is reached; E_TIMEOUT when it is not within the timeout. */
export function waitForState(ready: ReadyStore, key: string, o: WaitOptions): Promise<ReadyRecord> {
  const now = ready.get(key);
  if (satisfies(now, o)) return Promise.resolve(now);
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      ready.off('change', onChange);
      o.signal?.removeEventListener('abort', onAbort);
    };
    const onChange = (k: string, r: ReadyRecord): void => {
      if (k !== key || !satisfies(r, o)) return;
      done();
      resolve(r);
    };
    const onAbort = (): void => {
      done();
      reject(new GuestgateError('E_UNAVAILABLE', 'wait aborted', { instance: key }));
    };
    const timer = setTimeout(() => {
      done();
      const cur = ready.get(key);
      reject(
        new GuestgateError('E_TIMEOUT', `instance "${key}" did not report ${o.state} within ${o.timeoutMs / 1000}s`, {
          instance: key,
          state: cur?.state ?? 'Unknown',
          since: cur?.since ?? null,
        }),
      );
    }, o.timeoutMs);
    ready.on('change', onChange);
    o.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
