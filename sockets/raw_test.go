package sockets

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/zmtpgo/zmtp/transport"
)

// rawPeer is a hand-driven ZMTP peer for tests: it speaks a 3.0 or 3.1
// greeting and a NULL READY as any socket type, then sends and reads
// frames only when the test says so, so it can play an old peer or one
// that stops reading.
type rawPeer struct {
	t  *testing.T
	nc net.Conn
	r  *transport.Reader
}

// rawListen listens on loopback and returns the endpoint and a function
// that accepts one connection and completes the handshake as typ.
func rawListen(t *testing.T, typ string, minor uint8) (string, func() *rawPeer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return "tcp://" + ln.Addr().String(), func() *rawPeer {
		t.Helper()
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
		nc, err := ln.Accept()
		if err != nil {
			t.Fatalf("raw peer accept: %v", err)
		}
		return newRawPeer(t, nc, typ, minor)
	}
}

// rawDialPeer connects to a bound socket and completes the handshake as typ.
func rawDialPeer(t *testing.T, ep, typ string, minor uint8) *rawPeer {
	t.Helper()
	nc, err := net.DialTimeout("tcp", strings.TrimPrefix(ep, "tcp://"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return newRawPeer(t, nc, typ, minor)
}

func newRawPeer(t *testing.T, nc net.Conn, typ string, minor uint8) *rawPeer {
	t.Helper()
	t.Cleanup(func() { nc.Close() })
	p := &rawPeer{t: t, nc: nc, r: transport.NewReader(nc, 1<<24)}
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	defer nc.SetDeadline(time.Time{})
	ready := transport.AppendCommandBody(nil, transport.CmdReady,
		transport.Metadata{{Name: transport.PropSocketType, Value: []byte(typ)}}.Append(nil))
	out := transport.Greeting{Major: 3, Minor: minor, Mechanism: transport.MechanismNull}.Append(nil)
	out = append(append(out, transport.AppendFrameHeader(nil, transport.FlagCommand, len(ready))...), ready...)
	if _, err := nc.Write(out); err != nil {
		t.Fatalf("raw peer: %v", err)
	}
	if _, err := p.r.ReadGreeting(); err != nil {
		t.Fatalf("raw peer: reading the greeting: %v", err)
	}
	f, err := p.r.ReadFrame()
	if err != nil || !f.IsCommand() {
		t.Fatalf("raw peer: reading READY: %v (command %v)", err, f.IsCommand())
	}
	return p
}

// send writes one message.
func (p *rawPeer) send(frames ...string) {
	p.t.Helper()
	var b []byte
	for i, f := range frames {
		var flags byte
		if i < len(frames)-1 {
			flags = transport.FlagMore
		}
		b = append(transport.AppendFrameHeader(b, flags, len(f)), f...)
	}
	p.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := p.nc.Write(b); err != nil {
		p.t.Fatalf("raw peer send: %v", err)
	}
}

// next reads one frame if one starts within d. Only the wait for its
// first byte times out, which leaves the stream in sync.
func (p *rawPeer) next(d time.Duration) (transport.Frame, error) {
	p.nc.SetReadDeadline(time.Now().Add(d))
	err := p.r.Wait()
	p.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer p.nc.SetReadDeadline(time.Time{})
	if err != nil {
		return transport.Frame{}, err
	}
	return p.r.ReadFrame()
}
