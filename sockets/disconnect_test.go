package sockets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zmtpgo/zmtp/fsm"
	"github.com/zmtpgo/zmtp/transport"
)

// TestConnectDisconnectConnect is libzmq #1126: the same endpoint can be
// connected again after a disconnect, and works.
func TestConnectDisconnectConnect(t *testing.T) {
	pull, push := newSock(t, PULL), newSock(t, PUSH)
	if err := pull.Bind("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ep := pull.LastEndpoint()
	for i := range 3 {
		if err := push.Connect(ep); err != nil {
			t.Fatalf("round %d: Connect: %v", i, err)
		}
		mustSend(t, push, fmt.Sprint("round ", i))
		mustRecv(t, pull, fmt.Sprint("round ", i))
		if err := push.Disconnect(ep); err != nil {
			t.Fatalf("round %d: Disconnect: %v", i, err)
		}
		if err := push.Disconnect(ep); !errors.Is(err, ErrNoEndpoint) {
			t.Fatalf("round %d: second Disconnect: %v, want ErrNoEndpoint", i, err)
		}
	}
}

// TestDisconnectLeavesOtherEndpoints: after disconnecting one of two
// endpoints, everything goes to the other, and the first is not redialled.
func TestDisconnectLeavesOtherEndpoints(t *testing.T) {
	events := make(eventLog, 256)
	a, b := newSock(t, PULL, WithMonitor(events.add)), newSock(t, PULL)
	for _, s := range []*Socket{a, b} {
		if err := s.Bind("tcp://127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	push := newSock(t, PUSH, WithReconnectIvl(10*time.Millisecond))
	push.Connect(a.LastEndpoint())
	push.Connect(b.LastEndpoint())
	mustRecvFromBoth(t, push, a, b)

	if err := push.Disconnect(a.LastEndpoint()); err != nil {
		t.Fatal(err)
	}
	events.waitFor(t, "a's side of the connection closing", func(ev Event) bool { return ev.Kind == transport.EventDisconnected })
	for i := range 20 {
		mustSend(t, push, fmt.Sprint(i))
	}
	for i := range 20 {
		mustRecv(t, b, fmt.Sprint(i))
	}
	// No reconnect to a: nothing is accepted there within a reconnect
	// interval many times over.
	quiet := time.After(200 * time.Millisecond)
	for done := false; !done; {
		select {
		case ev := <-events:
			if ev.Kind == transport.EventAccepted {
				t.Fatalf("the disconnected endpoint was dialled again: %v", ev)
			}
		case <-quiet:
			done = true
		}
	}
}

// mustRecvFromBoth sends until both a and b have received a message, so
// both connections are known to be up.
func mustRecvFromBoth(t *testing.T, push, a, b *Socket) {
	t.Helper()
	ctx := ctxT(t)
	seen := map[*Socket]bool{}
	for i := 0; len(seen) < 2; i++ {
		if ctx.Err() != nil {
			t.Fatal("both peers never received")
		}
		mustSend(t, push, "hello")
		for _, s := range []*Socket{a, b} {
			rctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			if _, err := s.Recv(rctx); err == nil {
				seen[s] = true
			}
			cancel()
		}
	}
}

// TestDisconnectSendsQueuedFirst: messages queued before Disconnect are
// delivered within the linger period.
func TestDisconnectSendsQueuedFirst(t *testing.T) {
	pull, push := newSock(t, PULL), newSock(t, PUSH)
	pair(t, pull, push)
	for i := range 200 {
		mustSend(t, push, fmt.Sprint(i))
	}
	if err := push.Disconnect(pull.LastEndpoint()); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		mustRecv(t, pull, fmt.Sprint(i))
	}
}

// TestUnbindDropsItsClients is libzmq #3317: Unbind closes the listener
// and the connections it accepted; the client sees them end and its
// reconnects are refused.
func TestUnbindDropsItsClients(t *testing.T) {
	events := make(eventLog, 256)
	pull := newSock(t, PULL)
	if err := pull.Bind("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	push := newSock(t, PUSH, WithMonitor(events.add), WithReconnectIvl(10*time.Millisecond))
	push.Connect(pull.LastEndpoint())
	mustSend(t, push, "x")
	mustRecv(t, pull, "x")
	if err := pull.Unbind(pull.LastEndpoint()); err != nil {
		t.Fatal(err)
	}
	events.waitFor(t, "disconnect after unbind", func(ev Event) bool {
		return ev.Kind == transport.EventDisconnected && ev.Reason == fsm.ReasonPeerClosed
	})
	events.waitFor(t, "refused reconnect", func(ev Event) bool { return ev.Kind == transport.EventConnectDelayed })
	if err := pull.Unbind(pull.LastEndpoint()); !errors.Is(err, ErrNoEndpoint) {
		t.Fatalf("second Unbind: %v", err)
	}
}

// TestUnbindWildcard is libzmq #4510: a wildcard bind is unbound by the
// endpoint it got, or by the text it was bound with when that named a port.
func TestUnbindWildcard(t *testing.T) {
	s := newSock(t, PULL)
	if err := s.Bind("tcp://*:0"); err != nil {
		t.Fatal(err)
	}
	got := s.LastEndpoint()
	if strings.Contains(got, "*") || strings.HasSuffix(got, ":0") {
		t.Fatalf("LastEndpoint %q is not the endpoint bound", got)
	}
	if err := s.Unbind(got); err != nil {
		t.Fatalf("Unbind(%q): %v", got, err)
	}
	port := got[strings.LastIndex(got, ":")+1:]
	byText := "tcp://*:" + port
	if err := s.Bind(byText); err != nil {
		t.Skipf("port %s taken meanwhile: %v", port, err)
	}
	if err := s.Unbind(byText); err != nil {
		t.Fatalf("Unbind(%q): %v", byText, err)
	}
	if err := s.Bind(byText); err != nil {
		t.Fatalf("the port was not released: %v", err)
	}
}

// TestPublisherRestartedOnSamePort: the PUB goes away and a new one binds
// the same port; the SUB reconnects and its subscriptions are sent again.
func TestPublisherRestartedOnSamePort(t *testing.T) {
	pub, err := New(PUB)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Bind("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ep := pub.LastEndpoint()
	events := make(eventLog, 256)
	sub := newSock(t, SUB, WithReconnectIvl(20*time.Millisecond), WithMonitor(events.add))
	sub.Subscribe([]byte("t"))
	sub.Connect(ep)
	settleOn(t, pub, sub, "t-first")
	pub.Close()
	events.waitFor(t, "disconnect", func(ev Event) bool { return ev.Kind == transport.EventDisconnected })

	pub2 := newSock(t, PUB)
	if err := pub2.Bind(ep); err != nil {
		t.Skipf("port taken meanwhile: %v", err)
	}
	settleOn(t, pub2, sub, "t-second")
}
