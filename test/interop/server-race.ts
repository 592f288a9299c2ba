// The reference servers' own race, told apart from an answer. LXD 5.0.2 and Incus 6.0.4 find the container of
// a caller that `lxc exec` started (not a descendant of the container's monitor) by reading
// /proc/<init pid>/ns/pid of EVERY running container; if another container is stopping at that moment (here:
// another test file's, on the same daemon), its init pid is already -1 and the whole request fails with
// 500 "readlink /proc/-1/ns/pid: no such file or directory" (incus cmd/incusd/dev_incus.go,
// findContainerForPid). guestgate's lookup is one map read and cannot fail that way. Only the server's side
// of a differential is retried, only on that text, for a bounded time; then the answer is compared as is.

import type { Dumped } from './http-dump.ts';

/** The server's error text when its scan of all containers met one that was stopping. */
export const SERVER_RACE = /readlink \/proc\/-?\d+\/ns\/pid: no such file or directory/;
/**
 * A HEAD's 500 has no body to match: its Content-Length is that of the text for init pid -1 (the stopping
 * container's, as seen every time here), which is all a HEAD can tell.
 */
export const SERVER_RACE_HEAD_LENGTH = Buffer.byteLength('readlink /proc/-1/ns/pid: no such file or directory\n');

/** Whether a dumped answer (curl -i) is the server's race: a 500 saying so, or a HEAD's 500 of that length. */
export function isServerRace(d: Dumped | undefined, head: boolean): boolean {
  if (!d?.status.includes(' 500 ')) return false;
  return head ? d.headers['content-length'] === String(SERVER_RACE_HEAD_LENGTH) : SERVER_RACE.test(d.body);
}

/** How long the server's side is retried: a container's stop on a busy 2-core machine can take this long. */
export const SERVER_RACE_DEADLINE_MS = 60_000;

/**
 * Runs `attempt` again while `raced` says its result shows the server's race, until `deadlineMs`; returns
 * the last result (compared by the caller like any other) and how many attempts were repeated.
 */
export async function pastServerRace<T>(
  attempt: () => Promise<T>,
  raced: (result: T) => boolean,
  deadlineMs = SERVER_RACE_DEADLINE_MS,
): Promise<{ result: T; repeated: number }> {
  const until = Date.now() + deadlineMs;
  let repeated = 0;
  for (;;) {
    const result = await attempt();
    if (!raced(result) || Date.now() >= until) return { result, repeated };
    repeated++;
    // The stopping container is gone within moments; back off a little so the retry does not spin.
    await new Promise((r) => setTimeout(r, Math.min(100 * repeated, 1_000)));
  }
}
