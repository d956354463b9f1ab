package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zmtpgo/zmtp/fsm"
)

// Listener is a bound endpoint: it accepts connections, runs the gate on
// each before spending anything on it, and hands the admitted ones to a
// goroutine of their own.
type Listener struct {
	cfg      *Config
	ln       net.Listener
	endpoint string // as bound: the real port of "tcp://*:0"

	stopping atomic.Bool
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]*liveConn
	// The accept loop's, but for raw, which Close closes under mu.
	pressure int          // recent refusals less admissions; see pressureRaw
	raw      *rawAccepter // made at the first pressure
	rawNone  bool         // there is none to make here
	rawRetry time.Time    // after a failure to make one, not before this
	rawTaken atomic.Int64 // connections taken by raw, for tests
	rawKept  atomic.Int64 // of those, the ones admitted
}

// liveConn is what the listener knows of an admitted connection.
type liveConn struct {
	addr netip.Addr // as the gate saw it; invalid without a gate or an IP
	// stop is set before the listener closes the connection (on Close, or
	// when dropping it after an accept-from change), so that the errors
	// the close causes read as a local Close rather than the peer's doing.
	stop atomic.Bool
	e    *engine
}

// Listen binds endpoint ("tcp://host:port", "tcp://*:port",
// "tcp://[::1]:0", "ipc:///path") and starts accepting.
func Listen(endpoint string, cfg *Config) (*Listener, error) {
	ep, err := ParseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	lc.KeepAlive, lc.KeepAliveConfig = cfg.KeepAlive.keepAliveFor()
	if cfg.DeferAccept > 0 && ep.Transport == TransportTCP {
		lc.Control = deferAccept(cfg.DeferAccept)
	}
	ln, err := lc.Listen(context.Background(), ep.network(), ep.Address)
	if err != nil {
		cfg.emit(Event{Kind: EventBindFailed, Endpoint: endpoint, Err: err})
		return nil, fmt.Errorf("zmtp: bind %s: %w", endpoint, err)
	}
	bound := ep
	if ep.Transport == TransportTCP {
		bound.Address = ln.Addr().String()
	}
	return ListenOn(ln, bound.String(), cfg), nil
}

// ListenOn serves connections accepted from ln, an already listening
// socket (systemd socket activation, or an in-memory listener in tests),
// reported as endpoint. The Listener closes ln when it closes.
func ListenOn(ln net.Listener, endpoint string, cfg *Config) *Listener {
	l := &Listener{cfg: cfg, ln: ln, endpoint: endpoint, conns: map[net.Conn]*liveConn{}}
	if cfg.Gate != nil {
		cfg.Gate.register(l)
	}
	cfg.emit(Event{Kind: EventListening, Endpoint: l.endpoint})
	l.wg.Add(1)
	go l.acceptLoop()
	return l
}

// Endpoint returns the bound endpoint with its real address, like libzmq's
// ZMQ_LAST_ENDPOINT: "tcp://127.0.0.1:41234" after binding "tcp://127.0.0.1:0".
func (l *Listener) Endpoint() string { return l.endpoint }

// Addr returns the listening address.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

func (l *Listener) acceptLoop() {
	defer l.wg.Done()
	// The raw accepter's duplicate descriptor keeps the socket listening:
	// if the loop ends on an error while the Listener stays open, it must
	// go too, or the kernel would go on completing connections nobody takes.
	defer func() {
		l.mu.Lock()
		if l.raw != nil {
			l.raw.close()
		}
		l.mu.Unlock()
	}()
	var delay time.Duration // backoff after temporary errors, as net/http does
	for {
		var err error
		if raw := l.rawUnderPressure(); raw != nil {
			var fd int
			var addr net.Addr
			if fd, addr, err = raw.accept(); err == nil {
				delay = 0
				l.rawTaken.Add(1)
				l.admitFD(fd, addr)
				continue
			}
		} else {
			var nc net.Conn
			if nc, err = l.ln.Accept(); err == nil {
				delay = 0
				l.admit(nc)
				continue
			}
		}
		if l.stopping.Load() {
			return
		}
		l.cfg.emit(Event{Kind: EventAcceptFailed, Endpoint: l.endpoint, Err: err})
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
			// Out of file descriptors under a flood: retrying at once
			// would spin; the backlog keeps the peers meanwhile.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			time.Sleep(delay)
			continue
		}
		return
	}
}

// rawUnderPressure returns the raw accepter while the accept loop is under
// pressure, making it the first time; nil otherwise, or where there is
// none (not Linux, not TCP, or no descriptor to spare for it).
func (l *Listener) rawUnderPressure() *rawAccepter {
	if l.pressure < pressureRaw || l.rawNone || time.Now().Before(l.rawRetry) {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.raw == nil && !l.stopping.Load() {
		var err error
		l.raw, err = newRawAccepter(l.ln)
		switch {
		case err != nil:
			// Out of descriptors, most likely, in the very flood that
			// brought the pressure: ordinary accepts go on, and the raw
			// path is tried again a second later.
			l.rawRetry = time.Now().Add(time.Second)
			l.cfg.emit(Event{Kind: EventAcceptFailed, Endpoint: l.endpoint, Err: fmt.Errorf("zmtp: cannot accept raw under pressure: %w", err)})
		case l.raw == nil:
			l.rawNone = true // not TCP, or not Linux
		}
	}
	return l.raw
}

// Under a flood of refused peers the accept loop switches to accepting
// with a raw accept4 on the listener's descriptor (rawAccepter): the gate
// decides from the address accept4 returns, and a refused peer's
// descriptor is reset and closed without ever becoming a net.Conn, which
// saves its poller registration and removal and the address lookups. An
// admitted peer then costs a dup of
// its descriptor (net.FileConn), which is why the switch is made only
// under pressure: pressure counts refusals up and admissions down, and
// the raw path is taken while it is at least pressureRaw.
const (
	pressureRaw = 16
	pressureMax = 64
)

// refused and admitted keep the pressure count; the accept loop alone
// calls them.
func (l *Listener) refused()  { l.pressure = min(l.pressure+1, pressureMax) }
func (l *Listener) admitted() { l.pressure = max(l.pressure-1, 0) }

// isTemporary reports accept errors worth retrying (out of file descriptors
// under a flood), which must not stop the listener.
func isTemporary(err error) bool {
	var se *os.SyscallError
	return errors.As(err, &se)
}

// admit runs the Start event (the gate's guards) on the accept loop; only a
// connection that passes gets a goroutine, buffers and a handshake. A
// refused one is closed at once and costs one engine value.
func (l *Listener) admit(nc net.Conn) { l.admitPeer(nc.RemoteAddr(), nc, -1) }

// admitFD is admit for a descriptor from rawAccepter: it becomes a
// net.Conn only if the gate admits it.
func (l *Listener) admitFD(fd int, addr net.Addr) { l.admitPeer(addr, nil, fd) }

func (l *Listener) admitPeer(addr net.Addr, nc net.Conn, fd int) {
	peer := peerString(addr)
	l.cfg.emit(Event{Kind: EventAccepted, Endpoint: l.endpoint, Peer: peer})
	g := l.cfg.Gate
	e := newEngine(l.cfg, fsm.RoleAccept, l.endpoint)
	e.attach(nc)
	e.addr = addr
	if g != nil {
		e.gs = g.slotFor(addr)
	}
	lc := &liveConn{addr: e.gs.addr, e: e}
	// The guards run under l.mu, so an accept-from change that drops live
	// connections (dropDenied) either finds this one in l.conns or has
	// already replaced the lists the guards read: none slips through.
	l.mu.Lock()
	if l.stopping.Load() {
		l.mu.Unlock()
		e.dropAuth()
		closePeer(nc, fd)
		return
	}
	err := e.fire(fsm.EventStart, nil)
	if err == nil && nc == nil {
		var cerr error
		if nc, cerr = l.fdConn(fd); cerr != nil {
			l.mu.Unlock()
			e.dropAuth()
			if g != nil {
				g.closed(&e.gs, fsm.ReasonNone)
			}
			l.cfg.emit(Event{Kind: EventAcceptFailed, Endpoint: l.endpoint, Peer: peer, Err: cerr})
			return
		}
		e.setConn(nc)
		l.rawKept.Add(1)
	}
	if err == nil {
		l.conns[nc] = lc
	}
	l.mu.Unlock()
	if err != nil {
		l.refused()
		e.dropAuth()
		if g != nil {
			g.closed(&e.gs, fsm.ReasonNone) // the slots of the rules that passed, before the peer sees the close
		}
		if nc != nil {
			refuse(nc)
		} else {
			refuseFD(fd)
		}
		l.cfg.emit(Event{Kind: EventRejected, Endpoint: l.endpoint, Peer: peer, Reason: reasonOf(err), Err: err})
		return
	}
	l.admitted()
	if g != nil {
		g.accepted.Add(1)
	}
	l.wg.Add(1)
	// The end of the connection, on whichever goroutine ends it: this one,
	// or, once it has parked while idle, the one that resumed it.
	e.onEnd = func() {
		defer l.wg.Done()
		l.mu.Lock()
		delete(l.conns, nc)
		l.mu.Unlock()
		if g != nil {
			g.closed(&e.gs, e.m.Reason())
		}
		l.cfg.emit(Event{Kind: EventClosed, Endpoint: l.endpoint, Peer: peer, Reason: e.m.Reason()})
	}
	go func() {
		if e.run(&lc.stop) != errParked {
			e.onEnd()
		}
	}()
}

// fdConn makes an admitted raw-accepted descriptor a net.Conn with the
// keepalive settings an ordinary accept from the listener would have
// given it (net.FileConn turns Go's default keepalive on).
func (l *Listener) fdConn(fd int) (net.Conn, error) {
	nc, err := fdConn(fd)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_, ka := l.cfg.KeepAlive.keepAliveFor()
		if ka.Enable {
			err = tc.SetKeepAliveConfig(ka)
		} else {
			err = tc.SetKeepAlive(false) // the OS default, as the listener leaves it
		}
		if err != nil {
			nc.Close()
			return nil, err
		}
	}
	return nc, nil
}

// closePeer closes an accepted peer, whichever form it is in.
func closePeer(nc net.Conn, fd int) {
	if nc != nil {
		nc.Close()
	} else {
		closeFD(fd)
	}
}

// refuse closes a connection the gate refused with a reset rather than a
// FIN: nothing was sent on it, and under a flood the kernel then keeps no
// FIN_WAIT or TIME_WAIT state for each refused peer.
func refuse(nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	nc.Close()
}

// dropDenied closes the connections whose address the gate's accept-from
// lists no longer allow, reporting each as an EventRejected with reason
// ACLDenied; their own close then reads as a local Close.
func (l *Listener) dropDenied() {
	g := l.cfg.Gate
	type drop struct {
		nc  net.Conn
		e   *engine
		err error
	}
	var drops []drop
	l.mu.Lock()
	a := g.acl.Load() // under l.mu: the lists admit also runs under
	if !l.stopping.Load() {
		for nc, lc := range l.conns {
			if err := a.check(lc.addr); err != nil {
				lc.stop.Store(true)
				drops = append(drops, drop{nc, lc.e, err})
			}
		}
	}
	l.mu.Unlock()
	for _, d := range drops {
		g.dropped.Add(1)
		peer := peerString(d.nc.RemoteAddr())
		err := &ConnError{Reason: fsm.ReasonACLDenied, Peer: peer, Err: fmt.Errorf("live connection dropped after an accept-from change: %w", d.err)}
		l.cfg.emit(Event{Kind: EventRejected, Endpoint: l.endpoint, Peer: peer, Reason: fsm.ReasonACLDenied, Err: err})
		d.e.closeConn(d.nc)
	}
}

// Close stops accepting, closes every connection accepted on the endpoint
// and waits until their goroutines have ended.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.stopping.Swap(true) {
		l.mu.Unlock()
		l.wg.Wait()
		return nil
	}
	err := l.ln.Close()
	if l.raw != nil {
		l.raw.close()
	}
	for nc, lc := range l.conns {
		lc.stop.Store(true)
		lc.e.closeConn(nc)
	}
	l.mu.Unlock()
	if l.cfg.Gate != nil {
		l.cfg.Gate.unregister(l)
	}
	l.wg.Wait()
	return err
}

// network is the Go network name for the endpoint's transport.
func (e Endpoint) network() string {
	if e.Transport == TransportIPC {
		return "unix"
	}
	return "tcp"
}
