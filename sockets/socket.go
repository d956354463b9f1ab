// Package sockets gives the ZeroMQ socket types over the ZMTP transport:
// PAIR, PUB, SUB, XPUB, XSUB, REQ, REP, DEALER, ROUTER, PUSH and PULL, with
// libzmq's semantics and wire compatibility.
//
// A socket binds and connects any number of endpoints; sends and receives
// take a context, so deadlines and cancellation replace libzmq's
// ZMQ_SNDTIMEO and ZMQ_RCVTIMEO. Close waits (up to the linger period) for
// queued messages and leaves no goroutine behind.
package sockets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zmtpgo/zmtp/transport"
)

// Type is a socket type.
type Type = transport.SocketType

// Socket types.
const (
	PAIR   = transport.PAIR
	PUB    = transport.PUB
	SUB    = transport.SUB
	REQ    = transport.REQ
	REP    = transport.REP
	DEALER = transport.DEALER
	ROUTER = transport.ROUTER
	PULL   = transport.PULL
	PUSH   = transport.PUSH
	XPUB   = transport.XPUB
	XSUB   = transport.XSUB
)

// Event is a monitor event, delivered to WithMonitor's callback and
// logged by WithLogger. The kinds a socket reports, with what Endpoint,
// Peer and Reason hold (names after libzmq's ZMQ_EVENT_*):
//
//   - EventListening: Bind succeeded; Endpoint is the address bound.
//     EventBindFailed: it did not (Err says why).
//   - EventAccepted: a bound endpoint accepted a TCP connection from Peer;
//     EventRejected: the gate refused it (Reason names the rule).
//   - EventConnected: a connected endpoint's dial succeeded (Peer);
//     EventConnectDelayed: it failed (Err), and EventConnectRetried: the
//     reconnect interval elapsed and it dials again.
//   - EventHandshakeSucceeded: the connection with Peer is ready for
//     messages; EventHandshakeFailed: it never got there, Reason says why
//     (fsm.ReasonSocketTypeMismatch, ReasonHandshakeTimeout…) and Err
//     wraps a *transport.ConnError.
//   - EventDisconnected: a ready connection ended; Reason says why
//     (ReasonPeerClosed, ReasonHeartbeatTimeout, ReasonClosed for our own
//     Close…).
//   - EventClosed with a Reason: a connection accepted on Endpoint is
//     gone, whether or not its handshake completed (Peer names it, for
//     TCP). EventClosed without a Reason: the socket no longer listens on
//     or connects to Endpoint, after Unbind, Disconnect or Close (one per
//     endpoint).
//
// Once Close has returned, the socket reports nothing more.
type Event = transport.Event

// Errors.
var (
	ErrClosed         = errors.New("zmtp: socket closed")
	ErrNotSupported   = errors.New("zmtp: operation not supported by this socket type")
	ErrState          = errors.New("zmtp: operation not valid in the socket's current state") // libzmq's EFSM
	ErrUnroutable     = errors.New("zmtp: no peer with that routing id")                      // libzmq's EHOSTUNREACH
	ErrNoEndpoint     = errors.New("zmtp: endpoint not bound or connected")                   // libzmq's ENOENT
	ErrEndpointInUse  = errors.New("zmtp: endpoint already bound or connected")
	ErrEmptyMessage   = errors.New("zmtp: a message needs at least one frame")
	ErrBadRoutingID   = errors.New("zmtp: invalid routing id")
	errNotImplemented = errors.New("zmtp: socket type not implemented yet")
)

// Msg is a multipart message.
//
// A received message's small parts share memory with the messages that
// arrived with it, as libzmq's received messages share its decoder's
// buffer: frames of up to 128 B are carved from blocks of up to 2 KiB, and
// frame lists from blocks of up to 16, which also hold the first frames of
// the messages beside them. Keeping one such message keeps its blocks; a
// program that keeps a few small messages for long, out of many it drops,
// should keep copies (bytes.Clone) instead.
type Msg struct {
	Frames [][]byte
	// UserID names the authenticated peer a received message came from
	// (PLAIN or TOKEN-HMAC; libzmq's "User-Id" message property). Empty
	// with NULL and on messages to send.
	UserID string
}

// Free gives a received message's frames back for reuse by later
// receives, as zmq_msg_close does in libzmq: a program that receives many
// messages of 512 B or more and frees each when done with it spares the
// collector and the kernel a fresh body per message. Call it on a message
// Recv returned, once, after the last use of its frames and of anything
// sliced from them; never on a message given to Send, whose frames stay
// queued until written. Not calling it is always safe.
func (m *Msg) Free() {
	for _, f := range m.Frames {
		transport.Recycle(f)
	}
	m.Frames = nil
}

// NewMsg returns a message of the given frames.
func NewMsg(frames ...[]byte) Msg { return Msg{Frames: frames} }

// NewMsgString returns a message whose frames are the given strings.
func NewMsgString(frames ...string) Msg {
	m := Msg{Frames: make([][]byte, len(frames))}
	for i, f := range frames {
		m.Frames[i] = []byte(f)
	}
	return m
}

// String returns the frames joined by "|", for logs and tests.
func (m Msg) String() string {
	s := ""
	for i, f := range m.Frames {
		if i > 0 {
			s += "|"
		}
		s += string(f)
	}
	return s
}

// pattern is what differs between socket types.
type pattern interface {
	// attach decides whether a new connection joins (PAIR takes one).
	attach(p *peer) bool
	detach(p *peer)
	// incoming turns a received message into what Recv returns; ok=false
	// drops it (REQ drops replies it did not ask for).
	incoming(p *peer, frames [][]byte) (in inbound, ok bool)
	send(ctx context.Context, m Msg) error
	recv(ctx context.Context) (Msg, error)
}

// inbound is a received message with the connection it came from.
type inbound struct {
	p      *peer
	frames [][]byte
}

// msg is what Recv returns for in.
func (in inbound) msg() Msg {
	m := Msg{Frames: in.frames}
	if in.p != nil {
		m.UserID = in.p.c.UserID()
	}
	return m
}

// peer is one attached connection.
type peer struct {
	c  *transport.Conn
	id []byte // routing id (ROUTER)
}

// Socket is a ZeroMQ socket. Its methods are safe for concurrent use,
// except that Send and Recv of REQ and REP must alternate as in libzmq.
type Socket struct {
	typ  Type
	opts options
	cfg  transport.Config
	pat  pattern

	in inQueue // the receive queue

	mu         sync.Mutex
	peers      []*peer
	changed    chan struct{} // closed and replaced when peers change
	listeners  map[string]*transport.Listener
	bound      map[string]string // Bind argument → endpoint bound, where they differ
	connectors map[string]*transport.Connector
	last       string
	closed     chan struct{}
	isClosed   bool
	endpoints  sync.WaitGroup // Unbind and Disconnect calls in progress, which Close waits for
}

// New returns a socket of type t.
func New(t Type, opts ...Option) (*Socket, error) {
	o := defaultOptions()
	for _, f := range opts {
		f(&o)
	}
	if err := o.security.Validate(); err != nil {
		return nil, err
	}
	s := &Socket{
		typ: t, opts: o,
		in:         inQueue{limit: max(o.recvHWM, 1)},
		changed:    make(chan struct{}),
		listeners:  map[string]*transport.Listener{},
		bound:      map[string]string{},
		connectors: map[string]*transport.Connector{},
		closed:     make(chan struct{}),
	}
	gate, err := o.newGate()
	if err != nil {
		return nil, err
	}
	s.cfg = transport.Config{
		SocketType: t, Identity: o.identity, MaxMsgSize: o.maxMsgSize,
		HandshakeTimeout: o.handshakeTimeout, DeferAccept: o.deferAccept, ReconnectIvl: o.reconnectIvl, ReconnectIvlMax: o.reconnectIvlMax,
		SendQueue: o.sendHWM, Gate: gate, Handler: handler{s}, Monitor: s.monitor, Heartbeat: o.heartbeat, KeepAlive: o.keepAlive, Security: o.security, Dial: o.dial,
	}
	switch t {
	case PAIR:
		s.pat = &pairPattern{s: s, lb: lb{s: s}}
	case PUSH:
		s.pat = &pushPattern{lb: lb{s: s}}
	case PULL:
		s.pat = &pullPattern{s: s}
	case DEALER:
		s.pat = &dealerPattern{lb: lb{s: s}}
	case REQ:
		s.pat = &reqPattern{lb: lb{s: s}}
	case REP:
		s.pat = &repPattern{s: s}
	case ROUTER:
		s.pat = newRouter(s)
	case PUB, XPUB:
		s.pat = newPub(s, t == XPUB)
	case SUB, XSUB:
		s.pat = newSub(s, t == XSUB)
	default:
		return nil, fmt.Errorf("%w: %s", errNotImplemented, t)
	}
	return s, nil
}

// Type returns the socket's type.
func (s *Socket) Type() Type { return s.typ }

// Bind listens on endpoint ("tcp://127.0.0.1:5555", "tcp://*:0",
// "tcp://[::1]:0", "ipc:///tmp/x.sock"). LastEndpoint then tells the
// address actually bound.
func (s *Socket) Bind(endpoint string) error {
	s.mu.Lock()
	if s.isClosed {
		s.mu.Unlock()
		return ErrClosed
	}
	if _, ok := s.listeners[s.resolveLocked(endpoint)]; ok {
		s.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrEndpointInUse, endpoint)
	}
	s.mu.Unlock()
	// Listen reports its events to the monitor: not under s.mu, so that a
	// monitor may call the socket's methods.
	l, err := transport.Listen(endpoint, &s.cfg)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.listeners[l.Endpoint()]; s.isClosed || dup {
		l.Close()
		if s.isClosed {
			return ErrClosed
		}
		return fmt.Errorf("%w: %s", ErrEndpointInUse, endpoint)
	}
	s.listeners[l.Endpoint()] = l
	if endpoint != l.Endpoint() && !strings.HasSuffix(endpoint, ":0") {
		s.bound[endpoint] = l.Endpoint() // "tcp://*:5555" can be unbound by that text too
	}
	s.last = l.Endpoint()
	return nil
}

// BindListener serves connections accepted from ln, an already listening
// socket (systemd socket activation, or an in-memory network in tests),
// under the name endpoint, which Unbind takes.
func (s *Socket) BindListener(ln net.Listener, endpoint string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isClosed {
		return ErrClosed
	}
	if _, ok := s.listeners[endpoint]; ok {
		return fmt.Errorf("%w: %s", ErrEndpointInUse, endpoint)
	}
	s.listeners[endpoint] = transport.ListenOn(ln, endpoint, &s.cfg)
	s.last = endpoint
	return nil
}

// resolveLocked maps a Bind argument to the endpoint actually bound.
func (s *Socket) resolveLocked(endpoint string) string {
	if real, ok := s.bound[endpoint]; ok {
		return real
	}
	return endpoint
}

// Unbind closes the listener bound at endpoint and the connections it
// accepted. endpoint is what LastEndpoint reported after the Bind
// ("tcp://0.0.0.0:41234" for "tcp://*:0"), or the Bind argument itself when
// it named a port.
func (s *Socket) Unbind(endpoint string) error {
	s.mu.Lock()
	real := s.resolveLocked(endpoint)
	l, ok := s.listeners[real]
	delete(s.listeners, real)
	for alias, r := range s.bound {
		if r == real {
			delete(s.bound, alias)
		}
	}
	if ok {
		s.endpoints.Add(1)
		defer s.endpoints.Done()
	}
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoEndpoint, endpoint)
	}
	var err error
	s.closeEndpoint(func() { err = l.Close() }, func(p *peer) bool {
		return !p.c.Connected() && p.c.Endpoint() == l.Endpoint()
	})
	s.monitor(Event{Kind: transport.EventClosed, Endpoint: real})
	return err
}

// Connect connects to endpoint in the background, reconnecting whenever
// the connection is lost, like libzmq: it succeeds before the peer exists.
func (s *Socket) Connect(endpoint string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isClosed {
		return ErrClosed
	}
	if _, ok := s.connectors[endpoint]; ok {
		return fmt.Errorf("%w: %s", ErrEndpointInUse, endpoint)
	}
	c, err := transport.Connect(endpoint, &s.cfg)
	if err != nil {
		return err
	}
	s.connectors[endpoint] = c
	s.last = endpoint
	return nil
}

// Disconnect undoes Connect: it stops reconnecting to endpoint and closes
// its connection once the messages queued on it are sent or the linger
// period ends, whichever comes first; the socket's other endpoints are not
// touched. An endpoint that is not connected gives ErrNoEndpoint.
func (s *Socket) Disconnect(endpoint string) error {
	s.mu.Lock()
	c, ok := s.connectors[endpoint]
	delete(s.connectors, endpoint)
	var mine []*peer
	if ok {
		for _, p := range s.peers {
			if p.c.Endpoint() == c.Endpoint() && p.c.Connected() {
				mine = append(mine, p)
			}
		}
		s.endpoints.Add(1)
		defer s.endpoints.Done()
	}
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoEndpoint, endpoint)
	}
	s.linger(mine)
	s.closeEndpoint(c.Close, func(p *peer) bool { return p.c.Connected() && p.c.Endpoint() == c.Endpoint() })
	s.monitor(Event{Kind: transport.EventClosed, Endpoint: c.Endpoint()})
	return nil
}

// closeEndpoint runs stop (a listener's or connector's Close, which waits
// for its connections' goroutines) while closing the endpoint's attached
// connections itself, those there are and those that attach meanwhile:
// stop closes their sockets but not the connections, and a reader held up
// delivering to a full receive queue (Handler.Message) returns only once
// its connection is done or the socket closed.
func (s *Socket) closeEndpoint(stop func(), mine func(*peer) bool) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		stop()
	}()
	for {
		s.mu.Lock()
		for _, p := range s.peers {
			if mine(p) {
				p.c.Close()
			}
		}
		wake := s.changed
		s.mu.Unlock()
		select {
		case <-done:
			return
		case <-wake:
		}
	}
}

// linger waits, up to the linger period, for the peers' queues to drain.
func (s *Socket) linger(peers []*peer) {
	if s.opts.linger == 0 {
		return
	}
	var deadline time.Time
	if s.opts.linger > 0 {
		deadline = time.Now().Add(s.opts.linger)
	}
	for _, p := range peers {
		p.c.Drain(deadline)
	}
}

// LastEndpoint returns the endpoint of the last Bind or Connect, with the
// real port of a "tcp://…:0" bind (libzmq's ZMQ_LAST_ENDPOINT).
func (s *Socket) LastEndpoint() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// Send sends a message, blocking as the socket type says (PUSH, DEALER,
// REQ and PAIR wait for a peer with room) until ctx ends. The frames are
// handed to the connection without a copy: do not modify them after Send.
func (s *Socket) Send(ctx context.Context, m Msg) error {
	if len(m.Frames) == 0 {
		return ErrEmptyMessage
	}
	select {
	case <-s.closed:
		return ErrClosed
	default:
	}
	return s.pat.send(ctx, m)
}

// Recv receives a message, waiting until one arrives or ctx ends.
func (s *Socket) Recv(ctx context.Context) (Msg, error) {
	select {
	case <-s.closed:
		return Msg{}, ErrClosed
	default:
	}
	return s.pat.recv(ctx)
}

// Close stops the socket: it waits up to the linger period for queued
// messages to be written, then closes every endpoint and connection and
// waits for their goroutines.
func (s *Socket) Close() error {
	s.mu.Lock()
	if s.isClosed {
		s.mu.Unlock()
		return nil
	}
	s.isClosed = true
	peers := append([]*peer(nil), s.peers...)
	s.mu.Unlock()
	s.linger(peers)
	close(s.closed)
	s.mu.Lock()
	ls, cs := s.listeners, s.connectors
	s.listeners, s.connectors = map[string]*transport.Listener{}, map[string]*transport.Connector{}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for ep, l := range ls {
		wg.Go(func() {
			l.Close()
			s.monitor(Event{Kind: transport.EventClosed, Endpoint: ep})
		})
	}
	for _, c := range cs {
		wg.Go(func() {
			c.Close()
			s.monitor(Event{Kind: transport.EventClosed, Endpoint: c.Endpoint()})
		})
	}
	wg.Wait()
	s.endpoints.Wait() // an Unbind or Disconnect that started before Close
	return nil
}

func (s *Socket) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// recvQueue receives from the socket's queue.
func (s *Socket) recvQueue(ctx context.Context) (inbound, error) {
	in, _, err := s.in.pop(ctx, s.closed, nil)
	return in, err
}

func (s *Socket) monitor(ev Event) {
	if s.opts.monitor != nil {
		s.opts.monitor(ev)
	}
	if l := s.opts.logger; l != nil {
		level := slog.LevelDebug
		if ev.Err != nil {
			level = slog.LevelWarn
		}
		attrs := []any{"event", ev.Kind.String(), "endpoint", ev.Endpoint, "socket", s.typ.String()}
		if ev.Peer != "" {
			attrs = append(attrs, "peer", ev.Peer)
		}
		if ev.Reason != 0 {
			attrs = append(attrs, "reason", ev.Reason.String())
		}
		if ev.Err != nil {
			attrs = append(attrs, "err", ev.Err.Error())
		}
		l.Log(context.Background(), level, "zmtp "+ev.Kind.String(), attrs...)
	}
}

// handler is the transport's view of a socket.
type handler struct{ s *Socket }

func (h handler) Attach(c *transport.Conn) bool {
	s := h.s
	p := &peer{c: c}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isClosed || !s.pat.attach(p) {
		return false
	}
	s.peers = append(s.peers, p)
	c.SetTag(p)
	s.notifyLocked()
	return true
}

func (h handler) Detach(c *transport.Conn, err error) {
	s := h.s
	p, _ := c.Tag().(*peer)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, q := range s.peers {
		if q == p {
			s.peers = slices.Delete(s.peers, i, i+1) // clears the tail: no closed Conn kept alive
			break
		}
	}
	if p != nil {
		s.pat.detach(p)
	}
	s.notifyLocked()
}

func (h handler) Message(c *transport.Conn, frames [][]byte) {
	s := h.s
	p, _ := c.Tag().(*peer)
	in, ok := s.pat.incoming(p, frames)
	if !ok {
		return
	}
	s.in.push(in, c.Done(), s.closed)
}

// commander is a pattern that takes SUBSCRIBE and CANCEL commands.
type commander interface {
	command(p *peer, name string, body []byte)
}

// Messages queues several messages under one lock. PUB and XPUB take
// them one by one: their incoming acts on subscriptions sent as messages,
// which must stay in order with the messages around them.
func (h handler) Messages(c *transport.Conn, msgs [][][]byte) {
	s := h.s
	if _, ok := s.pat.(*pubPattern); ok {
		for _, frames := range msgs {
			h.Message(c, frames)
		}
		return
	}
	p, _ := c.Tag().(*peer)
	var buf [64]inbound // transport hands over at most 64 at once; more would allocate
	ins := buf[:0]
	for _, frames := range msgs {
		if in, ok := s.pat.incoming(p, frames); ok {
			ins = append(ins, in)
		}
	}
	s.in.pushAll(ins, c.Done(), s.closed)
}

func (h handler) Command(c *transport.Conn, name string, body []byte) {
	if cm, ok := h.s.pat.(commander); ok {
		if p, _ := c.Tag().(*peer); p != nil {
			cm.command(p, name, body)
		}
	}
}
