package sockets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// within fails the test unless f returns within d: the check that a call
// cannot block forever.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
	}
}

// peerList returns the socket's attached peers.
func (s *Socket) peerList() []*peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*peer(nil), s.peers...)
}

// eventually polls cond, which reads state another goroutine changes,
// until it holds, failing after 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSubscribeDoesNotBlockOnAStalledPublisher: a publisher that completes
// the handshake and then never reads cannot block Subscribe, however many
// subscriptions queue up behind it, nor Close.
func TestSubscribeDoesNotBlockOnAStalledPublisher(t *testing.T) {
	for _, minor := range []uint8{0, 1} { // 3.0 takes messages, 3.1 commands
		t.Run(fmt.Sprintf("ZMTP 3.%d", minor), func(t *testing.T) {
			ep, accept := rawListen(t, "PUB", minor)
			sub := newSock(t, SUB, WithSendHWM(4), WithLinger(0))
			if err := sub.Connect(ep); err != nil {
				t.Fatal(err)
			}
			accept() // handshakes, then never reads again
			eventually(t, "attach", func() bool { return len(sub.peerList()) == 1 })
			topic := strings.Repeat("t", 64<<10)
			within(t, 10*time.Second, "300 Subscribes of 64 KiB topics", func() {
				for i := range 300 { // ~19 MiB: more than the socket buffers hold
					sub.Subscribe(fmt.Appendf(nil, "%s%d", topic, i))
				}
				sub.Unsubscribe([]byte(topic + "0"))
			})
			within(t, 10*time.Second, "Close", func() { sub.Close() })
		})
	}
}

// TestXPubNotificationsNeverBlockTheSocket: an XPUB whose user never calls
// Recv (a plain publisher that happens to be an XPUB) keeps working when
// its receive queue fills with subscription notifications: subscribers
// may leave, Unbind and Close return.
func TestXPubNotificationsNeverBlockTheSocket(t *testing.T) {
	xpub := newSock(t, XPUB, WithRecvHWM(1), WithLinger(0))
	if err := xpub.Bind("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	var subs []*Socket
	for i := range 4 {
		s := newSock(t, SUB)
		s.Subscribe(fmt.Appendf(nil, "topic%d", i))
		s.Subscribe([]byte("all"))
		if err := s.Connect(xpub.LastEndpoint()); err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	// Every subscriber still gets what it subscribed to.
	for i, s := range subs {
		settleOn(t, xpub, s, fmt.Sprintf("topic%d", i))
	}
	within(t, 10*time.Second, "subscribers leaving", func() {
		for _, s := range subs {
			s.Close()
		}
	})
	within(t, 10*time.Second, "Unbind", func() { xpub.Unbind(xpub.LastEndpoint()) })
	within(t, 10*time.Second, "Close", func() { xpub.Close() })
}

// TestRoundRobinSkipsAStalledPeer: a PUSH with one peer that never reads
// and one that does keeps sending to the second once the first is full,
// also when both were full for a moment (libzmq's load balancer skips
// pipes over their high-water mark).
func TestRoundRobinSkipsAStalledPeer(t *testing.T) {
	ep, accept := rawListen(t, "PULL", 1)
	push := newSock(t, PUSH, WithSendHWM(2), WithLinger(0))
	pull := newSock(t, PULL, WithRecvHWM(2))
	if err := pull.Bind("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if err := push.Connect(ep); err != nil {
		t.Fatal(err)
	}
	accept() // never reads
	if err := push.Connect(pull.LastEndpoint()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "two peers", func() bool { return len(push.peerList()) == 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	big := strings.Repeat("x", 32<<10)
	const n = 2000 // ~64 MiB: the stalled peer fills up early on
	got := make(chan int, 1)
	sendDone := make(chan struct{})
	go func() {
		i := 0
		for i < n && ctx.Err() == nil {
			// Bounded waits; once the sender is done, the first one that
			// ends empty ends the count ("nothing more arrives").
			rctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			_, err := pull.Recv(rctx)
			cancel()
			if err == nil {
				i++
				continue
			}
			select {
			case <-sendDone:
				got <- i
				return
			default:
			}
		}
		got <- i
	}()
	sent := 0
	for ; sent < n; sent++ {
		if err := push.Send(ctx, NewMsgString(big)); err != nil {
			break
		}
	}
	close(sendDone)
	received := <-got
	// The stalled peer took what its queue and the socket buffers hold,
	// the rest went to the reader.
	if sent != n || received < n/2 {
		t.Fatalf("sent %d of %d, the reading peer received %d", sent, n, received)
	}
	t.Logf("the reading peer received %d of %d", received, n)
}

// TestRouterMandatoryBlocksAtHWM: libzmq's ROUTER with ROUTER_MANDATORY
// blocks (until ZMQ_SNDTIMEO, then EAGAIN) on a peer over its high-water
// mark, and fails at once with EHOSTUNREACH for an unknown peer; without
// the option it drops.
func TestRouterMandatoryBlocksAtHWM(t *testing.T) {
	for _, mandatory := range []bool{false, true} {
		t.Run(fmt.Sprint("mandatory=", mandatory), func(t *testing.T) {
			opts := []Option{WithSendHWM(1), WithLinger(0)}
			if mandatory {
				opts = append(opts, WithRouterMandatory())
			}
			router := newSock(t, ROUTER, opts...)
			if err := router.Bind("tcp://127.0.0.1:0"); err != nil {
				t.Fatal(err)
			}
			raw := rawDialPeer(t, router.LastEndpoint(), "DEALER", 1) // never reads
			raw.Send("hello")
			m, err := router.Recv(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			id := m.Frames[0]
			big := []byte(strings.Repeat("x", 64<<10))
			var last error
			for range 1000 { // 64 MiB, far more than the socket buffers
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				last = router.Send(ctx, NewMsg(id, big))
				cancel()
				if last != nil {
					break
				}
			}
			if mandatory && !errors.Is(last, context.DeadlineExceeded) {
				t.Fatalf("mandatory send to a full peer: %v, want the context's deadline", last)
			}
			if !mandatory && last != nil {
				t.Fatalf("send to a full peer: %v, want it dropped", last)
			}
		})
	}
}

// TestRepNeverBlocksOnARequesterThatDoesNotRead: a peer that sends
// requests and never reads the replies cannot block a REP's Send; the
// replies it does not take are dropped at the high-water mark, as
// libzmq's REP drops them.
func TestRepNeverBlocksOnARequesterThatDoesNotRead(t *testing.T) {
	rep := newSock(t, REP, WithSendHWM(4), WithLinger(0))
	raw := rawDialPeer(t, bindAny(t, rep), "DEALER", 1)
	go func() {
		for range 1000 {
			raw.Send("", "q")
		}
	}()
	reply := NewMsgString(strings.Repeat("r", 64<<10)) // 64 MiB in all
	for i := range 1000 {
		m, err := rep.Recv(ctxT(t))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		_ = m
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = rep.Send(ctx, reply)
		cancel()
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
	}
}

// TestUnbindAndDisconnectWithAFullReceiveQueue: a connection whose reader
// waits for room in the socket's full receive queue does not hold up
// Unbind or Disconnect (the listener and connector close the network
// connection, which a reader waiting on the queue does not see).
func TestUnbindAndDisconnectWithAFullReceiveQueue(t *testing.T) {
	for _, unbind := range []bool{true, false} {
		t.Run(map[bool]string{true: "Unbind", false: "Disconnect"}[unbind], func(t *testing.T) {
			pull := newSock(t, PULL, WithRecvHWM(1))
			push := newSock(t, PUSH, WithLinger(0))
			var ep string
			if unbind {
				ep = bindAny(t, pull)
				connectTo(t, push, ep)
			} else {
				ep = bindAny(t, push)
				connectTo(t, pull, ep)
			}
			for i := range 10 {
				mustSend(t, push, fmt.Sprint(i))
			}
			eventually(t, "a full queue", func() bool { return pull.in.len() == 1 })
			// The reader must be waiting on the full queue, the case the
			// fix is for: a producer that finds no room makes waitW.
			eventually(t, "the reader waiting for room", func() bool {
				pull.in.mu.Lock()
				defer pull.in.mu.Unlock()
				return pull.in.waitW != nil
			})
			within(t, 5*time.Second, "Unbind or Disconnect", func() {
				if unbind {
					pull.Unbind(ep)
				} else {
					pull.Disconnect(ep)
				}
			})
		})
	}
}

// TestSubscriptionQueueStaysBounded: toward a publisher that stopped
// reading, a subscriber that keeps subscribing and cancelling queues at
// most one entry per topic beyond the compaction length, and the
// publisher still ends up with the right subscriptions.
func TestSubscriptionQueueStaysBounded(t *testing.T) {
	ep, accept := rawListen(t, "PUB", 0) // 3.0: subscriptions are messages, held by the send queue
	sub := newSock(t, SUB, WithSendHWM(1), WithLinger(0))
	connectTo(t, sub, ep)
	accept() // never reads
	waitPeers(t, sub, 1)
	big := strings.Repeat("t", 64<<10)
	for i := range 200 { // fill the socket buffers with distinct topics
		sub.Subscribe(fmt.Appendf(nil, "%s%d", big, i))
	}
	for range 20000 {
		sub.Subscribe([]byte("x"))
		sub.Unsubscribe([]byte("x"))
	}
	p := sub.pat.(*subPattern)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, q := range p.queue {
		if n := len(q.ops); n > 2*subQueueCompact {
			t.Fatalf("%d subscriptions queued", n)
		}
		last := map[string]bool{}
		for _, op := range q.ops {
			last[string(op.topic)] = !op.cancel
		}
		if on, ok := last["x"]; !ok || on {
			t.Fatalf("x queued: %v, last a subscribe: %v; want a queued cancel (the publisher is stalled)", ok, on)
		}
	}
}

func TestCompactOps(t *testing.T) {
	ops := []subOp{{[]byte("a"), false}, {[]byte("b"), false}, {[]byte("a"), true}, {[]byte("c"), false}, {[]byte("b"), true}, {[]byte("b"), false}}
	var got []string
	for _, op := range compactOps(ops) {
		got = append(got, fmt.Sprintf("%s %v", op.topic, op.cancel))
	}
	if want := []string{"a true", "c false", "b false"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("compacted %v, want %v", got, want)
	}
}

func TestNoteQueueCoalescesPastItsLimit(t *testing.T) {
	q := noteQueue{coalesce: true, limit: 2}
	for _, n := range []string{"1a", "1b", "0a", "1c", "0c", "1c", "0b", "1b"} {
		q.push(nil, n[0]-'0', []byte(n[1:]))
	}
	var got []string
	for {
		in, ok := q.pop()
		if !ok {
			break
		}
		got = append(got, fmt.Sprintf("%d%s", in.frames[0][0], in.frames[0][1:]))
	}
	// Each time the queue is at its limit, a notification undoes the one
	// queued for its topic: a ends unsubscribed and unreported, b and c
	// subscribed, each reported once.
	if want := []string{"1c", "1b"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("popped %v, want %v", got, want)
	}
}
