package sockets

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/zmtpgo/zmtp/fsm"
	"github.com/zmtpgo/zmtp/transport"
)

// seen is an event reduced to what a test can predict.
type seen struct {
	Kind     transport.EventKind
	Endpoint string
	HasPeer  bool
	Reason   fsm.Reason
}

func see(ev Event) seen {
	return seen{ev.Kind, ev.Endpoint, ev.Peer != "", ev.Reason}
}

func kind(k transport.EventKind) func(Event) bool {
	return func(ev Event) bool { return ev.Kind == k }
}

// TestMonitorEvents follows a bound and a connecting socket through every
// event of a connection's life, and the failures, in order, with the
// fields each kind carries.
func TestMonitorEvents(t *testing.T) {
	srvEv, cliEv := newMonitorLog(), newMonitorLog()
	srv := newSock(t, PULL, WithMonitor(srvEv.add))
	ep := bindAny(t, srv)
	cli := newSock(t, PUSH, WithMonitor(cliEv.add))
	connectTo(t, cli, ep)
	mustSend(t, cli, "hi")
	mustRecv(t, srv, "hi")

	want := []seen{
		{transport.EventConnected, ep, true, fsm.ReasonNone},
		{transport.EventHandshakeSucceeded, ep, true, fsm.ReasonNone},
	}
	if diff := cmp.Diff(want, cliEv.until(t, kind(transport.EventHandshakeSucceeded))); diff != "" {
		t.Errorf("connecting side (-want +got):\n%s", diff)
	}
	want = []seen{
		{transport.EventListening, ep, false, fsm.ReasonNone},
		{transport.EventAccepted, ep, true, fsm.ReasonNone},
		{transport.EventHandshakeSucceeded, ep, true, fsm.ReasonNone},
	}
	if diff := cmp.Diff(want, srvEv.until(t, kind(transport.EventHandshakeSucceeded))); diff != "" {
		t.Errorf("bound side (-want +got):\n%s", diff)
	}

	cli.Close()
	want = []seen{
		{transport.EventDisconnected, ep, true, fsm.ReasonClosed},
		{transport.EventClosed, ep, false, fsm.ReasonNone}, // the endpoint
	}
	if diff := cmp.Diff(want, cliEv.until(t, kind(transport.EventClosed))); diff != "" {
		t.Errorf("connecting side closing (-want +got):\n%s", diff)
	}
	want = []seen{
		{transport.EventDisconnected, ep, true, fsm.ReasonPeerClosed},
		{transport.EventClosed, ep, true, fsm.ReasonPeerClosed}, // the accepted connection
	}
	if diff := cmp.Diff(want, srvEv.until(t, kind(transport.EventClosed))); diff != "" {
		t.Errorf("bound side, peer gone (-want +got):\n%s", diff)
	}
	if err := srv.Unbind(ep); err != nil {
		t.Fatal(err)
	}
	want = []seen{{transport.EventClosed, ep, false, fsm.ReasonNone}}
	if diff := cmp.Diff(want, srvEv.until(t, kind(transport.EventClosed))); diff != "" {
		t.Errorf("bound side, unbound (-want +got):\n%s", diff)
	}

	t.Run("bind failed", func(t *testing.T) {
		ev := newMonitorLog()
		s := newSock(t, PULL, WithMonitor(ev.add))
		if err := s.Bind(bindAny(t, newSock(t, PULL))); err == nil {
			t.Fatal("bound a port in use")
		}
		got := ev.until(t, kind(transport.EventBindFailed))
		if len(got) != 1 {
			t.Errorf("events %v", got)
		}
	})
	t.Run("connect delayed and retried", func(t *testing.T) {
		ev := newMonitorLog()
		s := newSock(t, PUSH, WithMonitor(ev.add), WithReconnectIvl(10*time.Millisecond))
		dead := "tcp://127.0.0.1:1"
		connectTo(t, s, dead)
		want := []seen{
			{transport.EventConnectDelayed, dead, false, fsm.ReasonNone},
			{transport.EventConnectRetried, dead, false, fsm.ReasonNone},
		}
		if diff := cmp.Diff(want, ev.until(t, kind(transport.EventConnectRetried))); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("handshake failed, typed", func(t *testing.T) {
		ev := newMonitorLog()
		push := newSock(t, PUSH)
		s := newSock(t, PUSH, WithMonitor(ev.add), WithReconnectIvl(10*time.Millisecond))
		connectTo(t, s, bindAny(t, push)) // PUSH cannot talk to PUSH
		got := ev.until(t, kind(transport.EventHandshakeFailed))
		last := got[len(got)-1]
		if last.Reason != fsm.ReasonSocketTypeMismatch || !last.HasPeer {
			t.Fatalf("handshake failed: %+v", last)
		}
		for _, e := range ev.All() {
			if e.Kind == transport.EventConnectRetried {
				t.Errorf("retried after a socket-type mismatch: %v", e)
			}
		}
	})
	t.Run("nothing after Close returns", func(t *testing.T) {
		var mu sync.Mutex
		closed := false
		late := 0
		s, err := New(REP, WithMonitor(func(Event) {
			mu.Lock()
			if closed {
				late++
			}
			mu.Unlock()
		}))
		if err != nil {
			t.Fatal(err)
		}
		bindAny(t, s)
		for range 3 {
			connectTo(t, newSock(t, REQ), s.LastEndpoint())
		}
		waitPeers(t, s, 3)
		s.Close()
		mu.Lock()
		closed = true
		mu.Unlock()
		time.Sleep(50 * time.Millisecond) // a short "nothing more" window
		mu.Lock()
		defer mu.Unlock()
		if late != 0 {
			t.Fatalf("%d events after Close returned", late)
		}
	})
}

// syncBuffer is a bytes.Buffer safe for the logger's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLoggerOutput: WithLogger writes each event through log/slog, routine
// ones at debug level, failures as warnings with the typed reason.
func TestLoggerOutput(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	ev := newMonitorLog()
	push := newSock(t, PUSH)
	s := newSock(t, PUSH, WithLogger(log), WithMonitor(ev.add), WithReconnectIvl(-1))
	ep := bindAny(t, push)
	connectTo(t, s, ep)
	ev.until(t, kind(transport.EventHandshakeFailed))
	s.Close()
	out := buf.String()
	for _, want := range []string{
		`level=DEBUG msg="zmtp connected" event=connected endpoint=` + ep + ` socket=PUSH peer=`,
		`level=WARN msg="zmtp handshake-failed" event=handshake-failed endpoint=` + ep + ` socket=PUSH peer=`,
		`reason=SocketTypeMismatch err=`,
		`level=DEBUG msg="zmtp closed" event=closed endpoint=` + ep + ` socket=PUSH`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
