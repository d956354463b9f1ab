//go:build libzmq

package interop

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	zmq "github.com/pebbe/zmq4"

	"github.com/zmtpgo/zmtp/sockets"
	"github.com/zmtpgo/zmtp/transport"
)

// end is one socket of a scenario, ours or libzmq's, so that one scenario
// runs with either on the other side. Every wait is bounded.
type end interface {
	String() string
	send(t *testing.T, frames ...string)
	recv(t *testing.T) []string
	// tryRecv waits up to d; false when nothing came.
	tryRecv(t *testing.T, d time.Duration) ([]string, bool)
	subscribe(t *testing.T, topic string)
	unsubscribe(t *testing.T, topic string)
}

type oursEnd struct{ s *sockets.Socket }

func (o oursEnd) String() string                      { return "ours " + o.s.Type().String() }
func (o oursEnd) send(t *testing.T, frames ...string) { t.Helper(); osend(t, o.s, frames...) }
func (o oursEnd) recv(t *testing.T) []string          { t.Helper(); return strs(orecvBytes(t, o.s)) }

func (o oursEnd) tryRecv(t *testing.T, d time.Duration) ([]string, bool) {
	t.Helper()
	m, err := recvWithin(o.s, d)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, false
	}
	if err != nil {
		t.Fatalf("%v recv: %v", o, err)
	}
	return strs(m.Frames), true
}

// subscribe uses Subscribe on SUB and XSUB's own subscription messages on
// XSUB, as a proxy forwards them.
func (o oursEnd) subscribe(t *testing.T, topic string) {
	t.Helper()
	if o.s.Type() == sockets.XSUB {
		o.send(t, "\x01"+topic)
		return
	}
	if err := o.s.Subscribe([]byte(topic)); err != nil {
		t.Fatal(err)
	}
}

func (o oursEnd) unsubscribe(t *testing.T, topic string) {
	t.Helper()
	if o.s.Type() == sockets.XSUB {
		o.send(t, "\x00"+topic)
		return
	}
	if err := o.s.Unsubscribe([]byte(topic)); err != nil {
		t.Fatal(err)
	}
}

type zmqEnd struct{ s *zmq.Socket }

func (z zmqEnd) String() string {
	typ, _ := z.s.GetType()
	return "libzmq " + typ.String()
}
func (z zmqEnd) send(t *testing.T, frames ...string) { t.Helper(); zsend(t, z.s, frames...) }
func (z zmqEnd) recv(t *testing.T) []string          { t.Helper(); return strs(zrecvBytes(t, z.s)) }

func (z zmqEnd) tryRecv(t *testing.T, d time.Duration) ([]string, bool) {
	t.Helper()
	if err := z.s.SetRcvtimeo(d); err != nil {
		t.Fatal(err)
	}
	defer z.s.SetRcvtimeo(timeout)
	m, err := z.s.RecvMessageBytes(0)
	if isEAGAIN(err) {
		return nil, false
	}
	if err != nil {
		t.Fatalf("%v recv: %v", z, err)
	}
	return strs(m), true
}

func (z zmqEnd) subscribe(t *testing.T, topic string) {
	t.Helper()
	if typ, _ := z.s.GetType(); typ == zmq.XSUB {
		z.send(t, "\x01"+topic)
		return
	}
	if err := z.s.SetSubscribe(topic); err != nil {
		t.Fatal(err)
	}
}

func (z zmqEnd) unsubscribe(t *testing.T, topic string) {
	t.Helper()
	if typ, _ := z.s.GetType(); typ == zmq.XSUB {
		z.send(t, "\x00"+topic)
		return
	}
	if err := z.s.SetUnsubscribe(topic); err != nil {
		t.Fatal(err)
	}
}

// recvEq receives one message on e and compares it with want.
func recvEq(t *testing.T, e end, want ...string) {
	t.Helper()
	if diff := cmp.Diff(want, e.recv(t), equateEmpty); diff != "" {
		t.Fatalf("%v received (-want +got):\n%s", e, diff)
	}
}

// nothing fails if e receives anything within d.
func nothing(t *testing.T, e end, d time.Duration) {
	t.Helper()
	if m, ok := e.tryRecv(t, d); ok {
		t.Fatalf("%v received %q, want nothing", e, m)
	}
}

// settleOn publishes marker on pub until sub receives it, skipping earlier
// copies of other markers, so every subscription sub sent before has
// reached pub (both travel in order on the connection).
func settleOn(t *testing.T, pub, sub end, marker string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		pub.send(t, marker)
		if m, ok := sub.tryRecv(t, 20*time.Millisecond); ok && len(m) == 1 && m[0] == marker {
			// Copies sent earlier may still be on their way.
			for {
				m, ok := sub.tryRecv(t, 20*time.Millisecond)
				if !ok {
					return
				}
				if len(m) != 1 || m[0] != marker {
					t.Fatalf("%v received %q while settling", sub, m)
				}
			}
		}
	}
	t.Fatalf("%q never reached %v", marker, sub)
}

// ---- a hand-driven ZMTP peer, for ZMTP 3.0 ----

// rawZMTP speaks a 3.0 or 3.1 greeting and a NULL READY as any socket
// type, then frames only when told: it plays a ZMTP 3.0 peer (libzmq
// before 4.3.3), which takes and sends subscriptions as messages.
type rawZMTP struct {
	t  *testing.T
	nc net.Conn
	r  *transport.Reader
}

// rawZMTPListen listens on loopback; accept takes one connection and
// completes the handshake as typ.
func rawZMTPListen(t *testing.T, typ string, minor uint8) (string, func() *rawZMTP) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return "tcp://" + ln.Addr().String(), func() *rawZMTP {
		t.Helper()
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(timeout))
		nc, err := ln.Accept()
		if err != nil {
			t.Fatalf("raw peer accept: %v", err)
		}
		return newRawZMTP(t, nc, typ, minor)
	}
}

// rawZMTPDial connects to ep and completes the handshake as typ.
func rawZMTPDial(t *testing.T, ep, typ string, minor uint8) *rawZMTP {
	t.Helper()
	nc, err := net.DialTimeout("tcp", strings.TrimPrefix(ep, "tcp://"), timeout)
	if err != nil {
		t.Fatal(err)
	}
	return newRawZMTP(t, nc, typ, minor)
}

func newRawZMTP(t *testing.T, nc net.Conn, typ string, minor uint8) *rawZMTP {
	t.Helper()
	t.Cleanup(func() { nc.Close() })
	p := &rawZMTP{t: t, nc: nc, r: transport.NewReader(nc, 1<<24)}
	nc.SetDeadline(time.Now().Add(timeout))
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
	if f, err := p.r.ReadFrame(); err != nil || !f.IsCommand() {
		t.Fatalf("raw peer: reading READY: %v", err)
	}
	return p
}

// send writes one message.
func (p *rawZMTP) send(frames ...string) {
	p.t.Helper()
	var b []byte
	for i, f := range frames {
		var flags byte
		if i < len(frames)-1 {
			flags = transport.FlagMore
		}
		b = append(transport.AppendFrameHeader(b, flags, len(f)), f...)
	}
	p.nc.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := p.nc.Write(b); err != nil {
		p.t.Fatalf("raw peer send: %v", err)
	}
}

// next reads one frame if one starts within d. Only the wait for its
// first byte times out, which leaves the stream in sync.
func (p *rawZMTP) next(d time.Duration) (transport.Frame, error) {
	p.nc.SetReadDeadline(time.Now().Add(d))
	err := p.r.Wait()
	p.nc.SetReadDeadline(time.Now().Add(timeout))
	defer p.nc.SetReadDeadline(time.Time{})
	if err != nil {
		return transport.Frame{}, err
	}
	return p.r.ReadFrame()
}

// frame is a frame as a test compares it.
type frame struct {
	Command bool
	More    bool
	Body    string
}

// mustNext reads one frame, failing after the timeout.
func (p *rawZMTP) mustNext() frame {
	p.t.Helper()
	f, err := p.next(timeout)
	if err != nil {
		p.t.Fatalf("raw peer read: %v", err)
	}
	return frame{f.IsCommand(), f.More(), string(f.Body)}
}
