// The ONE module that calls native code directly (through koffi, FFI): from libc, socket peer
// credentials and pidfd, pidfd and namespace ioctls, fd limits, an epoll set for exit watching, a
// buffer's address, a socket's send buffer and sendfile (image exports); from node itself, OpenSSL's
// SHA-256. Everything else in guestgate works with the small typed wrappers below; errors come back as
// errno numbers.
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');

export const SOL_SOCKET = 1;
export const SO_PEERCRED = 17; // Linux (x86_64, arm64)
export const SO_PEERPIDFD = 77; // Linux >= 6.5
export const ENOENT = 2;
export const ESRCH = 3;
export const EINTR = 4;
export const EBADF = 9;
export const EINVAL = 22;
export const ENOTTY = 25;
export const ENOPROTOOPT = 92;
export const ENOSYS = 38;

export const getsockopt = libc.func(
  'int getsockopt(int fd, int level, int optname, _Out_ uint8_t *optval, _Inout_ uint32_t *optlen)',
) as (fd: number, level: number, name: number, out: Buffer, len: number[]) => number;

export const setsockopt = libc.func(
  'int setsockopt(int fd, int level, int optname, const uint8_t *optval, uint32_t optlen)',
) as (fd: number, level: number, name: number, val: Buffer, len: number) => number;
export const SO_SNDBUF = 7;
export const SO_SNDBUFFORCE = 32; // CAP_NET_ADMIN: past net.core.wmem_max
export const EPERM = 1;

const syscall3 = libc.func('long syscall(long n, int a, int b, uint64_t c)') as (
  n: number,
  a: number,
  b: number,
  c: number,
) => number;
const SYS_PIDFD_OPEN = 434; // same number on x86_64 and arm64 (Linux >= 5.3)
const SYS_PIDFD_SEND_SIGNAL = 424; // Linux >= 5.1

export const pidfdOpen = (pid: number): number => syscall3(SYS_PIDFD_OPEN, pid, 0, 0);
const syscall5 = libc.func('long syscall(long n, int a, int b, void *c, uint32_t d)') as (
  n: number,
  a: number,
  b: number,
  c: null,
  d: number,
) => number;
/** Signal 0 through a pidfd: 0 while the process lives (zombies included), -1 (ESRCH) once reaped. */
export const pidfdSignal0 = (pidfd: number): number => syscall5(SYS_PIDFD_SEND_SIGNAL, pidfd, 0, null, 0);

export const ioctlPtr = libc.func('ioctl', 'int', ['int', 'unsigned long', '_Inout_ uint8_t *']) as (
  fd: number,
  req: number,
  arg: Buffer,
) => number;
export const ioctlArg = libc.func('ioctl', 'int', ['int', 'unsigned long', 'unsigned long']) as (
  fd: number,
  req: number,
  arg: number,
) => number;

export const close = libc.func('int close(int fd)') as (fd: number) => number;
const fcntlInt = libc.func('fcntl', 'int', ['int', 'int', 'int']) as (fd: number, cmd: number, arg: number) => number;
const F_DUPFD_CLOEXEC = 1030;
/** dup(2), close-on-exec (as every descriptor libuv opens): a spawned process never inherits it. */
export const dupCloexec = (fd: number): number => fcntlInt(fd, F_DUPFD_CLOEXEC, 0);
type AsyncCb = (err: unknown, n: number) => void;
/** sendfile(2) runs on the thread pool (`.async`): it may wait for the disk. */
export const sendfileCall = libc.func(
  'long sendfile(int out_fd, int in_fd, _Inout_ int64_t *offset, unsigned long count)',
) as { async(out: number, inFd: number, offset: number[], count: number, cb: AsyncCb): void };
/** poll(2), called with a timeout of 0 only (it never blocks the event loop then). */
export const poll = libc.func('int poll(_Inout_ uint8_t *fds, unsigned long nfds, int timeout)') as (
  fds: Buffer,
  n: number,
  timeoutMs: number,
) => number;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const eventfd = libc.func('int eventfd(unsigned int initval, int flags)') as (v: number, f: number) => number;
export const write = libc.func('long write(int fd, const uint8_t *buf, unsigned long n)') as (
  fd: number,
  buf: Buffer,
  n: number,
) => number;
export const read = libc.func('long read(int fd, _Out_ uint8_t *buf, unsigned long n)') as (
  fd: number,
  buf: Buffer,
  n: number,
) => number;
export const getrlimit = libc.func('getrlimit', 'int', ['int', '_Out_ uint8_t *']) as (r: number, b: Buffer) => number;
export const setrlimit = libc.func('setrlimit', 'int', ['int', 'const uint8_t *']) as (r: number, b: Buffer) => number;

export const epollCreate1 = libc.func('int epoll_create1(int flags)') as (flags: number) => number;
export const epollCtl = libc.func('epoll_ctl', 'int', ['int', 'int', 'int', 'uint8_t *']) as (
  ep: number,
  op: number,
  fd: number,
  ev: Buffer | null,
) => number;
export const epollWait = libc.func('epoll_wait', 'int', ['int', '_Out_ uint8_t *', 'int', 'int']) as {
  async(ep: number, out: Buffer, max: number, timeout: number, cb: (err: unknown, n: number) => void): void;
};

export const errno = (): number => koffi.errno();
/** Where a buffer's bytes are in memory (for O_DIRECT's alignment; the images' fill stages its writes). */
export const bufferAddress = (b: Uint8Array): bigint => koffi.address(b);

/** struct epoll_event is packed on x86_64 (12 bytes), naturally aligned elsewhere (16 bytes). */
export const EPOLL_EVENT_SIZE = process.arch === 'x64' ? 12 : 16;
export const EPOLL_DATA_OFFSET = process.arch === 'x64' ? 4 : 8;

/**
 * SHA-256 from the OpenSSL node itself links and exports (the same code node:crypto runs, SHA-NI where
 * the CPU has it), so a digest can run on the thread pool (`update.async`) instead of in a Worker (whose
 * start costs ~40 ms and ~18 MB). undefined when this node does not export the symbols.
 */
export interface Sha256Native {
  init(ctx: Buffer): number;
  update: { async(ctx: Buffer, data: Buffer, n: number, cb: AsyncCb): void };
  final(md: Buffer, ctx: Buffer): number;
}
/** Bytes for an SHA256_CTX (112 in OpenSSL 1.1 and 3; room to spare). */
export const SHA256_CTX_BYTES = 256;
export const sha256Native: Sha256Native | undefined = (() => {
  try {
    const self = koffi.load(null as unknown as string);
    return {
      init: self.func('int SHA256_Init(_Inout_ uint8_t *c)') as Sha256Native['init'],
      update: self.func(
        'int SHA256_Update(_Inout_ uint8_t *c, const uint8_t *data, size_t len)',
      ) as Sha256Native['update'],
      final: self.func('int SHA256_Final(_Out_ uint8_t *md, _Inout_ uint8_t *c)') as Sha256Native['final'],
    };
  } catch {
    return undefined;
  }
})();
