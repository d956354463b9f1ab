package sockets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newSock(t *testing.T, typ Type, opts ...Option) *Socket {
	t.Helper()
	s, err := New(typ, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// pair binds a on loopback and connects b to it.
func pair(t *testing.T, a, b *Socket) {
	t.Helper()
	if err := a.Bind("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if err := b.Connect(a.LastEndpoint()); err != nil {
		t.Fatal(err)
	}
}

func mustSend(t *testing.T, s *Socket, frames ...string) {
	t.Helper()
	if err := s.Send(ctxT(t), NewMsgString(frames...)); err != nil {
		t.Fatalf("%s send %q: %v", s.Type(), frames, err)
	}
}

func mustRecv(t *testing.T, s *Socket, want ...string) {
	t.Helper()
	m, err := s.Recv(ctxT(t))
	if err != nil {
		t.Fatalf("%s recv: %v", s.Type(), err)
	}
	if diff := cmp.Diff(NewMsgString(want...), m, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("%s recv (-want +got):\n%s", s.Type(), diff)
	}
}

func TestPatterns(t *testing.T) {
	tests := []struct {
		name       string
		bind, conn Type
		run        func(t *testing.T, bound, connected *Socket)
	}{
		{"PUSH binds, PULL connects", PUSH, PULL, func(t *testing.T, push, pull *Socket) {
			mustSend(t, push, "a", "b")
			mustRecv(t, pull, "a", "b")
		}},
		{"PULL binds, PUSH connects", PULL, PUSH, func(t *testing.T, pull, push *Socket) {
			for i := range 10 {
				mustSend(t, push, fmt.Sprint(i))
			}
			for i := range 10 {
				mustRecv(t, pull, fmt.Sprint(i))
			}
		}},
		{"REQ/REP", REP, REQ, func(t *testing.T, rep, req *Socket) {
			for i := range 3 {
				mustSend(t, req, "ping", fmt.Sprint(i))
				mustRecv(t, rep, "ping", fmt.Sprint(i))
				mustSend(t, rep, "pong", fmt.Sprint(i))
				mustRecv(t, req, "pong", fmt.Sprint(i))
			}
		}},
		{"REQ to ROUTER", ROUTER, REQ, func(t *testing.T, router, req *Socket) {
			mustSend(t, req, "hello")
			m, err := router.Recv(ctxT(t))
			if err != nil || len(m.Frames) != 3 || len(m.Frames[1]) != 0 || string(m.Frames[2]) != "hello" {
				t.Fatalf("router got %q, %v", m.Frames, err)
			}
			if err := router.Send(ctxT(t), NewMsg(m.Frames[0], nil, []byte("world"))); err != nil {
				t.Fatal(err)
			}
			mustRecv(t, req, "world")
		}},
		{"DEALER to REP", REP, DEALER, func(t *testing.T, rep, dealer *Socket) {
			mustSend(t, dealer, "", "q")
			mustRecv(t, rep, "q")
			mustSend(t, rep, "a")
			mustRecv(t, dealer, "", "a")
		}},
		{"PAIR", PAIR, PAIR, func(t *testing.T, a, b *Socket) {
			mustSend(t, b, "x")
			mustRecv(t, a, "x")
			mustSend(t, a, "y")
			mustRecv(t, b, "y")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := newSock(t, tt.bind), newSock(t, tt.conn)
			pair(t, a, b)
			tt.run(t, a, b)
		})
	}
}

func TestRouterRoutesByIdentity(t *testing.T) {
	router := newSock(t, ROUTER, WithRouterMandatory())
	if err := router.Bind("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	d := newSock(t, DEALER, WithIdentity([]byte("alice")))
	if err := d.Connect(router.LastEndpoint()); err != nil {
		t.Fatal(err)
	}
	mustSend(t, d, "hi")
	mustRecv(t, router, "alice", "hi")
	mustSend(t, router, "alice", "back")
	mustRecv(t, d, "back")
	if err := router.Send(ctxT(t), NewMsgString("bob", "x")); !errors.Is(err, ErrUnroutable) {
		t.Fatalf("send to unknown peer: %v, want ErrUnroutable", err)
	}
}

func TestReqStrictAlternation(t *testing.T) {
	req := newSock(t, REQ)
	if _, err := req.Recv(ctxT(t)); !errors.Is(err, ErrState) {
		t.Fatalf("recv before send: %v", err)
	}
}

func TestSendHonoursDeadline(t *testing.T) {
	push := newSock(t, PUSH, WithLinger(0))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := push.Send(ctx, NewMsgString("nobody")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("send without peers: %v", err)
	}
}

func TestConnectBeforeBind(t *testing.T) {
	pull := newSock(t, PULL)
	if err := pull.Bind("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ep := pull.LastEndpoint()
	pull.Close()
	push := newSock(t, PUSH, WithReconnectIvl(10*time.Millisecond))
	if err := push.Connect(ep); err != nil {
		t.Fatal(err)
	}
	pull2 := newSock(t, PULL)
	if err := pull2.Bind(ep); err != nil {
		t.Skipf("port %s taken meanwhile: %v", ep, err)
	}
	mustSend(t, push, "late")
	mustRecv(t, pull2, "late")
}

func TestCloseLingersUntilSent(t *testing.T) {
	pull := newSock(t, PULL)
	push := newSock(t, PUSH)
	pair(t, pull, push)
	for i := range 500 {
		mustSend(t, push, fmt.Sprint(i))
	}
	push.Close()
	for i := range 500 {
		mustRecv(t, pull, fmt.Sprint(i))
	}
}

func TestDisconnectAndUnbindUnknownEndpoint(t *testing.T) {
	s := newSock(t, PUSH)
	if err := s.Disconnect("tcp://127.0.0.1:1"); !errors.Is(err, ErrNoEndpoint) {
		t.Fatalf("Disconnect: %v", err)
	}
	if err := s.Unbind("tcp://127.0.0.1:1"); !errors.Is(err, ErrNoEndpoint) {
		t.Fatalf("Unbind: %v", err)
	}
}

// TestFreeRecycledBodies: a receiver that frees every message gets each
// later message intact, of every size around the pool's classes, while
// the bodies it freed are reused under it.
func TestFreeRecycledBodies(t *testing.T) {
	pull := newSock(t, PULL)
	push := newSock(t, PUSH)
	connectTo(t, push, bindAny(t, pull))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sizes := []int{1, 511, 512, 513, 1000, 1024, 4096, 65535, 65536, 70000, 262144, 262145}
	const rounds = 20
	go func() {
		for r := range rounds {
			for i, n := range sizes {
				body := bytes.Repeat([]byte{byte(r*len(sizes) + i)}, n)
				if err := push.Send(ctx, NewMsg(body, []byte("tail"))); err != nil {
					return
				}
			}
		}
	}()
	for r := range rounds {
		for i, n := range sizes {
			m, err := pull.Recv(ctx)
			if err != nil {
				t.Fatalf("round %d, size %d: %v", r, n, err)
			}
			want := bytes.Repeat([]byte{byte(r*len(sizes) + i)}, n)
			if len(m.Frames) != 2 || !bytes.Equal(m.Frames[0], want) || string(m.Frames[1]) != "tail" {
				t.Fatalf("round %d, size %d: a message came back altered", r, n)
			}
			m.Free()
			if m.Frames != nil {
				t.Fatal("Free left the frames in the message")
			}
		}
	}
}

// TestReceivedMessagesAreNotPinned: messages the application has dropped
// are collectable, whatever the receiver kept (here, one small message):
// the frame-list slab of the reader, which the kept message shares, must
// not hold its neighbours' large bodies, nor an idle connection its last
// messages.
func TestReceivedMessagesAreNotPinned(t *testing.T) {
	pull := newSock(t, PULL)
	push := newSock(t, PUSH)
	connectTo(t, push, bindAny(t, pull))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	big := bytes.Repeat([]byte{'b'}, 1<<20)
	mustSend(t, push, "keep")
	for range 31 {
		if err := push.Send(ctx, NewMsg(big)); err != nil {
			t.Fatal(err)
		}
	}
	kept, err := pull.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 31 {
		if _, err := pull.Recv(ctx); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapAlloc > 16<<20 {
		t.Errorf("%d MiB of heap live after dropping 31 MiB of messages", ms.HeapAlloc>>20)
	}
	runtime.KeepAlive(kept)
}
