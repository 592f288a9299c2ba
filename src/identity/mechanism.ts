// Which kernel mechanism ties a connection to its process, probed once and logged at start:
//   pidfd         SO_PEERPIDFD (>= 6.5) + PIDFD_GET_PID_NAMESPACE (>= 6.11) + PIDFD_GET_INFO (>= 6.13)
//   pidfd+procfs  SO_PEERPIDFD; namespace/cgroup read from /proc/<pid>, then confirmed against the pidfd
//   pid+procfs    kernels < 6.5: SO_PEERCRED pid, pidfd_open (>= 5.3) right after accept; a pid reused
//                 within that window is not detected (documented in README "Security model")
import { release } from 'node:os';
import { probeSupport } from './pidfd.ts';

export interface Mechanism {
  readonly name: 'pidfd' | 'pidfd+procfs' | 'pid+procfs';
  readonly peerPidfd: boolean;
  readonly getPidNamespace: boolean;
  readonly getInfo: boolean;
  disablePeerPidfd(): void;
}

let current: Mechanism | undefined;

const atLeast = (major: number, minor: number): boolean => {
  const [a = 0, b = 0] = release()
    .split('.')
    .map((x) => Number.parseInt(x, 10));
  return a > major || (a === major && b >= minor);
};

export function mechanism(): Mechanism {
  if (current) return current;
  const s = probeSupport();
  if (!s.pidfdOpen) throw new Error('guestgate needs pidfd_open (Linux >= 5.3) to identify guests safely');
  let peer = atLeast(6, 5);
  const m: Mechanism = {
    get name() {
      return peer ? (s.getPidNamespace && s.getInfo ? 'pidfd' : 'pidfd+procfs') : 'pid+procfs';
    },
    get peerPidfd() {
      return peer;
    },
    getPidNamespace: s.getPidNamespace,
    getInfo: s.getInfo,
    disablePeerPidfd: () => {
      peer = false;
    },
  };
  current = m;
  return m;
}
