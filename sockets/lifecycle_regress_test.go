package sockets

import (
	"context"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/zmtpgo/zmtp/fsm"
	"github.com/zmtpgo/zmtp/internal/memnet"
	"github.com/zmtpgo/zmtp/transport"
)

// The faults TestLifecycle found, and one that running it over net.Pipe
// showed, as plain tests on the virtual clock.

// lcBlockedPub is a PUB and a SUB over a network with small buffers, the
// address silenced after a while, and a burst published: the PUB's writer
// waits on a full buffer toward a subscriber that is gone.
func lcBlockedPub(t *testing.T, after time.Duration, pubOpts, subOpts []Option) (pub *Socket, pubEvents *lcRecorder) {
	t.Helper()
	n := memnet.New(2048)
	pubEvents = &lcRecorder{}
	pub, err := New(PUB, append([]Option{WithMonitor(pubEvents.add), WithLinger(0)}, pubOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := n.Listen(lcAddr)
	if err != nil {
		t.Fatal(err)
	}
	pub.BindListener(ln, lcEndpoint)
	sub, err := New(SUB, append([]Option{WithDialer(n.Dial)}, subOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n.Resume(lcAddr)
		sub.Close()
		pub.Close()
	})
	sub.Subscribe(nil)
	sub.Connect(lcEndpoint)
	time.Sleep(after)
	synctest.Wait()
	n.Silence(lcAddr)
	body := make([]byte, 100)
	for range 200 {
		pub.Send(context.Background(), NewMsg(body))
	}
	synctest.Wait()
	return pub, pubEvents
}

// lcWaitFor returns the first event of kind, failing if none came.
func lcWaitFor(t *testing.T, r *lcRecorder, kind transport.EventKind) lcStamped {
	t.Helper()
	for _, e := range r.take() {
		if e.ev.Kind == kind {
			return e
		}
	}
	t.Fatalf("no %v event", kind)
	return lcStamped{}
}

// TestLifecycleHeartbeatWhileWriteBlocked: the PUB's heartbeat declares
// the silent subscriber dead on time (the timeout after its first
// unanswered PING) though its writer waits on a full buffer; it used to
// wait with it, until the silence ended.
func TestLifecycleHeartbeatWhileWriteBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		_, events := lcBlockedPub(t, 0, []Option{WithHeartbeat(100*time.Millisecond, 0, 300*time.Millisecond)}, nil)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		e := lcWaitFor(t, events, transport.EventDisconnected)
		if e.ev.Reason != fsm.ReasonHeartbeatTimeout || e.at.Sub(start) != 400*time.Millisecond {
			t.Fatalf("got %v; want reason HeartbeatTimeout at +400ms", e)
		}
	})
}

// TestLifecycleTTLWhileWriteBlocked: the TTL the subscriber asked for is
// enforced while the PUB's writer waits on a full buffer.
func TestLifecycleTTLWhileWriteBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		// The SUB's first PING, at +100ms, carries the TTL; it is the last
		// frame the PUB gets, since the silence begins at +150ms.
		_, events := lcBlockedPub(t, 150*time.Millisecond, nil, []Option{WithHeartbeat(100*time.Millisecond, 300*time.Millisecond, time.Hour)})
		time.Sleep(10 * time.Second)
		synctest.Wait()
		e := lcWaitFor(t, events, transport.EventDisconnected)
		if d := e.at.Sub(start); e.ev.Reason != fsm.ReasonHeartbeatTimeout || d < 400*time.Millisecond || d > 700*time.Millisecond {
			t.Fatalf("got %v; want reason HeartbeatTimeout within one to two TTLs of +100ms", e)
		}
	})
}

// TestLifecycleUnbindWhileWriteBlocked: Unbind closes a connection whose
// writer waits on a full buffer with reason Closed, as any other; the
// failed write used to make it PeerClosed.
func TestLifecycleUnbindWhileWriteBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pub, events := lcBlockedPub(t, 0, nil, nil)
		if err := pub.Unbind(lcEndpoint); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if e := lcWaitFor(t, events, transport.EventDisconnected); e.ev.Reason != fsm.ReasonClosed {
			t.Fatalf("got %v; want reason Closed", e)
		}
	})
}

// pipeListener accepts the far ends of net.Pipe connections.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error   { close(l.done); return nil }
func (l *pipeListener) Addr() net.Addr { return memnet.Addr(lcAddr) }

func (l *pipeListener) dial(context.Context, string, string) (net.Conn, error) {
	c, s := net.Pipe()
	l.conns <- s
	return c, nil
}

// TestLifecycleSyncPipeHandshakeTimeout: over net.Pipe, whose writes wait
// for the reader, both sides block sending their greeting (ZMTP needs a
// transport that buffers it; memnet does). The side whose handshake timer
// runs out first reports reason HandshakeTimeout (a write at the deadline
// used to read as PeerClosed), the other that its peer closed.
func TestLifecycleSyncPipeHandshakeTimeout(t *testing.T) {
	for _, subFirst := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			start := time.Now()
			l := &pipeListener{conns: make(chan net.Conn, 1), done: make(chan struct{})}
			pubEvents, subEvents := &lcRecorder{}, &lcRecorder{}
			pubHS, subHS := time.Second, 2*time.Second
			if subFirst {
				pubHS, subHS = subHS, pubHS
			}
			pub, _ := New(PUB, WithMonitor(pubEvents.add), WithHandshakeTimeout(pubHS))
			sub, _ := New(SUB, WithMonitor(subEvents.add), WithHandshakeTimeout(subHS), WithDialer(l.dial), WithReconnectIvl(time.Hour))
			defer pub.Close()
			defer sub.Close()
			pub.BindListener(l, lcEndpoint)
			sub.Connect(lcEndpoint)
			time.Sleep(time.Second)
			synctest.Wait()
			first, second := pubEvents, subEvents
			if subFirst {
				first, second = second, first
			}
			if e := lcWaitFor(t, first, transport.EventHandshakeFailed); e.ev.Reason != fsm.ReasonHandshakeTimeout || e.at.Sub(start) != time.Second {
				t.Errorf("got %v; want reason HandshakeTimeout at +1s", e)
			}
			if e := lcWaitFor(t, second, transport.EventHandshakeFailed); e.ev.Reason != fsm.ReasonPeerClosed || e.at.Sub(start) != time.Second {
				t.Errorf("got %v; want reason PeerClosed at +1s", e)
			}
		})
	}
}
