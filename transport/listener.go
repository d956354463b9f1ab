package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"

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
	conns    map[net.Conn]struct{}
}

// Listen binds endpoint ("tcp://host:port", "tcp://*:port",
// "tcp://[::1]:0", "ipc:///path") and starts accepting.
func Listen(endpoint string, cfg *Config) (*Listener, error) {
	ep, err := ParseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), ep.network(), ep.Address)
	if err != nil {
		cfg.emit(Event{Kind: EventBindFailed, Endpoint: endpoint, Err: err})
		return nil, fmt.Errorf("zmtp: bind %s: %w", endpoint, err)
	}
	bound := ep
	if ep.Transport == TransportTCP {
		bound.Address = ln.Addr().String()
	}
	l := &Listener{cfg: cfg, ln: ln, endpoint: bound.String(), conns: map[net.Conn]struct{}{}}
	cfg.emit(Event{Kind: EventListening, Endpoint: l.endpoint})
	l.wg.Add(1)
	go l.acceptLoop()
	return l, nil
}

// Endpoint returns the bound endpoint with its real address, like libzmq's
// ZMQ_LAST_ENDPOINT: "tcp://127.0.0.1:41234" after binding "tcp://127.0.0.1:0".
func (l *Listener) Endpoint() string { return l.endpoint }

// Addr returns the listening address.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

func (l *Listener) acceptLoop() {
	defer l.wg.Done()
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if l.stopping.Load() {
				return
			}
			l.cfg.emit(Event{Kind: EventAcceptFailed, Endpoint: l.endpoint, Err: err})
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			if isTemporary(err) {
				continue
			}
			return
		}
		l.admit(nc)
	}
}

// isTemporary reports accept errors worth retrying (out of file descriptors
// under a flood), which must not stop the listener.
func isTemporary(err error) bool {
	var se *os.SyscallError
	return errors.As(err, &se)
}

// admit runs the Start event (the gate's guards) on the accept loop; only a
// connection that passes gets a goroutine, buffers and a handshake.
func (l *Listener) admit(nc net.Conn) {
	peer := peerString(nc.RemoteAddr())
	l.cfg.emit(Event{Kind: EventAccepted, Endpoint: l.endpoint, Peer: peer})
	e := newEngine(l.cfg, fsm.RoleAccept, l.endpoint)
	e.attach(nc)
	if err := e.fire(fsm.EventStart, nil); err != nil {
		nc.Close()
		l.cfg.emit(Event{Kind: EventRejected, Endpoint: l.endpoint, Peer: peer, Reason: reasonOf(err), Err: err})
		return
	}
	l.mu.Lock()
	if l.stopping.Load() {
		l.mu.Unlock()
		nc.Close()
		l.release(e)
		return
	}
	l.conns[nc] = struct{}{}
	l.mu.Unlock()
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		e.run(&l.stopping)
		l.mu.Lock()
		delete(l.conns, nc)
		l.mu.Unlock()
		l.release(e)
		l.cfg.emit(Event{Kind: EventClosed, Endpoint: l.endpoint, Peer: peer, Reason: e.m.Reason()})
	}()
}

func (l *Listener) release(e *engine) {
	if e.acquired && l.cfg.Gate != nil {
		l.cfg.Gate.Release(e.remote())
		e.acquired = false
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
	for nc := range l.conns {
		nc.Close()
	}
	l.mu.Unlock()
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
