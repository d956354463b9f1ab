// Package rawpeer is a hand-driven ZMTP peer for tests: it speaks a 3.0 or
// 3.1 greeting and a NULL READY as any socket type, then sends and reads
// frames only when told, so a test can play an old peer (ZMTP 3.0, whose
// subscriptions are messages) or one that stops reading. The sockets and
// interop tests share it.
package rawpeer

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/zmtpgo/zmtp/transport"
)

// Peer is one raw connection past its handshake.
type Peer struct {
	tb   testing.TB
	nc   net.Conn
	r    *transport.Reader
	wait time.Duration // bound on every wait but Next's
}

// Listen listens on loopback and returns the endpoint and a function that
// accepts one connection and completes the handshake as typ. Every wait
// is bounded by wait; the listener closes with the test.
func Listen(tb testing.TB, typ string, minor uint8, wait time.Duration) (string, func() *Peer) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	return "tcp://" + ln.Addr().String(), func() *Peer {
		tb.Helper()
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(wait))
		nc, err := ln.Accept()
		if err != nil {
			tb.Fatalf("raw peer accept: %v", err)
		}
		return New(tb, nc, typ, minor, wait)
	}
}

// Dial connects to a bound socket at ep and completes the handshake as typ.
func Dial(tb testing.TB, ep, typ string, minor uint8, wait time.Duration) *Peer {
	tb.Helper()
	nc, err := net.DialTimeout("tcp", strings.TrimPrefix(ep, "tcp://"), wait)
	if err != nil {
		tb.Fatal(err)
	}
	return New(tb, nc, typ, minor, wait)
}

// Handshake returns what a peer of socket type typ sends to open a NULL
// handshake in ZMTP 3.minor: its greeting and its READY.
func Handshake(typ string, minor uint8) []byte {
	ready := transport.AppendCommandBody(nil, transport.CmdReady,
		transport.Metadata{{Name: transport.PropSocketType, Value: []byte(typ)}}.Append(nil))
	out := transport.Greeting{Major: 3, Minor: minor, Mechanism: transport.MechanismNull}.Append(nil)
	return append(transport.AppendFrameHeader(out, transport.FlagCommand, len(ready)), ready...)
}

// New completes the handshake on nc as typ, with ZMTP 3.minor; nc closes
// with the test.
func New(tb testing.TB, nc net.Conn, typ string, minor uint8, wait time.Duration) *Peer {
	tb.Helper()
	tb.Cleanup(func() { nc.Close() })
	p := &Peer{tb: tb, nc: nc, r: transport.NewReader(nc, 1<<24), wait: wait}
	nc.SetDeadline(time.Now().Add(wait))
	defer nc.SetDeadline(time.Time{})
	if _, err := nc.Write(Handshake(typ, minor)); err != nil {
		tb.Fatalf("raw peer: %v", err)
	}
	if _, err := p.r.ReadGreeting(); err != nil {
		tb.Fatalf("raw peer: reading the greeting: %v", err)
	}
	if f, err := p.r.ReadFrame(); err != nil || !f.IsCommand() {
		tb.Fatalf("raw peer: reading READY: %v (command %v)", err, f.IsCommand())
	}
	return p
}

// Send writes one message.
func (p *Peer) Send(frames ...string) {
	p.tb.Helper()
	var b []byte
	for i, f := range frames {
		var flags byte
		if i < len(frames)-1 {
			flags = transport.FlagMore
		}
		b = append(transport.AppendFrameHeader(b, flags, len(f)), f...)
	}
	p.nc.SetWriteDeadline(time.Now().Add(p.wait))
	if _, err := p.nc.Write(b); err != nil {
		p.tb.Fatalf("raw peer send: %v", err)
	}
}

// NextBody is Next for a frame's body as text, reporting whether a frame
// came within d: what settle.Marker reads the subscriber with.
func (p *Peer) NextBody(d time.Duration) (string, bool) {
	f, err := p.Next(d)
	return string(f.Body), err == nil
}

// Next reads one frame if one starts within d. Only the wait for its
// first byte times out, which leaves the stream in sync.
func (p *Peer) Next(d time.Duration) (transport.Frame, error) {
	p.nc.SetReadDeadline(time.Now().Add(d))
	err := p.r.Wait()
	p.nc.SetReadDeadline(time.Now().Add(p.wait))
	defer p.nc.SetReadDeadline(time.Time{})
	if err != nil {
		return transport.Frame{}, err
	}
	return p.r.ReadFrame()
}

// MustNext reads one frame, failing the test when none starts within the
// peer's wait.
func (p *Peer) MustNext() transport.Frame {
	p.tb.Helper()
	f, err := p.Next(p.wait)
	if err != nil {
		p.tb.Fatalf("raw peer read: %v", err)
	}
	return f
}
