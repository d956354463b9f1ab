// record: capture the bytes libzmq sends, as seeds for the transport
// package's tests and fuzz targets.
//
// Each session plays a raw ZMTP peer over plain TCP against one libzmq
// socket, in this process: it sends a valid greeting and READY (or runs the
// PLAIN steps) so that libzmq proceeds, and appends every byte libzmq sends
// to testdata/libzmq/<session>.bin. See README.md beside this file for how
// to rebuild; nothing built is kept in the tree.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

static void *ctx;
static const char *outdir;

static void die(const char *what) {
    fprintf(stderr, "record: %s: %s (zmq: %s)\n", what, strerror(errno), zmq_strerror(zmq_errno()));
    exit(1);
}

// A transcript of everything libzmq sent on one connection.
typedef struct {
    int fd;
    unsigned char buf[1 << 16];
    size_t len;
} conn_t;

// read_exact reads n bytes, appending them to the transcript; it fails after
// timeout_ms without progress.
static int read_exact(conn_t *c, size_t n, int timeout_ms) {
    if (c->len + n > sizeof c->buf) {
        fprintf(stderr, "record: transcript full\n");
        exit(1);
    }
    size_t got = 0;
    while (got < n) {
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        int rc = poll(&p, 1, timeout_ms);
        if (rc == 0)
            return -1;
        if (rc < 0)
            die("poll");
        ssize_t m = recv(c->fd, c->buf + c->len + got, n - got, 0);
        if (m <= 0)
            return -1;
        got += (size_t) m;
    }
    c->len += n;
    return 0;
}

// read_frame reads one frame into the transcript and returns a pointer to
// its body (inside the transcript) or NULL on timeout.
static unsigned char *read_frame(conn_t *c, size_t *size, unsigned char *flags, int timeout_ms) {
    size_t start = c->len;
    if (read_exact(c, 1, timeout_ms) < 0)
        return NULL;
    *flags = c->buf[start];
    uint64_t n;
    if (*flags & 2) {
        if (read_exact(c, 8, timeout_ms) < 0)
            return NULL;
        n = 0;
        for (int i = 0; i < 8; i++)
            n = n << 8 | c->buf[start + 1 + i];
    } else {
        if (read_exact(c, 1, timeout_ms) < 0)
            return NULL;
        n = c->buf[start + 1];
    }
    size_t body = c->len;
    if (read_exact(c, (size_t) n, timeout_ms) < 0)
        return NULL;
    *size = (size_t) n;
    return c->buf + body;
}

static void must_frame(conn_t *c, const char *what) {
    size_t size;
    unsigned char flags;
    if (!read_frame(c, &size, &flags, 3000)) {
        fprintf(stderr, "record: no %s from libzmq\n", what);
        exit(1);
    }
}

static void send_all(int fd, const void *p, size_t n) {
    const unsigned char *b = p;
    while (n > 0) {
        ssize_t m = send(fd, b, n, MSG_NOSIGNAL);
        if (m <= 0)
            die("send");
        b += m;
        n -= (size_t) m;
    }
}

static void send_greeting(int fd, const char *mechanism, int minor, int as_server) {
    unsigned char g[64] = {0};
    g[0] = 0xFF;
    g[8] = 1;
    g[9] = 0x7F;
    g[10] = 3;
    g[11] = (unsigned char) minor;
    memcpy(g + 12, mechanism, strlen(mechanism));
    g[32] = (unsigned char) as_server;
    send_all(fd, g, sizeof g);
}

// send_command sends a short command frame: name and data.
static void send_command(int fd, const char *name, const void *data, size_t len) {
    unsigned char f[260];
    size_t nl = strlen(name);
    f[0] = 4;
    f[1] = (unsigned char) (1 + nl + len);
    f[2] = (unsigned char) nl;
    memcpy(f + 3, name, nl);
    memcpy(f + 3 + nl, data, len);
    send_all(fd, f, 3 + nl + len);
}

static void send_ready(int fd, const char *socket_type) {
    unsigned char m[64];
    size_t tl = strlen(socket_type), n = 0;
    m[n++] = 11;
    memcpy(m + n, "Socket-Type", 11);
    n += 11;
    m[n++] = 0, m[n++] = 0, m[n++] = 0, m[n++] = (unsigned char) tl;
    memcpy(m + n, socket_type, tl);
    n += tl;
    send_command(fd, "READY", m, n);
}

// listen_any returns a listening TCP socket on 127.0.0.1 and its endpoint.
static int listen_any(char *endpoint, size_t cap) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof a) < 0 || listen(fd, 1) < 0 ||
        getsockname(fd, (struct sockaddr *) &a, &al) < 0)
        die("listen");
    snprintf(endpoint, cap, "tcp://127.0.0.1:%d", ntohs(a.sin_port));
    return fd;
}

static int accept_one(int lfd) {
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0)
        die("accept");
    close(lfd);
    return fd;
}

static void save(conn_t *c, const char *session) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.bin", outdir, session);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(c->buf, 1, c->len, f) != c->len || fclose(f) != 0)
        die(path);
    printf("%-22s %5zu bytes\n", path, c->len);
}

static void set_int(void *s, int opt, int v) {
    if (zmq_setsockopt(s, opt, &v, sizeof v) < 0)
        die("setsockopt");
}

static void set_str(void *s, int opt, const char *v) {
    if (zmq_setsockopt(s, opt, v, strlen(v)) < 0)
        die("setsockopt");
}

static void zsend(void *s, const char *p, size_t n, int flags) {
    if (zmq_send(s, p, n, flags) < 0)
        die("zmq_send");
}

// session connects a libzmq socket of the given type to a raw listener, runs
// the NULL greeting and READY exchange, and returns both ends.
static void *session(int type, const char *peer_type, int minor, conn_t *c) {
    char ep[64];
    int lfd = listen_any(ep, sizeof ep);
    void *s = zmq_socket(ctx, type);
    if (!s)
        die("zmq_socket");
    set_int(s, ZMQ_LINGER, 0);
    if (type == ZMQ_DEALER)
        set_str(s, ZMQ_ROUTING_ID, "rec-dealer");
    if (zmq_connect(s, ep) < 0)
        die("zmq_connect");
    c->len = 0;
    c->fd = accept_one(lfd);
    send_greeting(c->fd, "NULL", minor, 0);
    if (read_exact(c, 64, 3000) < 0)
        die("greeting");
    send_ready(c->fd, peer_type);
    must_frame(c, "READY");
    return s;
}

static void finish(void *s, conn_t *c, const char *name) {
    save(c, name);
    close(c->fd);
    zmq_close(s);
}

static conn_t c;

// DEALER: READY with Identity, a two-part message, a long (300-byte) frame.
static void rec_dealer(void) {
    void *s = session(ZMQ_DEALER, "ROUTER", 1, &c);
    zsend(s, "hello", 5, ZMQ_SNDMORE);
    zsend(s, "world", 5, 0);
    char big[300];
    memset(big, 'x', sizeof big);
    zsend(s, big, sizeof big, 0);
    for (int i = 0; i < 3; i++)
        must_frame(&c, "data frame");
    finish(s, &c, "dealer");
}

// REQ: READY with an empty Identity, then the empty delimiter and a request.
static void rec_req(void) {
    void *s = session(ZMQ_REQ, "REP", 1, &c);
    zsend(s, "request", 7, 0);
    must_frame(&c, "delimiter");
    must_frame(&c, "request");
    finish(s, &c, "req");
}

// PUSH: a three-part message.
static void rec_push(void) {
    void *s = session(ZMQ_PUSH, "PULL", 1, &c);
    zsend(s, "one", 3, ZMQ_SNDMORE);
    zsend(s, "two", 3, ZMQ_SNDMORE);
    zsend(s, "three", 5, 0);
    for (int i = 0; i < 3; i++)
        must_frame(&c, "data frame");
    finish(s, &c, "push");
}

// PUB: we subscribe to everything with a SUBSCRIBE command, then PUB
// publishes once the subscription has been processed.
static void rec_pub(void) {
    void *s = session(ZMQ_PUB, "SUB", 1, &c);
    send_command(c.fd, "SUBSCRIBE", "", 0);
    for (int tries = 0;; tries++) {
        if (tries == 30) {
            fprintf(stderr, "record: PUB never published\n");
            exit(1);
        }
        usleep(100 * 1000);
        zsend(s, "topic-a", 7, ZMQ_SNDMORE);
        zsend(s, "payload", 7, 0);
        size_t size;
        unsigned char flags;
        if (read_frame(&c, &size, &flags, 200)) {
            must_frame(&c, "payload");
            break;
        }
    }
    finish(s, &c, "pub");
}

// SUB: a subscription and its cancellation, as ZMTP 3.1 commands (minor 1)
// or as ZMTP 3.0 data frames starting with 1 or 0 (minor 0).
static void rec_sub(int minor, const char *name) {
    void *s = session(ZMQ_SUB, "PUB", minor, &c);
    set_str(s, ZMQ_SUBSCRIBE, "topic");
    must_frame(&c, "subscription");
    set_str(s, ZMQ_UNSUBSCRIBE, "topic");
    must_frame(&c, "cancellation");
    finish(s, &c, name);
}

// Heartbeats: libzmq's PING (TTL 2 s = 20 deciseconds) and its PONG to our
// PING with a 16-byte context. Their order depends on timing.
static void rec_heartbeat(void) {
    char ep[64];
    int lfd = listen_any(ep, sizeof ep);
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    set_int(s, ZMQ_LINGER, 0);
    set_int(s, ZMQ_HEARTBEAT_IVL, 100);
    set_int(s, ZMQ_HEARTBEAT_TTL, 2000);
    set_int(s, ZMQ_HEARTBEAT_TIMEOUT, 5000);
    if (zmq_connect(s, ep) < 0)
        die("zmq_connect");
    c.len = 0;
    c.fd = accept_one(lfd);
    send_greeting(c.fd, "NULL", 1, 0);
    if (read_exact(&c, 64, 3000) < 0)
        die("greeting");
    send_ready(c.fd, "ROUTER");
    must_frame(&c, "READY");
    unsigned char ping[18] = {0, 0};
    memcpy(ping + 2, "ctx-0123456789ab", 16);
    send_command(c.fd, "PING", ping, sizeof ping);
    must_frame(&c, "PING or PONG");
    must_frame(&c, "PING or PONG");
    finish(s, &c, "heartbeat");
}

// PLAIN client: HELLO with user name and password, then INITIATE with
// metadata after our WELCOME.
static void rec_plain_client(void) {
    char ep[64];
    int lfd = listen_any(ep, sizeof ep);
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    set_int(s, ZMQ_LINGER, 0);
    set_str(s, ZMQ_ROUTING_ID, "rec-plain");
    set_str(s, ZMQ_PLAIN_USERNAME, "admin");
    set_str(s, ZMQ_PLAIN_PASSWORD, "secret");
    if (zmq_connect(s, ep) < 0)
        die("zmq_connect");
    c.len = 0;
    c.fd = accept_one(lfd);
    send_greeting(c.fd, "PLAIN", 1, 1);
    if (read_exact(&c, 64, 3000) < 0)
        die("greeting");
    must_frame(&c, "HELLO");
    send_command(c.fd, "WELCOME", "", 0);
    must_frame(&c, "INITIATE");
    finish(s, &c, "plain-client");
}

// zap_deny answers one ZAP request with status 400.
static void *zap_deny(void *handler) {
    char buf[256];
    char version[16], id[64];
    int vl = zmq_recv(handler, version, sizeof version, 0);
    int il = zmq_recv(handler, id, sizeof id, 0);
    int more;
    size_t ml = sizeof more;
    for (zmq_getsockopt(handler, ZMQ_RCVMORE, &more, &ml); more; zmq_getsockopt(handler, ZMQ_RCVMORE, &more, &ml))
        zmq_recv(handler, buf, sizeof buf, 0);
    if (vl < 0 || il < 0)
        return NULL;
    zmq_send(handler, version, (size_t) vl, ZMQ_SNDMORE);
    zmq_send(handler, id, (size_t) il, ZMQ_SNDMORE);
    zmq_send(handler, "400", 3, ZMQ_SNDMORE);
    zmq_send(handler, "denied", 6, ZMQ_SNDMORE);
    zmq_send(handler, "", 0, ZMQ_SNDMORE);
    zmq_send(handler, "", 0, 0);
    return NULL;
}

// PLAIN server refusing us: we connect to a bound libzmq ROUTER whose ZAP
// handler denies, send HELLO, and record its greeting and ERROR.
static void rec_plain_error(void) {
    void *handler = zmq_socket(ctx, ZMQ_REP);
    set_int(handler, ZMQ_LINGER, 0);
    if (zmq_bind(handler, "inproc://zeromq.zap.01") < 0)
        die("zap bind");
    pthread_t t;
    pthread_create(&t, NULL, zap_deny, handler);

    void *s = zmq_socket(ctx, ZMQ_ROUTER);
    set_int(s, ZMQ_LINGER, 0);
    set_int(s, ZMQ_PLAIN_SERVER, 1);
    if (zmq_bind(s, "tcp://127.0.0.1:*") < 0)
        die("zmq_bind");
    char ep[64];
    size_t el = sizeof ep;
    zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &el);
    int port = atoi(strrchr(ep, ':') + 1);
    c.len = 0;
    c.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = htons(port)};
    if (connect(c.fd, (struct sockaddr *) &a, sizeof a) < 0)
        die("connect");
    send_greeting(c.fd, "PLAIN", 1, 0);
    if (read_exact(&c, 64, 3000) < 0)
        die("greeting");
    unsigned char hello[64];
    size_t n = 0;
    hello[n++] = 5;
    memcpy(hello + n, "admin", 5);
    n += 5;
    hello[n++] = 5;
    memcpy(hello + n, "wrong", 5);
    n += 5;
    send_command(c.fd, "HELLO", hello, n);
    must_frame(&c, "ERROR");
    pthread_join(t, NULL);
    zmq_close(handler);
    finish(s, &c, "plain-error");
}

int main(int argc, char **argv) {
    outdir = argc > 1 ? argv[1] : "testdata/libzmq";
    int major, minor, patch;
    zmq_version(&major, &minor, &patch);
    fprintf(stderr, "record: libzmq %d.%d.%d\n", major, minor, patch);
    ctx = zmq_ctx_new();
    rec_dealer();
    rec_req();
    rec_push();
    rec_pub();
    rec_sub(1, "sub");
    rec_sub(0, "sub-zmtp30");
    rec_heartbeat();
    rec_plain_client();
    rec_plain_error();
    zmq_ctx_term(ctx);
    return 0;
}
