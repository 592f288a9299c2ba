// A Python function for scripts run inside containers: one request over a unix socket (Connection: close),
// the whole answer back as bytes. Prepended to the scripts that need it.
export const PY_EXCHANGE = `import socket
def exchange(path, data):
    s = socket.socket(socket.AF_UNIX); s.connect(path); s.sendall(data)
    out = b""
    while True:
        b = s.recv(65536)
        if not b: break
        out += b
    s.close()
    return out
`;
