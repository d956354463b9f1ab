//go:build libzmq

package interop

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	zmq "github.com/pebbe/zmq4"
	"go.uber.org/goleak"

	"github.com/zmtpgo/zmtp/sockets"
	"github.com/zmtpgo/zmtp/transport"
)

// libzmq's I/O threads are C threads, not goroutines, and pebbe/zmq4 starts
// no goroutine of its own, so goleak needs no exceptions.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// timeout bounds every single wait: a Recv, a Send, an expected event.
const timeout = 10 * time.Second

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// ---- libzmq side ----

// zctx returns a libzmq context of the test's own, terminated in Cleanup
// after its sockets (Cleanup runs last-registered first).
func zctx(t *testing.T) *zmq.Context {
	t.Helper()
	c, err := zmq.NewContext()
	if err != nil {
		t.Fatalf("zmq.NewContext: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Term(); err != nil {
			t.Errorf("zmq context Term: %v", err)
		}
	})
	return c
}

// zsock returns a libzmq socket with every wait bounded (ZMQ_RCVTIMEO,
// ZMQ_SNDTIMEO) and ZMQ_LINGER 0, closed in Cleanup. setup runs before it
// binds or connects (identity, IPv6, PLAIN…).
func zsock(t *testing.T, c *zmq.Context, typ zmq.Type, setup ...func(*zmq.Socket) error) *zmq.Socket {
	t.Helper()
	s, err := c.NewSocket(typ)
	if err != nil {
		t.Fatalf("libzmq socket %v: %v", typ, err)
	}
	t.Cleanup(func() { s.Close() })
	for _, f := range []func(*zmq.Socket) error{
		func(s *zmq.Socket) error { return s.SetLinger(0) },
		func(s *zmq.Socket) error { return s.SetRcvtimeo(timeout) },
		func(s *zmq.Socket) error { return s.SetSndtimeo(timeout) },
	} {
		if err := f(s); err != nil {
			t.Fatalf("libzmq setsockopt: %v", err)
		}
	}
	for _, f := range setup {
		if err := f(s); err != nil {
			t.Fatalf("libzmq setsockopt: %v", err)
		}
	}
	return s
}

// zbind binds a libzmq socket to a free loopback port and returns the
// endpoint it got.
func zbind(t *testing.T, s *zmq.Socket, host string) string {
	t.Helper()
	if err := s.Bind("tcp://" + host + ":*"); err != nil {
		t.Fatalf("libzmq bind: %v", err)
	}
	ep, err := s.GetLastEndpoint()
	if err != nil {
		t.Fatalf("libzmq last endpoint: %v", err)
	}
	return ep
}

func zconnect(t *testing.T, s *zmq.Socket, ep string) {
	t.Helper()
	if err := s.Connect(ep); err != nil {
		t.Fatalf("libzmq connect %s: %v", ep, err)
	}
}

// zsendErr sends frames as one multipart message.
func zsendErr(s *zmq.Socket, frames ...[]byte) error {
	for i, f := range frames {
		var flags zmq.Flag
		if i < len(frames)-1 {
			flags = zmq.SNDMORE
		}
		if _, err := s.SendBytes(f, flags); err != nil {
			return fmt.Errorf("libzmq send frame %d of %d: %w", i+1, len(frames), err)
		}
	}
	return nil
}

func zsend(t *testing.T, s *zmq.Socket, frames ...string) {
	t.Helper()
	if err := zsendErr(s, bs(frames...)...); err != nil {
		t.Fatal(err)
	}
}

func zrecvBytes(t *testing.T, s *zmq.Socket) [][]byte {
	t.Helper()
	m, err := s.RecvMessageBytes(0)
	if err != nil {
		t.Fatalf("libzmq recv: %v", err)
	}
	return m
}

// zrecv receives one message and compares it with want.
func zrecv(t *testing.T, s *zmq.Socket, want ...string) {
	t.Helper()
	if diff := cmp.Diff(want, strs(zrecvBytes(t, s))); diff != "" {
		t.Fatalf("libzmq received (-want +got):\n%s", diff)
	}
}

// zgo runs f, which uses libzmq sockets, on its own goroutine. libzmq
// sockets are not thread-safe, so the goroutine must be finished before the
// test touches or closes them again: wait returns f's error, and a Cleanup
// (registered after the sockets', so it runs before their Close) waits too.
// f should return soon after stop is set.
func zgo(t *testing.T, f func(stop *atomic.Bool) error) (wait func() error) {
	t.Helper()
	var stop atomic.Bool
	done := make(chan error, 1)
	go func() { done <- f(&stop) }()
	var once sync.Once
	var err error
	wait = func() error {
		once.Do(func() { err = <-done })
		return err
	}
	t.Cleanup(func() {
		stop.Store(true)
		wait()
	})
	return wait
}

// zmonitor watches a libzmq socket's events (zmq_socket_monitor) and
// returns the next event among want, failing after the timeout. The
// monitor's PAIR socket is closed in Cleanup.
func zmonitor(t *testing.T, c *zmq.Context, s *zmq.Socket) func(want zmq.Event) (zmq.Event, int) {
	t.Helper()
	addr := fmt.Sprintf("inproc://monitor-%p", s)
	if err := s.Monitor(addr, zmq.EVENT_ALL); err != nil {
		t.Fatalf("libzmq monitor: %v", err)
	}
	m := zsock(t, c, zmq.PAIR)
	zconnect(t, m, addr)
	return func(want zmq.Event) (zmq.Event, int) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for left := timeout; left > 0; left = time.Until(deadline) {
			if err := m.SetRcvtimeo(left); err != nil {
				t.Fatalf("libzmq monitor: %v", err)
			}
			ev, _, val, err := m.RecvEvent(0)
			if err != nil {
				t.Fatalf("libzmq monitor: waiting for %v: %v", want, err)
			}
			if ev&want != 0 {
				return ev, val
			}
		}
		t.Fatalf("libzmq monitor: no %v within %v", want, timeout)
		return 0, 0
	}
}

// ---- our side ----

// ours returns one of our sockets, closed in Cleanup. Linger is short so
// that a failed test does not sit in Close for the default 30 s.
func ours(t *testing.T, typ sockets.Type, opts ...sockets.Option) *sockets.Socket {
	t.Helper()
	s, err := sockets.New(typ, append([]sockets.Option{sockets.WithLinger(2 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatalf("sockets.New(%v): %v", typ, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func obind(t *testing.T, s *sockets.Socket, host string) string {
	t.Helper()
	if err := s.Bind("tcp://" + host + ":0"); err != nil {
		t.Fatalf("bind: %v", err)
	}
	return s.LastEndpoint()
}

func oconnect(t *testing.T, s *sockets.Socket, ep string) {
	t.Helper()
	if err := s.Connect(ep); err != nil {
		t.Fatalf("connect %s: %v", ep, err)
	}
}

func osend(t *testing.T, s *sockets.Socket, frames ...string) {
	t.Helper()
	if err := s.Send(ctxT(t), sockets.NewMsgString(frames...)); err != nil {
		t.Fatalf("%v send %q: %v", s.Type(), frames, err)
	}
}

func orecvBytes(t *testing.T, s *sockets.Socket) [][]byte {
	t.Helper()
	m, err := s.Recv(ctxT(t))
	if err != nil {
		t.Fatalf("%v recv: %v", s.Type(), err)
	}
	return m.Frames
}

// orecv receives one message and compares it with want.
func orecv(t *testing.T, s *sockets.Socket, want ...string) {
	t.Helper()
	if diff := cmp.Diff(want, strs(orecvBytes(t, s))); diff != "" {
		t.Fatalf("%v received (-want +got):\n%s", s.Type(), diff)
	}
}

// events collects one socket's monitor events on a channel.
type events struct{ ch chan transport.Event }

func newEvents() *events { return &events{ch: make(chan transport.Event, 4096)} }

// add is the monitor callback; it must not block a connection goroutine.
func (ev *events) add(e transport.Event) {
	select {
	case ev.ch <- e:
	default:
	}
}

// wait returns the next event of kind, failing after d.
func (ev *events) wait(t *testing.T, kind transport.EventKind, d time.Duration) transport.Event {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	var seen []string
	for {
		select {
		case e := <-ev.ch:
			if e.Kind == kind {
				return e
			}
			seen = append(seen, e.String())
		case <-deadline.C:
			t.Fatalf("no %v event within %v; saw:\n\t%s", kind, d, strings.Join(seen, "\n\t"))
		}
	}
}

// none fails if an event of one of kinds arrives within d: the bounded
// "nothing more happens" window.
func (ev *events) none(t *testing.T, d time.Duration, kinds ...transport.EventKind) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		select {
		case e := <-ev.ch:
			for _, k := range kinds {
				if e.Kind == k {
					t.Fatalf("unexpected event within %v: %v", d, e)
				}
			}
		case <-deadline.C:
			return
		}
	}
}

// ---- messages ----

func bs(frames ...string) [][]byte {
	out := make([][]byte, len(frames))
	for i, f := range frames {
		out[i] = []byte(f)
	}
	return out
}

func strs(frames [][]byte) []string {
	out := make([]string, len(frames))
	for i, f := range frames {
		out[i] = string(f)
	}
	return out
}

// equateEmpty makes nil and empty frames equal in cmp.Diff.
var equateEmpty = cmpopts.EquateEmpty()
