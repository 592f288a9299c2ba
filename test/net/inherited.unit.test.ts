// Which inherited sockets are meant for this process, and under which listener name (pure).
import { describe, expect, it } from 'vitest';
import { checkInheritedUsed, parseInherited } from '../../src/net/inherited.ts';

const PID = 100;
const PPID = 50;

describe('parseInherited', () => {
  it('systemd: LISTEN_PID must be ours; names map to fds 3, 4, ...', () => {
    const env = { LISTEN_FDS: '3', LISTEN_FDNAMES: 'guest:nocloud:admin', LISTEN_PID: String(PID) };
    const got = parseInherited(env, PID, PPID);
    expect(got?.from).toBe('systemd');
    expect([...got!.fds]).toEqual([
      ['guest', 3],
      ['nocloud', 4],
      ['admin', 5],
    ]);
    expect(parseInherited({ ...env, LISTEN_PID: '7' }, PID, PPID)).toBeUndefined();
  });

  it('one socket without a known name is the guest socket (a .socket unit passes its unit name)', () => {
    const env = { LISTEN_FDS: '1', LISTEN_FDNAMES: 'guestgate-guest.socket', LISTEN_PID: String(PID) };
    expect([...parseInherited(env, PID, PPID)!.fds]).toEqual([['guest', 3]]);
    expect([...parseInherited({ LISTEN_FDS: '1', LISTEN_PID: String(PID) }, PID, PPID)!.fds]).toEqual([['guest', 3]]);
  });

  it('handover: GUESTGATE_HANDOVER must be our parent, the notify fd comes along', () => {
    const env = {
      LISTEN_FDS: '2',
      LISTEN_FDNAMES: 'guest:admin',
      GUESTGATE_HANDOVER: String(PPID),
      GUESTGATE_HANDOVER_FD: '5',
    };
    expect(parseInherited(env, PID, PPID)).toEqual({
      from: 'handover',
      parent: PPID,
      notifyFd: 5,
      fds: new Map([
        ['guest', 3],
        ['admin', 4],
      ]),
    });
    // A grandchild that inherited the environment is not the successor.
    expect(parseInherited(env, PID, 1)).toBeUndefined();
    expect(parseInherited({}, PID, PPID)).toBeUndefined();
  });

  it('unknown, repeated or missing names are errors naming LISTEN_FDNAMES', () => {
    const sd = (n: string, names?: string) => ({
      LISTEN_FDS: n,
      LISTEN_PID: String(PID),
      ...(names === undefined ? {} : { LISTEN_FDNAMES: names }),
    });
    expect(() => parseInherited(sd('2', 'guest:web'), PID, PPID)).toThrow(/unknown socket name "web"/);
    expect(() => parseInherited(sd('2', 'guest:guest'), PID, PPID)).toThrow(/guest given twice/);
    expect(() => parseInherited(sd('2'), PID, PPID)).toThrow(/LISTEN_FDS is 2 but LISTEN_FDNAMES names 0/);
  });

  it('an inherited socket for a listener the config does not have fails the start naming the key', () => {
    const got = parseInherited(
      { LISTEN_FDS: '2', LISTEN_FDNAMES: 'guest:nocloud', LISTEN_PID: String(PID) },
      PID,
      PPID,
    );
    expect(() => checkInheritedUsed(got, new Set(['guest']))).toThrow(/named nocloud .*nocloud.listen is not set/);
    expect(() => checkInheritedUsed(got, new Set(['guest', 'nocloud']))).not.toThrow();
  });
});
