#define _GNU_SOURCE
// listen: event listeners for bench/fanout in C (the default; listen.mjs is the Node flavour, --listener node).
// Run INSIDE one instance's pid namespace: opens COUNT listeners on the guest socket's /1.0/events?type=config
// (WebSocket or raw stream mode) and stamps each arrival of a config event for KEY with CLOCK_MONOTONIC (the
// clock of process.hrtime in the runner). One thread, poll() over every connection; what one wake-up read
// goes out in one write to stdout, so a listener costs the machine little next to the gateway it measures.
// build: gcc -O2 -static -o listen listen.c
// usage: listen SOCKET COUNT ws|stream KEY
// stdout, one line each:  open <i>  |  ev <ns> <i> <value>  |  retry <i> <code>  |  fail <i> <why>
// A connect refused with EAGAIN (the socket's listen backlog is full) is tried again after a short random
// pause and reported as `retry`. WebSocket pings are answered (masked pongs, as a client must). Exits when
// stdin ends (the runner ends it) or on SIGTERM.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#define MAXC 1024
#define BUF (256 * 1024)
typedef struct { int fd, state; size_t have; char *buf; } conn_t; // state: 0 connecting, 1 open, 2 done
static conn_t c[MAXC];
static const char *sockpath, *key; static int count, ws;
static char out[1 << 20]; static size_t outn;

static void flush(void) {
  for (size_t o = 0; o < outn;) { ssize_t k = write(1, out + o, outn - o); if (k <= 0) exit(0); o += k; }
  outn = 0;
}
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
  if (outn > sizeof out - 512) flush();
  va_list ap; va_start(ap, fmt); outn += vsnprintf(out + outn, sizeof out - outn, fmt, ap); va_end(ap);
}
static unsigned long long now_ns(void) {
  struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000ull + t.tv_nsec;
}
static void fail(int i, const char *why) {
  if (c[i].state == 2) return;
  c[i].state = 2; say("fail %d %s\n", i, why);
  if (c[i].fd >= 0) close(c[i].fd);
  c[i].fd = -1;
}
static int writeall(int fd, const char *p, size_t n) {
  while (n) { ssize_t k = write(fd, p, n); if (k < 0 && errno == EINTR) continue; if (k <= 0) return -1; p += k; n -= k; }
  return 0;
}

/* A connected listener: the request written and the answer's head read (blocking), 0 when it listens. */
static int handshake(int i) {
  char req[512];
  int n = ws ? snprintf(req, sizeof req, "GET /1.0/events?type=config HTTP/1.1\r\nHost: lxd\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
             : snprintf(req, sizeof req, "GET /1.0/events?type=config HTTP/1.1\r\nHost: lxd\r\n\r\n");
  if (writeall(c[i].fd, req, n) < 0) return fail(i, "error writing the request"), -1;
  for (;;) {
    ssize_t k = read(c[i].fd, c[i].buf + c[i].have, BUF - 1 - c[i].have);
    if (k <= 0) return fail(i, "closed by the server"), -1;
    c[i].have += k; c[i].buf[c[i].have] = 0;
    int status = 0;
    if (c[i].have >= 12 && sscanf(c[i].buf, "HTTP/1.%*d %d", &status) == 1 && status != (ws ? 101 : 200)) {
      char why[32]; snprintf(why, sizeof why, "status %d", status); return fail(i, why), -1;
    }
    // The head ends in CRLF CRLF; LXD's stream mode then sends an LF-only preamble ending in LF LF.
    char *end = strstr(c[i].buf, "\r\n\r\n");
    if (end) end += 4;
    if (end && !ws && (end = strstr(end, "\n\n"))) end += 2;
    if (!end) continue;
    size_t used = end - c[i].buf;
    memmove(c[i].buf, c[i].buf + used, c[i].have - used); c[i].have -= used;
    return 0;
  }
}

static void attempt(int i) {
  for (int tries = 0;; tries++) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_un a = {0};
    a.sun_family = AF_UNIX; strncpy(a.sun_path, sockpath, sizeof a.sun_path - 1);
    if (connect(fd, (void *)&a, sizeof a) == 0) {
      fcntl(fd, F_SETFL, 0); // blocking from here: reads happen only when poll() says there is data
      struct timeval tv = {60, 0}; setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      c[i].fd = fd;
      if (handshake(i) == 0) { c[i].state = 1; say("open %d\n", i); }
      return;
    }
    int e = errno; close(fd);
    if (e != EAGAIN || tries >= 1000) { char why[96]; snprintf(why, sizeof why, "error connect: %s", strerror(e)); fail(i, why); return; }
    say("retry %d EAGAIN\n", i); flush();
    struct timespec ts = {0, (5 + rand() % (5 * (tries < 20 ? tries + 1 : 20))) * 1000000L}; nanosleep(&ts, 0);
  }
}

/* One event document: a config event for KEY gives an `ev` line with its value. */
static void seen(int i, unsigned long long ns, const char *doc, size_t len) {
  char pat[300]; int pl = snprintf(pat, sizeof pat, "\"key\":\"%s\"", key);
  const char *k = memmem(doc, len, pat, pl);
  if (!k || !memmem(doc, len, "\"type\":\"config\"", 15)) return;
  const char *v = memmem(k, len - (k - doc), "\"value\":\"", 9);
  if (!v) return;
  v += 9;
  const char *q = memchr(v, '"', len - (v - doc));
  if (q) say("ev %llu %d %.*s\n", ns, i, (int)(q - v), v);
}

/* Whole frames at the start of the buffer; returns bytes used. */
static size_t frames(int i, unsigned long long ns) {
  unsigned char *b = (unsigned char *)c[i].buf; size_t used = 0;
  for (;;) {
    size_t n = c[i].have - used, h = 2; unsigned char *f = b + used;
    if (n < 2) return used;
    unsigned long long len = f[1] & 0x7f;
    if (len == 126) { if (n < 4) return used; len = (f[2] << 8) | f[3]; h = 4; }
    else if (len == 127) { if (n < 10) return used; len = 0; for (int j = 2; j < 10; j++) len = len << 8 | f[j]; h = 10; }
    if (f[1] & 0x80) { fail(i, "masked frame from the server"); return used; }
    if (len > BUF - 16) { fail(i, "frame too large"); return used; }
    if (n < h + len) return used;
    int op = f[0] & 0x0f;
    if (!(f[0] & 0x80)) { fail(i, "fragmented message"); return used; }
    if (op == 1 || op == 2) seen(i, ns, (char *)f + h, len);
    else if (op == 9 && len <= 125) { // pong, masked with a zero key
      unsigned char p[131] = {0x8a, 0x80 | (unsigned char)len, 0, 0, 0, 0};
      memcpy(p + 6, f + h, len);
      if (writeall(c[i].fd, (char *)p, 6 + len) < 0) { fail(i, "error writing a pong"); return used; }
    } else if (op == 8) {
      char why[64]; snprintf(why, sizeof why, "closed by the server (%d)", len >= 2 ? f[h] << 8 | f[h + 1] : 1005);
      fail(i, why); return used;
    }
    used += h + len;
  }
}

static size_t lines(int i, unsigned long long ns) {
  size_t used = 0;
  for (char *nl; (nl = memchr(c[i].buf + used, '\n', c[i].have - used));) {
    if (nl > c[i].buf + used) seen(i, ns, c[i].buf + used, nl - (c[i].buf + used));
    used = nl + 1 - c[i].buf;
  }
  return used;
}

int main(int argc, char **argv) {
  if (argc != 5 || (count = atoi(argv[2])) < 1 || count > MAXC || (strcmp(argv[3], "ws") && strcmp(argv[3], "stream"))) {
    fprintf(stderr, "usage: listen SOCKET COUNT ws|stream KEY (COUNT 1..%d)\n", MAXC);
    return 1;
  }
  sockpath = argv[1]; ws = !strcmp(argv[3], "ws"); key = argv[4];
  srand(getpid());
  for (int i = 0; i < count; i++) { c[i].fd = -1; c[i].buf = malloc(BUF); }
  for (int i = 0; i < count; i++) { attempt(i); flush(); }
  struct pollfd p[MAXC + 1];
  for (;;) {
    int n = 0;
    p[n++] = (struct pollfd){0, POLLIN, 0};
    for (int i = 0; i < count; i++) p[n++] = (struct pollfd){c[i].fd, POLLIN, 0}; // fd -1 is skipped by poll
    if (poll(p, n, -1) < 0) { if (errno == EINTR) continue; return 1; }
    if (p[0].revents) { char x[64]; if (read(0, x, sizeof x) <= 0) { flush(); return 0; } }
    for (int i = 0; i < count; i++) {
      if (!p[i + 1].revents || c[i].state != 1) continue;
      ssize_t k = read(c[i].fd, c[i].buf + c[i].have, BUF - c[i].have);
      unsigned long long ns = now_ns();
      if (k <= 0) { fail(i, k == 0 ? "closed by the server" : "error reading"); continue; }
      c[i].have += k;
      size_t used = ws ? frames(i, ns) : lines(i, ns);
      if (c[i].state != 1) continue;
      memmove(c[i].buf, c[i].buf + used, c[i].have - used); c[i].have -= used;
    }
    flush();
  }
}
