// Learn the moment a held process exits: a pidfd becomes readable when its process exits. Node
// cannot watch a raw fd, so one epoll set holds every watched pidfd (plus an eventfd to wake it)
// and epoll_wait runs through koffi's async call on ONE libuv thread-pool thread, only while at
// least one pidfd is watched (so an idle process can exit). Cost: one pool thread, no polling.
import * as n from './native.ts';

const EPOLLIN = 0x1;
const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EFD_CLOEXEC = 0o2000000;
const EFD_NONBLOCK = 0o4000;
const EPOLL_CLOEXEC = 0o2000000;
const MAX_EVENTS = 64;
const WAKE = 0n;

interface Watch {
  readonly fd: number;
  readonly onExit: () => void;
}

class ExitWatcher {
  #ep = -1;
  #wake = -1;
  #next = 1n;
  readonly #watches = new Map<bigint, Watch>();
  #waiting = false;
  readonly #out = Buffer.alloc(MAX_EVENTS * n.EPOLL_EVENT_SIZE);

  get size(): number {
    return this.#watches.size;
  }

  /** Call `onExit` once when the process behind `pidfd` exits. Returns the handle to unwatch. */
  watch(pidfd: number, onExit: () => void): bigint {
    this.#open();
    const token = this.#next++;
    if (n.epollCtl(this.#ep, EPOLL_CTL_ADD, pidfd, event(EPOLLIN, token)) !== 0)
      throw new Error(`epoll_ctl(ADD pidfd ${pidfd}) failed (errno ${n.errno()})`);
    this.#watches.set(token, { fd: pidfd, onExit });
    if (!this.#waiting) this.#wait();
    return token;
  }

  /** Stop watching (before the pidfd is closed). */
  unwatch(token: bigint): void {
    const w = this.#watches.get(token);
    if (!w) return;
    this.#watches.delete(token);
    n.epollCtl(this.#ep, EPOLL_CTL_DEL, w.fd, null);
    if (this.#watches.size === 0 && this.#waiting) n.write(this.#wake, one(), 8);
  }

  #open(): void {
    if (this.#ep >= 0) return;
    this.#ep = n.epollCreate1(EPOLL_CLOEXEC);
    this.#wake = n.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (this.#ep < 0 || this.#wake < 0) throw new Error(`epoll/eventfd setup failed (errno ${n.errno()})`);
    n.epollCtl(this.#ep, EPOLL_CTL_ADD, this.#wake, event(EPOLLIN, WAKE));
  }

  #wait(): void {
    this.#waiting = true;
    n.epollWait.async(this.#ep, this.#out, MAX_EVENTS, -1, (err, count) => {
      this.#waiting = false;
      const fired: Watch[] = [];
      for (let i = 0; i < (err ? 0 : count); i++) {
        const token = this.#out.readBigUInt64LE(i * n.EPOLL_EVENT_SIZE + n.EPOLL_DATA_OFFSET);
        if (token === WAKE) {
          n.read(this.#wake, Buffer.alloc(8), 8);
          continue;
        }
        const w = this.#watches.get(token);
        if (!w) continue; // unwatched meanwhile
        this.#watches.delete(token);
        n.epollCtl(this.#ep, EPOLL_CTL_DEL, w.fd, null);
        fired.push(w);
      }
      if (this.#watches.size > 0) this.#wait();
      for (const w of fired) w.onExit();
    });
  }
}

function event(events: number, token: bigint): Buffer {
  const b = Buffer.alloc(n.EPOLL_EVENT_SIZE);
  b.writeUInt32LE(events, 0);
  b.writeBigUInt64LE(token, n.EPOLL_DATA_OFFSET);
  return b;
}

const one = (): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(1n);
  return b;
};

/** One watcher per process: one pool thread whatever the number of inventories. */
export const exitWatcher = new ExitWatcher();
