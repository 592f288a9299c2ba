# Forks on command, one line per command on stdin, one answer line on stdout.
#   client <socket>  fork a child that connects to the unix socket and exits at once; reap it; print its pid
#   hold             fork a child that waits to be killed; print its pid (as this namespace numbers it)
#   kill             kill and reap the held child; print "ok"
import ctypes, os, signal, socket, sys

libc = ctypes.CDLL(None)
PR_SET_PDEATHSIG = 1

held = None
for line in sys.stdin:
    cmd = line.split()
    if cmd[0] == "client":
        pid = os.fork()
        if pid == 0:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(cmd[1])
            os._exit(0)  # the connection stays open on the server side; the peer is gone
        os.waitpid(pid, 0)
        print(pid, flush=True)
    elif cmd[0] == "hold":
        held = os.fork()
        if held == 0:
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # dies with the forker
            null = os.open("/dev/null", os.O_RDWR)
            os.dup2(null, 0)
            os.dup2(null, 1)  # never keeps the test's pipes open
            signal.pause()
            os._exit(0)
        print(held, flush=True)
    elif cmd[0] == "kill":
        if held:
            os.kill(held, signal.SIGKILL)
            os.waitpid(held, 0)
            held = None
        print("ok", flush=True)
