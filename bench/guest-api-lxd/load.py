# Keep-alive HTTP/1.1 load over /dev/lxd/sock, run inside a container (python3 3.11, no packages).
# usage: load.py <connections> <seconds> <path> [processes]
# Connections are spread over a few processes (the GIL), each driving its share with epoll; every
# connection sends its next request as soon as the previous response is complete (closed loop).
# Prints one JSON line: requests, seconds, req_s, p50_ms, p99_ms, errors.
import json, os, select, socket, sys, time

conns, seconds, path = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
procs = int(sys.argv[4]) if len(sys.argv) > 4 else min(conns, os.cpu_count() or 1)
REQ = f"GET {path} HTTP/1.1\r\nHost: lxd\r\n\r\n".encode()
WARMUP = 0.3

def worker(n, wfd):
    ep = select.epoll()
    socks = {}
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX)
        s.connect("/dev/lxd/sock")
        s.setblocking(False)
        socks[s.fileno()] = [s, b"", 0.0]
        ep.register(s.fileno(), select.EPOLLIN)
    lat, errors = [], 0
    start = time.perf_counter()
    measure_from, end = start + WARMUP, start + WARMUP + seconds
    for st in socks.values():
        st[2] = time.perf_counter()
        st[0].send(REQ)
    while True:
        now = time.perf_counter()
        if now >= end:
            break
        for fd, _ in ep.poll(0.2):
            st = socks[fd]
            data = st[0].recv(65536)
            if not data:
                errors += 1
                ep.unregister(fd)
                continue
            st[1] += data
            buf = st[1]
            h = buf.find(b"\r\n\r\n")
            if h < 0:
                continue
            head = buf[:h].lower()
            i = head.find(b"content-length:")
            if i < 0:
                errors += 1
                continue
            ln = int(head[i + 15:head.find(b"\r\n", i) if head.find(b"\r\n", i) > 0 else len(head)])
            if len(buf) < h + 4 + ln:
                continue
            if not buf.startswith(b"HTTP/1.1 200"):
                errors += 1
            st[1] = buf[h + 4 + ln:]
            t = time.perf_counter()
            if t >= measure_from:
                lat.append(t - st[2])
            st[2] = t
            st[0].send(REQ)
    os.write(wfd, json.dumps({"lat": lat, "errors": errors}).encode())
    os.close(wfd)

procs = max(1, min(procs, conns))
shares = [conns // procs + (1 if i < conns % procs else 0) for i in range(procs)]
pipes = []
for n in shares:
    r, w = os.pipe()
    if os.fork() == 0:
        os.close(r)
        worker(n, w)
        os._exit(0)
    os.close(w)
    pipes.append(r)
lat, errors = [], 0
for r in pipes:
    chunks = []
    while True:
        d = os.read(r, 1 << 20)
        if not d:
            break
        chunks.append(d)
    res = json.loads(b"".join(chunks))
    lat += res["lat"]
    errors += res["errors"]
for _ in pipes:
    os.wait()
lat.sort()
pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")
print(json.dumps({"requests": len(lat), "seconds": seconds, "req_s": len(lat) / seconds, "p50_ms": pct(0.5), "p99_ms": pct(0.99), "errors": errors}))
