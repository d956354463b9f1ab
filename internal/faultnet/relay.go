// Package faultnet is a loopback TCP relay for liveness tests: it sits
// between two peers and, on command, goes silent in both directions without
// closing anything (a host that dropped off the network: no FIN, no RST),
// resets every connection, or comes back.
//
// Silence is made by no longer reading: bytes already read are held, and
// the senders' kernel buffers fill as they would toward a dead host. New
// connections made while silent are accepted and held silent too, as a
// SYN to a vanished host would hang rather than fail.
package faultnet

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// Relay forwards connections from its listening address to a target.
type Relay struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	silent  bool
	resumed chan struct{} // closed when a silence ends
	conns   map[net.Conn]struct{}
	closed  bool
	wg      sync.WaitGroup
}

// New starts a relay on 127.0.0.1 (a free port) toward target ("host:port").
func New(target string) (*Relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Relay{ln: ln, target: target, conns: map[net.Conn]struct{}{}, resumed: make(chan struct{})}
	r.wg.Add(1)
	go r.acceptLoop()
	return r, nil
}

// Addr returns the relay's listening address ("127.0.0.1:port").
func (r *Relay) Addr() string { return r.ln.Addr().String() }

// Endpoint returns the relay's address as a tcp:// endpoint.
func (r *Relay) Endpoint() string { return "tcp://" + r.Addr() }

// Silence stops all traffic both ways, on every connection and on new
// ones, without closing anything.
func (r *Relay) Silence() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.silent {
		r.silent = true
		r.resumed = make(chan struct{})
	}
}

// Resume ends a silence: held bytes and new ones flow again.
func (r *Relay) Resume() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.silent {
		r.silent = false
		close(r.resumed)
	}
}

// Reset closes every current connection with a TCP RST, on both sides.
func (r *Relay) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // RST rather than FIN
		}
		c.Close()
	}
}

// Close stops the relay and closes every connection, then waits for its
// goroutines.
func (r *Relay) Close() error {
	r.mu.Lock()
	r.closed = true
	err := r.ln.Close()
	for c := range r.conns {
		c.Close()
	}
	if r.silent {
		r.silent = false
		close(r.resumed)
	}
	r.mu.Unlock()
	r.wg.Wait()
	return err
}

func (r *Relay) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		c.Close()
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *Relay) untrack(c net.Conn) {
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
	c.Close()
}

func (r *Relay) acceptLoop() {
	defer r.wg.Done()
	for {
		down, err := r.ln.Accept()
		if err != nil {
			return
		}
		if !r.track(down) {
			return
		}
		r.wg.Add(1)
		go r.serve(down)
	}
}

// serve connects upstream, once the relay is not silent, and pumps both
// ways until either side ends.
func (r *Relay) serve(down net.Conn) {
	defer r.wg.Done()
	defer r.untrack(down)
	if !r.waitAudible() {
		return
	}
	up, err := net.DialTimeout("tcp", r.target, 5*time.Second)
	if err != nil {
		return // the downstream peer sees its connection close, as with a refused connect
	}
	if !r.track(up) {
		return
	}
	defer r.untrack(up)
	done := make(chan struct{}, 2)
	go func() { r.pump(up, down); done <- struct{}{} }()
	go func() { r.pump(down, up); done <- struct{}{} }()
	<-done
	// One direction ended: end the other, as the relay is one path.
	up.Close()
	down.Close()
	<-done
}

// waitAudible blocks while the relay is silent; false means it closed.
func (r *Relay) waitAudible() bool {
	r.mu.Lock()
	silent, resumed, closed := r.silent, r.resumed, r.closed
	r.mu.Unlock()
	if closed {
		return false
	}
	if silent {
		<-resumed
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.closed
}

func (r *Relay) pump(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		if !r.waitAudible() {
			return
		}
		n, err := src.Read(buf)
		if n > 0 {
			// Bytes read just as a silence began are held until it ends.
			if !r.waitAudible() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if tc, ok := dst.(*net.TCPConn); ok {
					tc.CloseWrite() // pass the FIN on
				}
			}
			return
		}
	}
}
