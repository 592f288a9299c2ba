// Listening sockets handed to this process: by systemd socket activation (LISTEN_FDS, LISTEN_FDNAMES,
// LISTEN_PID equal to our pid) or by the previous guestgate during a restart (the same two variables,
// and GUESTGATE_HANDOVER equal to our parent's pid instead of LISTEN_PID: a parent cannot know its
// child's pid before the child runs). The fds start at 3, in LISTEN_FDNAMES order. Pure, plus one
// function that reads and clears the environment so no child of ours inherits the variables.
import { GuestgateError } from '../errors.ts';

/** The listeners guestgate knows by name (FileDescriptorName= in a .socket unit). */
export const LISTENER_NAMES = ['guest', 'nocloud', 'admin', 'admin-https'] as const;
export type ListenerName = (typeof LISTENER_NAMES)[number];

export const SD_LISTEN_FDS_START = 3;

export interface Inherited {
  readonly from: 'systemd' | 'handover';
  /** Only for a handover: the pid of the process that handed the sockets over. */
  readonly parent?: number;
  readonly fds: ReadonlyMap<ListenerName, number>;
  /** For a handover: the fd to write "ready\n" to once every listener serves. */
  readonly notifyFd?: number;
}

export const HANDOVER_ENV = 'GUESTGATE_HANDOVER';
export const HANDOVER_NOTIFY_ENV = 'GUESTGATE_HANDOVER_FD';

const isName = (n: string): n is ListenerName => (LISTENER_NAMES as readonly string[]).includes(n);

/**
 * What the environment hands over to the process `pid` (child of `ppid`), or undefined when nothing is
 * meant for it. One fd without a known name is the guest socket (a .socket unit without
 * FileDescriptorName= passes its unit name). Unknown or repeated names are an E_CONFIG error.
 */
export function parseInherited(
  env: Readonly<Record<string, string | undefined>>,
  pid: number,
  ppid: number,
): Inherited | undefined {
  const count = Number(env.LISTEN_FDS ?? '');
  if (!Number.isInteger(count) || count < 1) return undefined;
  let from: Inherited['from'];
  if (env.LISTEN_PID !== undefined) {
    if (env.LISTEN_PID !== String(pid)) return undefined;
    from = 'systemd';
  } else if (env[HANDOVER_ENV] !== undefined && env[HANDOVER_ENV] === String(ppid)) from = 'handover';
  else return undefined;
  const given = env.LISTEN_FDNAMES === undefined ? [] : env.LISTEN_FDNAMES.split(':');
  const names = count === 1 && !isName(given[0] ?? '') ? ['guest'] : given;
  if (names.length !== count)
    throw new GuestgateError(
      'E_CONFIG',
      `LISTEN_FDS is ${count} but LISTEN_FDNAMES names ${given.length} socket(s): with more than one socket, give each FileDescriptorName= (one of ${LISTENER_NAMES.join(', ')})`,
      { key: 'LISTEN_FDNAMES' },
    );
  const fds = new Map<ListenerName, number>();
  names.forEach((name, i) => {
    if (!isName(name))
      throw new GuestgateError(
        'E_CONFIG',
        `LISTEN_FDNAMES: unknown socket name ${JSON.stringify(name)} (expected one of ${LISTENER_NAMES.join(', ')})`,
        { key: 'LISTEN_FDNAMES', value: name },
      );
    if (fds.has(name))
      throw new GuestgateError('E_CONFIG', `LISTEN_FDNAMES: socket name ${name} given twice`, {
        key: 'LISTEN_FDNAMES',
        value: name,
      });
    fds.set(name, SD_LISTEN_FDS_START + i);
  });
  const notify = Number(env[HANDOVER_NOTIFY_ENV] ?? '');
  return from === 'handover'
    ? { from, parent: ppid, fds, ...(Number.isInteger(notify) && notify > 2 ? { notifyFd: notify } : {}) }
    : { from, fds };
}

/** parseInherited on this process, then the variables are removed (children must not take them). */
export function takeInherited(): Inherited | undefined {
  const got = parseInherited(process.env, process.pid, process.ppid);
  for (const k of ['LISTEN_FDS', 'LISTEN_FDNAMES', 'LISTEN_PID', HANDOVER_ENV, HANDOVER_NOTIFY_ENV])
    delete process.env[k];
  return got;
}

/** Every inherited fd must belong to a configured listener (else the start fails naming it). */
export function checkInheritedUsed(inherited: Inherited | undefined, configured: ReadonlySet<ListenerName>): void {
  for (const name of inherited?.fds.keys() ?? [])
    if (!configured.has(name))
      throw new GuestgateError(
        'E_CONFIG',
        `an inherited socket is named ${name} but that listener is not configured (${keyOf[name]} is not set)`,
        { key: keyOf[name] },
      );
}

const keyOf: Record<ListenerName, string> = {
  guest: 'guest.socket',
  nocloud: 'nocloud.listen',
  admin: 'admin.enabled',
  'admin-https': 'admin.https.listen',
};
