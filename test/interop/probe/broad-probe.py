# Replays the requests of fixtures/reference/lxd-5.0.2/probe-broad.txt (its `### ` lines) over a raw unix
# socket, as that recording's client did: one connection per request, `METHOD TARGET HTTP/1.1`, `Host: x`
# (unless the label says "no Host"), the extra headers, Content-Length when a body is sent, `Connection: close`,
# the body; then read until the server closes. Runs inside a container with the container's python3.
#
#   python3 broad-probe.py SOCKET STEP... < probe-broad.txt   (a STEP is a prefix of a `## step` title)
#
# Environment: PROBE_SUBST = JSON {"from": "to", ...} applied to each request line first (image fingerprints).
# PROBE_RACE = a regular expression, PROBE_RACE_HEAD_LENGTH = bytes, PROBE_RACE_S = seconds (the real server's
# side only): a 500 whose body matches (a HEAD's: whose Content-Length is that) is the server's own race with
# another container stopping (../server-race.ts); such a request is sent again until PROBE_RACE_S have
# passed. Each answer says how often (race_retries).
# Output: one JSON object per request: {step, request, status, headers: [[name, value], ...] in wire order,
# body (base64), lf_only}. Date's value is replaced by <date> (the time of day); its place is kept.
import ast, base64, json, os, re, socket, sys, time

LINE = re.compile(r"^### (\S+) (\S+)(?: body=(b'[^']*'))?(?: (\{.*\}))?(?: \[(.*)\])?$")


def requests(text, steps):
    step = None
    for line in text.splitlines():
        if line.startswith("## step "):
            title = line[len("## step "):]
            step = title if any(title.startswith(s) for s in steps) else None
        elif line.startswith("## "):
            step = None
        elif step and line.startswith("### ") and not line.startswith("### websocket"):
            m = LINE.match(line)
            if not m:
                raise SystemExit("cannot parse request line: " + line)
            method, target, body, extra, label = m.groups()
            yield step, line[4:], method, target, (ast.literal_eval(body) if body else None), \
                (ast.literal_eval(extra) if extra else {}), label or ""


def wire(method, target, body, extra, label):
    version = "HTTP/1.0" if label.startswith("HTTP/1.0") else "HTTP/2.0" if label == "bad version" else "HTTP/1.1"
    head = ["%s %s %s" % (method, target, version)]
    if "no Host" not in label:
        head.append("Host: x")
    head += ["%s: %s" % kv for kv in extra.items()]
    if body is not None:
        head.append("Content-Length: %d" % len(body))
    head.append("Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + (body or b"")


def timeout_for(target, label):
    if "/events" in target:
        return 1.0
    return 8.0 if "/images/" in target else 3.0


def exchange(path, data, timeout):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall(data)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except socket.timeout:
        pass
    s.close()
    return out


def dechunk(b):
    out = b""
    while b:
        size, _, rest = b.partition(b"\r\n")
        n = int(size.split(b";")[0] or b"0", 16)
        if n == 0:
            break
        out += rest[:n]
        b = rest[n + 2:]
    return out


def parse(raw):
    end, lf_only = raw.find(b"\r\n\r\n"), False
    if end < 0 and raw.find(b"\n\n") >= 0:
        end, lf_only = raw.find(b"\n\n"), True
    head, body = (raw, b"") if end < 0 else (raw[:end], raw[end + (2 if lf_only else 4):])
    lines = head.decode("latin-1").replace("\r\n", "\n").split("\n")
    headers = [l.split(":", 1) for l in lines[1:] if ":" in l]
    headers = [[k, "<date>" if k.lower() == "date" else v.strip()] for k, v in headers]
    if any(k.lower() == "transfer-encoding" and v == "chunked" for k, v in headers):
        body = dechunk(body)
    return {"status": lines[0], "headers": headers, "body": base64.b64encode(body).decode(), "lf_only": lf_only}


def run_one(path, method, target, body, extra, label):
    data = wire(method, target, body, extra, label)
    if "as uid 65534" not in label:
        return parse(exchange(path, data, timeout_for(target, label)))
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.setgid(65534)
        os.setuid(65534)
        os.write(w, json.dumps(parse(exchange(path, data, 3.0))).encode())
        os._exit(0)
    os.close(w)
    chunks = []
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        chunks.append(b)
    os.waitpid(pid, 0)
    return json.loads(b"".join(chunks))


def main():
    path, steps = sys.argv[1], sys.argv[2:]
    subst = json.loads(os.environ.get("PROBE_SUBST", "{}"))
    text = sys.stdin.read()
    for k, v in subst.items():
        text = text.replace(k, v)
    race = re.compile(os.environ["PROBE_RACE"].encode()) if os.environ.get("PROBE_RACE") else None
    head_length = os.environ.get("PROBE_RACE_HEAD_LENGTH", "")
    race_s = float(os.environ.get("PROBE_RACE_S", "0"))

    def raced(method, out):
        if not race or " 500 " not in out["status"]:
            return False
        if method == "HEAD":
            return [v for k, v in out["headers"] if k.lower() == "content-length"] == [head_length]
        return bool(race.search(base64.b64decode(out["body"])))

    for step, request, method, target, body, extra, label in requests(text, steps):
        until, retries = time.monotonic() + race_s, 0
        while True:
            out = run_one(path, method, target, body, extra, label)
            if not raced(method, out) or time.monotonic() >= until:
                break
            retries += 1
            time.sleep(min(0.1 * retries, 1.0))
        out.update(step=step, request=request, race_retries=retries)
        print(json.dumps(out), flush=True)


main()
