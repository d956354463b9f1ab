package transport

import (
	"context"
	"net"
	"time"
)

// Defaults matching libzmq's.
const (
	DefaultHandshakeTimeout = 30 * time.Second       // ZMQ_HANDSHAKE_IVL
	DefaultReconnectIvl     = 100 * time.Millisecond // ZMQ_RECONNECT_IVL
	DefaultSendQueue        = 1000                   // ZMQ_SNDHWM
)

// Config is what a connection needs from its socket. A Config is shared by
// every connection of a socket and must not change while they run.
type Config struct {
	// SocketType is sent in READY and checked against the peer's.
	SocketType SocketType
	// Identity is sent in READY by REQ, DEALER and ROUTER sockets.
	Identity []byte
	// MaxMsgSize limits a received message; < 0 is unlimited (libzmq's
	// default), 0 means the default.
	MaxMsgSize int64
	// HandshakeTimeout bounds the handshake; 0 means 30 s, < 0 none.
	HandshakeTimeout time.Duration
	// ReconnectIvl is the first wait before redialling; 0 means 100 ms,
	// < 0 disables reconnecting.
	ReconnectIvl time.Duration
	// ReconnectIvlMax caps the exponential backoff; 0 keeps the interval
	// constant, as in libzmq.
	ReconnectIvlMax time.Duration
	// SendQueue is the capacity of each connection's outgoing queue, in
	// messages (the send high-water mark); 0 means 1000.
	SendQueue int
	// Heartbeat sets ZMTP PINGs and the dead-peer timeout; the zero value
	// sends none (a peer's PINGs are always answered, its TTL honoured).
	Heartbeat Heartbeat
	// KeepAlive sets TCP keepalive; the zero value leaves the OS default.
	KeepAlive KeepAlive
	// DeferAccept, when positive, has a bound TCP endpoint's kernel hold a
	// new connection until its first byte arrives, or until about this
	// long has passed, before accept sees it (TCP_DEFER_ACCEPT; Linux
	// only, ignored elsewhere). The kernel counts the wait in SYN-ACK
	// retransmissions, so it is rounded up to 1, 3, 7, 15, 31 … s, and
	// capped at an hour. ZMTP peers send
	// their greeting at once, so they are not delayed; a flood of
	// connections that stay silent then costs no accept, no gate check and
	// no handshake slot, the kernel dropping them when their peer resets.
	// A silent peer still accepted after the wait meets the handshake
	// timeout as usual.
	DeferAccept time.Duration
	// Security is the mechanism and credentials; the zero value is NULL.
	Security Security
	// Dial, when set, opens the connecting side's connections instead of
	// a net.Dialer: a proxy, a custom transport, or an in-memory network
	// in tests. KeepAlive is then the dialler's business.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// Gate decides who may connect to a bound socket (accept-from lists,
	// peer and handshake caps) and counts what it did; nil admits everyone
	// and counts nothing. Its lists and caps may change at any time; the
	// pointer may not.
	Gate *Gate
	// Handler receives ready connections, their messages and their ends.
	Handler Handler
	// Monitor, when set, receives every monitor event. It is called on
	// connection goroutines and must not block.
	Monitor func(Event)
}

// Handler is the socket side of its connections. A connection's methods
// are called one at a time and in order, by its reader; an accepted
// connection that parks while idle resumes on another goroutine, so the
// calls need not all come from one goroutine.
type Handler interface {
	// Attach offers a connection that completed its handshake. Returning
	// false refuses it (a PAIR socket that already has its peer); the
	// connection is then closed.
	Attach(c *Conn) bool
	// Message delivers one whole message. It may block to push back on the
	// peer (receive high-water mark) but must return once c.Done() closes.
	Message(c *Conn, frames [][]byte)
	// Command delivers SUBSCRIBE and CANCEL commands (body = topic).
	Command(c *Conn, name string, body []byte)
	// Detach reports that an attached connection closed, and why.
	Detach(c *Conn, err error)
}

func (c *Config) handshakeTimeout() time.Duration {
	if c.HandshakeTimeout == 0 {
		return DefaultHandshakeTimeout
	}
	return c.HandshakeTimeout
}

func (c *Config) maxMsgSize() int64 {
	if c.MaxMsgSize == 0 {
		return -1
	}
	return c.MaxMsgSize
}

func (c *Config) sendQueue() int {
	if c.SendQueue <= 0 {
		return DefaultSendQueue
	}
	return c.SendQueue
}

func (c *Config) emit(ev Event) {
	if c.Monitor != nil {
		c.Monitor(ev)
	}
}
