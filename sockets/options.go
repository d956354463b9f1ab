package sockets

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/zmtpgo/zmtp/transport"
)

// Option configures a socket at New. Options are functional, one per
// libzmq socket option worth having.
type Option func(*options)

type options struct {
	identity         []byte
	sendHWM, recvHWM int
	maxMsgSize       int64
	handshakeTimeout time.Duration
	deferAccept      time.Duration
	reconnectIvl     time.Duration
	reconnectIvlMax  time.Duration
	linger           time.Duration
	monitor          func(Event)
	logger           *slog.Logger
	routerMandatory  bool
	xpubVerbose      bool // pub.go
	xpubVerboser     bool
	heartbeat        transport.Heartbeat
	keepAlive        transport.KeepAlive
	security         transport.Security
	dial             func(ctx context.Context, network, address string) (net.Conn, error)
	gate             *transport.Gate
	gateOpts         []func(*transport.Gate) error // applied in order by New (gate.go)
}

func defaultOptions() options {
	return options{sendHWM: 1000, recvHWM: 1000, maxMsgSize: -1, linger: DefaultLinger}
}

// DefaultLinger bounds how long Close waits to hand queued messages to the
// operating system. libzmq waits forever by default; a socket on an
// untrusted network must not, so ours waits 30 s unless told otherwise.
const DefaultLinger = 30 * time.Second

// WithIdentity sets the Identity sent to peers (ZMQ_ROUTING_ID): a ROUTER
// peer routes to it. 1–255 bytes, not starting with a zero byte.
func WithIdentity(id []byte) Option {
	return func(o *options) { o.identity = append([]byte(nil), id...) }
}

// WithSendHWM sets the send high-water mark per connection, in messages
// (ZMQ_SNDHWM, default 1000).
func WithSendHWM(n int) Option { return func(o *options) { o.sendHWM = n } }

// WithRecvHWM sets the receive queue's capacity, in messages (ZMQ_RCVHWM,
// default 1000). A full queue stops reading from the peers.
func WithRecvHWM(n int) Option { return func(o *options) { o.recvHWM = n } }

// WithMaxMsgSize limits received messages (ZMQ_MAXMSGSIZE); a peer that
// declares more is disconnected before the bytes are allocated. < 0 is
// unlimited, the default.
func WithMaxMsgSize(n int64) Option { return func(o *options) { o.maxMsgSize = n } }

// WithHandshakeTimeout bounds each handshake (ZMQ_HANDSHAKE_IVL, default
// 30 s; < 0 disables it).
func WithHandshakeTimeout(d time.Duration) Option {
	return func(o *options) { o.handshakeTimeout = d }
}

// WithReconnectIvl sets the wait before redialling (ZMQ_RECONNECT_IVL,
// default 100 ms; < 0 disables reconnecting).
func WithReconnectIvl(d time.Duration) Option { return func(o *options) { o.reconnectIvl = d } }

// WithReconnectIvlMax makes the reconnect wait double after each failure up
// to d (ZMQ_RECONNECT_IVL_MAX; 0, the default, keeps it constant).
func WithReconnectIvlMax(d time.Duration) Option {
	return func(o *options) { o.reconnectIvlMax = d }
}

// WithLinger sets how long Close waits for queued messages to be sent
// (ZMQ_LINGER): 0 drops them, < 0 waits as long as the peers stay
// connected. Default DefaultLinger.
func WithLinger(d time.Duration) Option { return func(o *options) { o.linger = d } }

// WithMonitor calls f with every monitor event of the socket. f runs on the
// socket's connection goroutines and must return quickly.
func WithMonitor(f func(Event)) Option { return func(o *options) { o.monitor = f } }

// WithLogger logs every monitor event to l (debug level for routine ones,
// warnings for failures).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithRouterMandatory makes a ROUTER's Send fail with ErrUnroutable for an
// unknown peer instead of dropping the message, and wait until its context
// ends for room on a peer at its high-water mark instead of dropping the
// message there (ZMQ_ROUTER_MANDATORY).
func WithRouterMandatory() Option { return func(o *options) { o.routerMandatory = true } }

// WithGate makes the socket's bound endpoints use g, which other sockets may
// share (their caps then count across all of them), instead of a gate of
// the socket's own. The socket's other gate options (WithAllow,
// WithMaxPeers…) apply to g.
func WithGate(g *transport.Gate) Option { return func(o *options) { o.gate = g } }

// WithHeartbeat sends a ZMTP PING every ivl, asking the peer to consider
// us dead after ttl without traffic, and declares the peer dead when
// nothing at all arrives within timeout after a PING (0: ivl), like
// libzmq's ZMQ_HEARTBEAT_IVL, _TTL and _TIMEOUT. A dead connection closes
// with reason HeartbeatTimeout, and a connecting socket reconnects.
func WithHeartbeat(ivl, ttl, timeout time.Duration) Option {
	return func(o *options) { o.heartbeat = transport.Heartbeat{Interval: ivl, TTL: ttl, Timeout: timeout} }
}

// WithTCPKeepAlive turns TCP keepalive on for every connection, connecting
// and accepted, like libzmq's ZMQ_TCP_KEEPALIVE=1 with _IDLE, _INTVL and
// _CNT; a zero idle, interval or count keeps the OS default for it. A peer
// whose host vanished is then found without any ZMTP traffic, and the
// connection closes with reason KeepaliveFailed. Without this option the
// OS default stands (off on Linux), as in libzmq.
func WithTCPKeepAlive(idle, interval time.Duration, count int) Option {
	return func(o *options) {
		o.keepAlive = transport.KeepAlive{Mode: transport.KeepAliveOn, Idle: idle, Interval: interval, Count: count}
	}
}

// WithoutTCPKeepAlive turns TCP keepalive off on connecting sockets
// (libzmq's ZMQ_TCP_KEEPALIVE=0).
func WithoutTCPKeepAlive() Option {
	return func(o *options) { o.keepAlive = transport.KeepAlive{Mode: transport.KeepAliveOff} }
}

// WithPlainClient authenticates to a PLAIN server with a user name and
// password (libzmq's ZMQ_PLAIN_USERNAME and ZMQ_PLAIN_PASSWORD). PLAIN
// sends them in clear: prefer WithTokenClient between our own peers.
func WithPlainClient(username string, password []byte) Option {
	return func(o *options) {
		o.security = transport.Security{Mechanism: transport.MechanismPlain, Username: username, Password: append(transport.Secret(nil), password...)}
	}
}

// WithPlainServer makes the socket a PLAIN server (ZMQ_PLAIN_SERVER) whose
// authenticator decides every login; a *transport.TokenTable checks user
// names as key ids and passwords as tokens. A client refused gets ERROR
// "400", as from libzmq.
func WithPlainServer(auth transport.Authenticator) Option {
	return func(o *options) {
		o.security = transport.Security{Mechanism: transport.MechanismPlain, Server: true, Authenticator: auth}
	}
}

// WithTokenClient authenticates to a TOKEN-HMAC server by proving it holds
// the token for keyID, without sending it, and requires the server to
// prove the same (see docs/handshake.md for the protocol and its threat
// model). Tokens are at least 16 random bytes.
func WithTokenClient(keyID string, token []byte) Option {
	return func(o *options) {
		o.security = transport.Security{Mechanism: transport.MechanismToken, KeyID: keyID, Token: append(transport.Secret(nil), token...)}
	}
}

// WithTokenServer makes the socket a TOKEN-HMAC server holding tokens. If
// tokens is also a transport.Authenticator (a *transport.TokenTable is),
// it decides who a proven key id is and whether it may connect.
func WithTokenServer(tokens transport.TokenSource) Option {
	return func(o *options) {
		o.security = transport.Security{Mechanism: transport.MechanismToken, Server: true, Tokens: tokens}
		if a, ok := tokens.(transport.Authenticator); ok {
			o.security.Authenticator = a
		}
	}
}

// WithDialer makes Connect open its connections with dial instead of a
// net.Dialer: through a proxy, over a custom transport, or over an
// in-memory network in tests. TCP keepalive is then dial's business.
func WithDialer(dial func(ctx context.Context, network, address string) (net.Conn, error)) Option {
	return func(o *options) { o.dial = dial }
}
