// Package memnet is an in-memory network for tests on a virtual clock: a
// listener, a dialler for transport.Config.Dial and sockets.WithDialer, and
// faults per listening address: Silence, Stall, Resume, Reset, and a
// listener closed and listened again (a server restarted on its port).
//
// Connections are buffered both ways, like a pair of kernel socket buffers,
// so two peers may write before either reads (net.Pipe would deadlock the
// ZMTP greeting, which both sides send first). Everything blocks on
// channels and timers only, so inside a testing/synctest bubble a goroutine
// waiting on the network is durably blocked and the clock can advance.
//
// A Network must be created inside the bubble that uses it.
package memnet

import (
	"context"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// DefaultBuffer is the capacity of each direction of a connection, in bytes.
const DefaultBuffer = 256 << 10

// Network is a set of listening addresses and the connections to them.
type Network struct {
	buffer int

	mu      sync.Mutex
	changed chan struct{} // closed and replaced at every change: the one wake-up
	hosts   map[string]*host
	port    int // the next client port
}

// host is what the network knows of one listening address.
type host struct {
	ln     *Listener // nil when nothing listens
	silent bool
	stall  bool // silent, but dials complete
	links  map[*link]struct{}
}

// link is one connection: its two directions and what both ends share.
type link struct {
	h     *host
	reset bool
	// toServer carries the client's bytes, toClient the server's.
	toServer, toClient pipe
}

// pipe is one direction of a connection.
type pipe struct {
	buf     []byte
	wclosed bool // the writing end closed: EOF once buf is read
	rclosed bool // the reading end closed: writes fail, bytes are dropped
}

// New returns an empty network whose connections buffer up to buffer bytes
// each way (0: DefaultBuffer).
func New(buffer int) *Network {
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	return &Network{buffer: buffer, changed: make(chan struct{}), hosts: map[string]*host{}, port: 49152}
}

// notifyLocked wakes every waiter so it checks its condition again.
func (n *Network) notifyLocked() {
	close(n.changed)
	n.changed = make(chan struct{})
}

func (n *Network) hostLocked(addr string) *host {
	h := n.hosts[addr]
	if h == nil {
		h = &host{links: map[*link]struct{}{}}
		n.hosts[addr] = h
	}
	return h
}

// wait releases n.mu until the network changes or deadline passes (zero:
// no deadline), and takes it again.
func (n *Network) wait(deadline time.Time, done <-chan struct{}) {
	ch := n.changed
	n.mu.Unlock()
	defer n.mu.Lock()
	if deadline.IsZero() {
		select {
		case <-ch:
		case <-done:
		}
		return
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-done:
	}
}

// Addr is a memnet address: "host:port" text.
type Addr string

// Network returns "memnet".
func (Addr) Network() string { return "memnet" }

func (a Addr) String() string { return string(a) }

// Listen starts listening at addr, any text ("pub:5555"); it fails while
// another listener has it. A closed listener frees the address.
func (n *Network) Listen(addr string) (*Listener, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	h := n.hostLocked(addr)
	if h.ln != nil {
		return nil, &net.OpError{Op: "listen", Net: "memnet", Addr: Addr(addr), Err: syscall.EADDRINUSE}
	}
	h.ln = &Listener{n: n, h: h, addr: Addr(addr)}
	n.notifyLocked()
	return h.ln, nil
}

// Dial connects to the listener at addr, as transport.Config.Dial wants.
// It is refused when nothing listens there, and while addr is silent it
// waits for Resume (or ctx), as a SYN to a vanished host goes unanswered;
// while it is stalled it connects.
func (n *Network) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for {
		if err := ctx.Err(); err != nil {
			return nil, &net.OpError{Op: "dial", Net: network, Addr: Addr(addr), Err: err}
		}
		h := n.hosts[addr]
		if h == nil || !h.silent || h.stall {
			break
		}
		n.wait(time.Time{}, ctx.Done())
	}
	h := n.hosts[addr]
	if h == nil || h.ln == nil {
		return nil, &net.OpError{Op: "dial", Net: network, Addr: Addr(addr), Err: syscall.ECONNREFUSED}
	}
	l := &link{h: h}
	h.links[l] = struct{}{}
	local := Addr("client:" + strconv.Itoa(n.port))
	n.port++
	client := &Conn{n: n, l: l, in: &l.toClient, out: &l.toServer, local: local, remote: Addr(addr)}
	server := &Conn{n: n, l: l, in: &l.toServer, out: &l.toClient, local: Addr(addr), remote: local}
	h.ln.backlog = append(h.ln.backlog, server)
	n.notifyLocked()
	return client, nil
}

// Silence stops every byte and every close to and from addr, on current
// connections and on new ones, without closing anything: the host dropped
// off the network. Writes fill the buffers, then block; dials wait.
func (n *Network) Silence(addr string) { n.silence(addr, false) }

// Stall is Silence, except that dials complete (and the listener accepts)
// though nothing crosses the new connections either: a proxy in front of a
// host that is gone, or a host that dropped off just after the TCP
// handshake. Handshakes then hang until their timeout or Resume.
func (n *Network) Stall(addr string) { n.silence(addr, true) }

func (n *Network) silence(addr string, stall bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	h := n.hostLocked(addr)
	h.silent, h.stall = true, stall
	n.notifyLocked()
}

// Resume ends a silence or a stall: held bytes, closes and dials go
// through.
func (n *Network) Resume(addr string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	h := n.hostLocked(addr)
	h.silent, h.stall = false, false
	n.notifyLocked()
}

// Reset breaks every connection to addr at once, on both ends and even
// while silent: reads and writes fail with ECONNRESET.
func (n *Network) Reset(addr string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	h := n.hostLocked(addr)
	for l := range h.links {
		l.reset = true
		delete(h.links, l)
	}
	n.notifyLocked()
}

// Conns returns the number of connections to addr not yet closed by both
// ends.
func (n *Network) Conns(addr string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if h := n.hosts[addr]; h != nil {
		return len(h.links)
	}
	return 0
}

// Listener accepts connections dialled to its address.
type Listener struct {
	n       *Network
	h       *host
	addr    Addr
	backlog []*Conn // guarded by n.mu
	closed  bool    // guarded by n.mu
}

// Accept waits for a connection, or for Close.
func (l *Listener) Accept() (net.Conn, error) {
	n := l.n
	n.mu.Lock()
	defer n.mu.Unlock()
	for {
		if l.closed {
			return nil, &net.OpError{Op: "accept", Net: "memnet", Addr: l.addr, Err: net.ErrClosed}
		}
		if len(l.backlog) > 0 {
			c := l.backlog[0]
			l.backlog = l.backlog[1:]
			return c, nil
		}
		n.wait(time.Time{}, nil)
	}
}

// Close stops listening and frees the address; connections not yet
// accepted are reset.
func (l *Listener) Close() error {
	n := l.n
	n.mu.Lock()
	defer n.mu.Unlock()
	if l.closed {
		return &net.OpError{Op: "close", Net: "memnet", Addr: l.addr, Err: net.ErrClosed}
	}
	l.closed = true
	if l.h.ln == l {
		l.h.ln = nil
	}
	for _, c := range l.backlog {
		c.l.reset = true
		delete(l.h.links, c.l)
	}
	l.backlog = nil
	n.notifyLocked()
	return nil
}

// Addr returns the listening address.
func (l *Listener) Addr() net.Addr { return l.addr }

// Conn is one end of a memnet connection.
type Conn struct {
	n       *Network
	l       *link
	in, out *pipe
	local   Addr
	remote  Addr
	// Guarded by n.mu.
	closed   bool
	rdl, wdl time.Time
}

func (c *Conn) opErr(op string, err error) error {
	return &net.OpError{Op: op, Net: "memnet", Source: c.local, Addr: c.remote, Err: err}
}

// Read reads what the peer wrote; while the address is silent it sees
// neither bytes nor the peer's close.
func (c *Conn) Read(b []byte) (int, error) {
	n := c.n
	n.mu.Lock()
	defer n.mu.Unlock()
	for {
		switch {
		case c.closed:
			return 0, c.opErr("read", net.ErrClosed)
		case c.l.reset:
			return 0, c.opErr("read", syscall.ECONNRESET)
		case len(b) == 0:
			return 0, nil
		}
		if !c.l.h.silent {
			if len(c.in.buf) > 0 {
				k := copy(b, c.in.buf)
				c.in.buf = c.in.buf[k:]
				n.notifyLocked()
				return k, nil
			}
			if c.in.wclosed {
				return 0, io.EOF
			}
		}
		if !c.rdl.IsZero() && !time.Now().Before(c.rdl) {
			return 0, c.opErr("read", os.ErrDeadlineExceeded)
		}
		n.wait(c.rdl, nil)
	}
}

// Write queues b for the peer, blocking while the buffer is full. Once the
// peer has closed (and the address is not silent) it fails with EPIPE.
func (c *Conn) Write(b []byte) (int, error) {
	n := c.n
	n.mu.Lock()
	defer n.mu.Unlock()
	written := 0
	for {
		switch {
		case c.closed:
			return written, c.opErr("write", net.ErrClosed)
		case c.l.reset:
			return written, c.opErr("write", syscall.ECONNRESET)
		case c.out.rclosed && !c.l.h.silent:
			return written, c.opErr("write", syscall.EPIPE)
		case written == len(b):
			return written, nil
		}
		if room := n.buffer - len(c.out.buf); room > 0 {
			k := min(room, len(b)-written)
			c.out.buf = append(c.out.buf, b[written:written+k]...)
			written += k
			n.notifyLocked()
			continue
		}
		if !c.wdl.IsZero() && !time.Now().Before(c.wdl) {
			return written, c.opErr("write", os.ErrDeadlineExceeded)
		}
		n.wait(c.wdl, nil)
	}
}

// Close closes this end: the peer reads what was written, then EOF (once
// the address is not silent); what the peer writes from then on is lost.
func (c *Conn) Close() error {
	n := c.n
	n.mu.Lock()
	defer n.mu.Unlock()
	if c.closed {
		return c.opErr("close", net.ErrClosed)
	}
	c.closed = true
	c.out.wclosed = true
	c.in.rclosed = true
	c.in.buf = nil
	if c.l.toServer.rclosed && c.l.toClient.rclosed {
		delete(c.l.h.links, c.l)
	}
	n.notifyLocked()
	return nil
}

// LocalAddr returns this end's address.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets both deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

// SetReadDeadline makes a blocked or later Read fail with a timeout
// (os.ErrDeadlineExceeded) at t; zero clears it.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.n.mu.Lock()
	defer c.n.mu.Unlock()
	c.rdl = t
	c.n.notifyLocked()
	return nil
}

// SetWriteDeadline is SetReadDeadline for Write.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.n.mu.Lock()
	defer c.n.mu.Unlock()
	c.wdl = t
	c.n.notifyLocked()
	return nil
}
