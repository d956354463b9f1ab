//go:build libzmq

package interop

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	zmq "github.com/pebbe/zmq4"

	"github.com/zmtpgo/zmtp/internal/rawpeer"
	"github.com/zmtpgo/zmtp/internal/settle"
	"github.com/zmtpgo/zmtp/sockets"
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

// settleOn publishes marker on pub until sub receives it and its copies
// in flight are drained (internal/settle).
func settleOn(t *testing.T, pub, sub end, marker string) {
	t.Helper()
	settle.Marker(t, func() { pub.send(t, marker) }, func(d time.Duration) (string, bool) {
		m, ok := sub.tryRecv(t, d)
		if ok && len(m) != 1 {
			return fmt.Sprintf("%q", m), true
		}
		return strings.Join(m, ""), ok
	}, marker, timeout)
}

// ---- a hand-driven ZMTP peer, for ZMTP 3.0 (internal/rawpeer) ----

// rawZMTPListen listens on loopback; accept takes one connection and
// completes the handshake as typ.
func rawZMTPListen(t *testing.T, typ string, minor uint8) (string, func() *rawpeer.Peer) {
	t.Helper()
	return rawpeer.Listen(t, typ, minor, timeout)
}

// rawZMTPDial connects to ep and completes the handshake as typ.
func rawZMTPDial(t *testing.T, ep, typ string, minor uint8) *rawpeer.Peer {
	t.Helper()
	return rawpeer.Dial(t, ep, typ, minor, timeout)
}

// frame is a frame as a test compares it.
type frame struct {
	Command bool
	More    bool
	Body    string
}

// mustNext reads p's next frame as a frame, failing after the timeout.
func mustNext(p *rawpeer.Peer) frame {
	f := p.MustNext()
	return frame{f.IsCommand(), f.More(), string(f.Body)}
}
