package sockets

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The semantics of each pattern, ours on both ends. interop/ runs the same
// checks with libzmq on the other end.

// bindAny binds s on loopback and returns the endpoint.
func bindAny(t *testing.T, s *Socket) string {
	t.Helper()
	if err := s.Bind("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	return s.LastEndpoint()
}

func connectTo(t *testing.T, s *Socket, ep string) {
	t.Helper()
	if err := s.Connect(ep); err != nil {
		t.Fatal(err)
	}
}

// waitPeers waits until s has n attached peers: after that, which peer a
// message goes to depends on the pattern alone.
func waitPeers(t *testing.T, s *Socket, n int) {
	t.Helper()
	eventually(t, fmt.Sprintf("%v with %d peers", s.Type(), n), func() bool { return len(s.peerList()) == n })
}

func recvMsg(t *testing.T, s *Socket) Msg {
	t.Helper()
	m, err := s.Recv(ctxT(t))
	if err != nil {
		t.Fatalf("%v recv: %v", s.Type(), err)
	}
	return m
}

// drain receives until nothing arrives for d and returns what came.
func drain(s *Socket, d time.Duration) []Msg {
	var out []Msg
	for {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		m, err := s.Recv(ctx)
		cancel()
		if err != nil {
			return out
		}
		out = append(out, m)
	}
}

// TestMultipartAtomic: concurrent senders' multipart messages arrive whole,
// never interleaved, for every pattern that fans in.
func TestMultipartAtomic(t *testing.T) {
	tests := []struct {
		name     string
		recv     Type
		send     Type
		senders  int
		envelope int // frames the receiver adds in front (ROUTER's id)
	}{
		{"PUSH to PULL", PULL, PUSH, 3, 0},
		{"DEALER to ROUTER", ROUTER, DEALER, 3, 1},
		{"DEALER to DEALER", DEALER, DEALER, 3, 0},
		{"XSUB to XPUB", XPUB, XSUB, 3, 0},
		{"PAIR to PAIR", PAIR, PAIR, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newSock(t, tt.recv)
			ep := bindAny(t, r)
			const perSender = 200
			var wg sync.WaitGroup
			for i := range tt.senders {
				s := newSock(t, tt.send)
				connectTo(t, s, ep)
				waitPeers(t, s, 1) // XSUB drops what it sends without a peer
				wg.Go(func() {
					for n := range perSender {
						// Frames of different sizes, short and long form.
						body := strings.Repeat("b", (n*37)%600)
						if err := s.Send(ctxT(t), NewMsgString(fmt.Sprint("s", i), strconv.Itoa(n), body, "end")); err != nil {
							t.Errorf("send: %v", err)
							return
						}
					}
				})
			}
			next := make([]int, tt.senders)
			for range tt.senders * perSender {
				m := recvMsg(t, r)
				f := m.Frames[tt.envelope:]
				if len(f) != 4 || f[3] == nil || string(f[3]) != "end" {
					t.Fatalf("message not whole: %q", m.Frames)
				}
				i, _ := strconv.Atoi(strings.TrimPrefix(string(f[0]), "s"))
				n, _ := strconv.Atoi(string(f[1]))
				if n != next[i] || len(f[2]) != (n*37)%600 {
					t.Fatalf("sender %d: got message %d (%d bytes), want %d", i, n, len(f[2]), next[i])
				}
				next[i]++
			}
			wg.Wait()
		})
	}
}

// TestStrictAlternation: REQ and REP refuse out-of-turn calls with
// ErrState (libzmq's EFSM), and keep working after.
func TestStrictAlternation(t *testing.T) {
	rep, req := newSock(t, REP), newSock(t, REQ)
	pair(t, rep, req)
	if err := rep.Send(ctxT(t), NewMsgString("unasked")); !errors.Is(err, ErrState) {
		t.Fatalf("REP send before a request: %v, want ErrState", err)
	}
	if _, err := req.Recv(ctxT(t)); !errors.Is(err, ErrState) {
		t.Fatalf("REQ recv before a request: %v, want ErrState", err)
	}
	mustSend(t, req, "q1")
	if err := req.Send(ctxT(t), NewMsgString("q2")); !errors.Is(err, ErrState) {
		t.Fatalf("REQ second send: %v, want ErrState", err)
	}
	mustRecv(t, rep, "q1")
	if _, err := rep.Recv(ctxT(t)); !errors.Is(err, ErrState) {
		t.Fatalf("REP second recv: %v, want ErrState", err)
	}
	mustSend(t, rep, "a1")
	if err := rep.Send(ctxT(t), NewMsgString("a2")); !errors.Is(err, ErrState) {
		t.Fatalf("REP second send: %v, want ErrState", err)
	}
	mustRecv(t, req, "a1")
	mustSend(t, req, "q3")
	mustRecv(t, rep, "q3")
	mustSend(t, rep, "a3")
	mustRecv(t, req, "a3")
}

// TestEnvelopes: REQ behind a ROUTER sees its envelope kept and stripped;
// REP behind a DEALER returns every envelope frame up to the delimiter.
func TestEnvelopes(t *testing.T) {
	t.Run("REQ behind ROUTER", func(t *testing.T) {
		router, req := newSock(t, ROUTER), newSock(t, REQ, WithIdentity([]byte("client")))
		pair(t, router, req)
		mustSend(t, req, "q", "2")
		mustRecv(t, router, "client", "", "q", "2")
		mustSend(t, router, "client", "", "a", "2")
		mustRecv(t, req, "a", "2")
	})
	t.Run("REP behind DEALER", func(t *testing.T) {
		rep, dealer := newSock(t, REP), newSock(t, DEALER)
		pair(t, rep, dealer)
		mustSend(t, dealer, "hop2", "hop1", "", "q")
		mustRecv(t, rep, "q")
		mustSend(t, rep, "a")
		mustRecv(t, dealer, "hop2", "hop1", "", "a")
		mustSend(t, dealer, "no delimiter") // dropped by REP, as libzmq does
		mustSend(t, dealer, "", "q2")
		mustRecv(t, rep, "q2")
	})
	t.Run("REQ through a ROUTER-DEALER proxy to REP", func(t *testing.T) {
		front, back := newSock(t, ROUTER), newSock(t, DEALER)
		feFront, feBack := bindAny(t, front), bindAny(t, back)
		stop := proxy(t, front, back)
		defer stop()
		var reps []*Socket
		for range 2 {
			rep := newSock(t, REP)
			connectTo(t, rep, feBack)
			reps = append(reps, rep)
			go func() { // echo server
				for {
					m, err := rep.Recv(context.Background())
					if err != nil {
						return
					}
					if rep.Send(context.Background(), NewMsgString("re:"+m.String())) != nil {
						return
					}
				}
			}()
		}
		for i := range 3 {
			req := newSock(t, REQ)
			connectTo(t, req, feFront)
			for n := range 4 {
				q := fmt.Sprintf("c%d-%d", i, n)
				mustSend(t, req, q)
				mustRecv(t, req, "re:"+q)
			}
		}
	})
}

// proxy forwards between two sockets like zmq_proxy, until stop.
func proxy(t *testing.T, a, b *Socket) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	pipe := func(from, to *Socket) {
		for {
			m, err := from.Recv(ctx)
			if err != nil {
				return
			}
			if err := to.Send(ctx, m); err != nil {
				return
			}
		}
	}
	wg.Go(func() { pipe(a, b) })
	wg.Go(func() { pipe(b, a) })
	return func() { cancel(); wg.Wait() }
}

// TestRouterRouting covers how ROUTER names and routes its peers.
func TestRouterRouting(t *testing.T) {
	t.Run("generated ids are a zero byte and four more", func(t *testing.T) {
		router := newSock(t, ROUTER)
		ep := bindAny(t, router)
		ids := map[string]bool{}
		for i := range 3 {
			d := newSock(t, DEALER)
			connectTo(t, d, ep)
			mustSend(t, d, fmt.Sprint(i))
			m := recvMsg(t, router)
			if id := m.Frames[0]; len(id) != 5 || id[0] != 0 || ids[string(id)] {
				t.Fatalf("generated id %q", id)
			}
			ids[string(m.Frames[0])] = true
			mustSend(t, router, string(m.Frames[0]), "back", fmt.Sprint(i))
			mustRecv(t, d, "back", fmt.Sprint(i))
		}
	})
	t.Run("unroutable dropped without mandatory", func(t *testing.T) {
		router, d := newSock(t, ROUTER), newSock(t, DEALER, WithIdentity([]byte("known")))
		pair(t, router, d)
		mustSend(t, d, "hi")
		mustRecv(t, router, "known", "hi")
		mustSend(t, router, "unknown", "lost") // no error
		mustSend(t, router, "known", "kept")
		mustRecv(t, d, "kept")
	})
	t.Run("unroutable fails with mandatory", func(t *testing.T) {
		router := newSock(t, ROUTER, WithRouterMandatory())
		if err := router.Send(ctxT(t), NewMsgString("unknown", "x")); !errors.Is(err, ErrUnroutable) {
			t.Fatalf("send: %v, want ErrUnroutable", err)
		}
		if err := router.Send(ctxT(t), NewMsgString("only an id")); !errors.Is(err, ErrBadRoutingID) {
			t.Fatalf("send: %v, want ErrBadRoutingID", err)
		}
	})
	t.Run("ROUTER to ROUTER by Identity", func(t *testing.T) {
		a := newSock(t, ROUTER, WithIdentity([]byte("a")), WithRouterMandatory())
		b := newSock(t, ROUTER, WithIdentity([]byte("b")), WithRouterMandatory())
		pair(t, a, b)
		waitPeers(t, b, 1) // until then "a" is unroutable
		mustSend(t, b, "a", "hello")
		mustRecv(t, a, "b", "hello")
		mustSend(t, a, "b", "back")
		mustRecv(t, b, "a", "back")
	})
	t.Run("a duplicate Identity is ignored", func(t *testing.T) {
		router := newSock(t, ROUTER, WithRouterMandatory())
		ep := bindAny(t, router)
		first := newSock(t, DEALER, WithIdentity([]byte("x")))
		connectTo(t, first, ep)
		mustSend(t, first, "from first")
		mustRecv(t, router, "x", "from first")
		second := newSock(t, DEALER, WithIdentity([]byte("x")))
		connectTo(t, second, ep)
		waitPeers(t, router, 2)
		mustSend(t, second, "from second") // dropped
		mustSend(t, first, "first again")
		mustRecv(t, router, "x", "first again")
		mustSend(t, router, "x", "to x")
		mustRecv(t, first, "to x")
		if got := drain(second, 100*time.Millisecond); len(got) != 0 {
			t.Fatalf("the duplicate received %v", got)
		}
		if got := drain(router, 100*time.Millisecond); len(got) != 0 {
			t.Fatalf("the router received %v from the duplicate", got)
		}
		// Once the first has gone, a new connection with the id takes it.
		first.Close()
		waitPeers(t, router, 1)
		second.Disconnect(ep)
		waitPeers(t, router, 0)
		connectTo(t, second, ep)
		mustSend(t, second, "second now")
		mustRecv(t, router, "x", "second now")
	})
}

// TestRoundRobin: PUSH, DEALER and REQ hand idle peers strict turns, as
// libzmq's load balancer does.
func TestRoundRobin(t *testing.T) {
	tests := []struct {
		name      string
		send      Type
		peer      Type
		perPeer   int
		roundTrip bool // REQ: each request waits for its reply
	}{
		{"PUSH to PULLs", PUSH, PULL, 50, false},
		{"DEALER to DEALERs", DEALER, DEALER, 50, false},
		{"REQ to REPs", REQ, REP, 5, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSock(t, tt.send)
			var peers []*Socket
			for i := range 3 {
				p := newSock(t, tt.peer)
				connectTo(t, s, bindAny(t, p))
				peers = append(peers, p)
				if tt.roundTrip {
					go func() { // a REP that answers with its number
						for {
							if _, err := p.Recv(context.Background()); err != nil {
								return
							}
							if p.Send(context.Background(), NewMsgString(strconv.Itoa(i))) != nil {
								return
							}
						}
					}()
				}
			}
			waitPeers(t, s, 3)
			var order []int // which peer had each turn
			for n := range 3 * tt.perPeer {
				mustSend(t, s, strconv.Itoa(n))
				if tt.roundTrip {
					i, _ := strconv.Atoi(recvMsg(t, s).String())
					order = append(order, i)
				}
			}
			if !tt.roundTrip {
				order = make([]int, 3*tt.perPeer)
				for i, p := range peers {
					for range tt.perPeer {
						n, _ := strconv.Atoi(recvMsg(t, p).String())
						order[n] = i
					}
				}
			}
			for n := 3; n < len(order); n++ {
				if order[n] != order[n-3] || order[n] == order[n-1] {
					t.Fatalf("turns %v are not a rotation", order)
				}
			}
		})
	}
}

// TestFairQueueing: PULL, DEALER and SUB take turns among their peers, so
// a peer that floods cannot starve the others: the readers of the peers
// queue for the socket's receive queue in turn when it is full. (libzmq's
// turns are strict, one message per pipe with messages; ours are while
// the queue is full, which is when they matter.)
func TestFairQueueing(t *testing.T) {
	tests := []struct {
		name string
		recv Type
		send Type
	}{
		{"PULL from PUSHes", PULL, PUSH},
		{"DEALER from DEALERs", DEALER, DEALER},
		{"SUB from PUBs", SUB, PUB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newSock(t, tt.recv, WithRecvHWM(4))
			if tt.recv == SUB {
				r.Subscribe(nil)
			}
			var senders []*Socket
			for i := range 3 {
				s := newSock(t, tt.send, WithLinger(0))
				connectTo(t, r, bindAny(t, s))
				if tt.send == PUB {
					settleOn(t, s, r, fmt.Sprint("sync", i))
				}
				senders = append(senders, s)
			}
			waitPeers(t, r, 3)
			ctx, stop := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			defer wg.Wait()
			defer stop()
			wg.Go(func() { // sender 0 floods
				for n := 0; ctx.Err() == nil; n++ {
					senders[0].Send(ctx, NewMsgString("flood", strconv.Itoa(n)))
				}
			})
			for k := 0; k < 50; { // the receive queue is full of the flood
				if recvMsg(t, r).String() != "sync0" {
					k++
				}
			}
			const each = 20
			for _, s := range senders[1:] {
				for n := range each {
					mustSend(t, s, "quiet", strconv.Itoa(n))
				}
			}
			// The flood never ends: the quiet messages arrive only if the
			// socket takes turns (recvMsg fails after 10 s).
			quiet, flood := 0, 0
			for quiet < 2*each {
				if string(recvMsg(t, r).Frames[0]) == "quiet" {
					quiet++
				} else {
					flood++
				}
			}
			t.Logf("%d flood messages received meanwhile", flood)
		})
	}
}

// TestHighWaterMarks: PUB drops at the mark and never blocks; PUSH, DEALER,
// REQ and PAIR block until the context's deadline when no peer has room.
func TestHighWaterMarks(t *testing.T) {
	t.Run("PUB drops at the mark, keeping order", func(t *testing.T) {
		pub := newSock(t, PUB, WithSendHWM(5), WithLinger(0))
		sub := newSock(t, SUB, WithRecvHWM(5))
		pair(t, pub, sub)
		sub.Subscribe(nil)
		settleOn(t, pub, sub, "sync")
		big := strings.Repeat("x", 16<<10)
		const n = 2000 // 32 MiB: far beyond both marks and the socket buffers
		for i := range n {
			if err := pub.Send(ctxT(t), NewMsgString(strconv.Itoa(i), big)); err != nil {
				t.Fatal(err)
			}
		}
		got, last := 0, -1
		for { // "end" may be dropped too: send it until it arrives
			if err := pub.Send(ctxT(t), NewMsgString("end")); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(ctxT(t), 100*time.Millisecond)
			m, err := sub.Recv(ctx)
			cancel()
			if ctxT(t).Err() != nil {
				t.Fatal("no end")
			}
			if err != nil || m.String() == "sync" {
				continue
			}
			if m.String() == "end" {
				break
			}
			i, _ := strconv.Atoi(string(m.Frames[0]))
			if i <= last {
				t.Fatalf("message %d after %d", i, last)
			}
			last = i
			got++
		}
		if got >= n {
			t.Fatalf("the subscriber got all %d messages: nothing was dropped", n)
		}
		t.Logf("the subscriber got %d of %d", got, n)
	})
	for _, tt := range []struct {
		name string
		send Type
		peer string // a raw peer that never reads
	}{
		{"PUSH", PUSH, "PULL"},
		{"DEALER", DEALER, "ROUTER"},
		{"PAIR", PAIR, "PAIR"},
	} {
		t.Run(tt.name+" blocks until the deadline", func(t *testing.T) {
			s := newSock(t, tt.send, WithSendHWM(10), WithLinger(0))
			ep, accept := rawListen(t, tt.peer, 1)
			connectTo(t, s, ep)
			accept()
			waitPeers(t, s, 1)
			big := NewMsgString(strings.Repeat("x", 64<<10))
			sent := 0
			for ; sent < 1000; sent++ { // 64 MiB
				ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				err := s.Send(ctx, big)
				cancel()
				if errors.Is(err, context.DeadlineExceeded) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if sent == 1000 {
				t.Fatal("never blocked")
			}
			t.Logf("blocked after %d messages", sent)
		})
	}
	t.Run("REQ blocks until the deadline without a peer", func(t *testing.T) {
		req := newSock(t, REQ, WithLinger(0))
		connectTo(t, req, "tcp://127.0.0.1:1") // nobody there
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if err := req.Send(ctx, NewMsgString("q")); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("send: %v", err)
		}
		mustSendAfterFailedSend(t, req)
	})
}

// mustSendAfterFailedSend: a REQ whose send failed is still free to send.
func mustSendAfterFailedSend(t *testing.T, req *Socket) {
	t.Helper()
	rep := newSock(t, REP)
	ep := bindAny(t, rep)
	req.Disconnect("tcp://127.0.0.1:1")
	connectTo(t, req, ep)
	mustSend(t, req, "again")
	mustRecv(t, rep, "again")
}

// TestContextCancellation: Send and Recv return the context's error, at
// once for a context already done and when it ends while they wait.
func TestContextCancellation(t *testing.T) {
	for _, typ := range []Type{PAIR, PUSH, PULL, DEALER, ROUTER, REQ, REP, SUB, XSUB, XPUB} {
		t.Run(typ.String(), func(t *testing.T) {
			s := newSock(t, typ, WithLinger(0))
			done, cancel := context.WithCancel(context.Background())
			cancel()
			canSend := typ != PULL && typ != SUB && typ != ROUTER && typ != REP && typ != XSUB && typ != XPUB
			canRecv := typ != PUSH && typ != REQ
			if canSend {
				if err := s.Send(done, NewMsgString("x")); !errors.Is(err, context.Canceled) {
					t.Errorf("send, cancelled: %v", err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
				if err := s.Send(ctx, NewMsgString("x")); !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("send, deadline: %v", err)
				}
				cancel()
			}
			if canRecv {
				if _, err := s.Recv(done); !errors.Is(err, context.Canceled) {
					t.Errorf("recv, cancelled: %v", err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(30*time.Millisecond, cancel)
				if _, err := s.Recv(ctx); !errors.Is(err, context.Canceled) {
					t.Errorf("recv, cancelled while waiting: %v", err)
				}
			}
		})
	}
}

// TestSeveralEndpoints: one socket binds tcp and ipc endpoints and
// connects to a third, and gets messages from all three.
func TestSeveralEndpoints(t *testing.T) {
	pull := newSock(t, PULL)
	tcp := bindAny(t, pull)
	ipc := "ipc://" + filepath.Join(t.TempDir(), "pull.sock")
	if err := pull.Bind(ipc); err != nil {
		t.Fatal(err)
	}
	bound := newSock(t, PUSH)
	connectTo(t, pull, bindAny(t, bound))
	a, b := newSock(t, PUSH), newSock(t, PUSH)
	connectTo(t, a, tcp)
	connectTo(t, b, ipc)
	mustSend(t, a, "via tcp")
	mustSend(t, b, "via ipc")
	mustSend(t, bound, "via connect")
	got := map[string]bool{}
	for range 3 {
		got[recvMsg(t, pull).String()] = true
	}
	if diff := cmp.Diff(map[string]bool{"via tcp": true, "via ipc": true, "via connect": true}, got); diff != "" {
		t.Fatalf("received (-want +got):\n%s", diff)
	}
	// One PUSH connected to several endpoints spreads over them.
	p1, p2 := newSock(t, PULL), newSock(t, PULL)
	multi := newSock(t, PUSH)
	connectTo(t, multi, bindAny(t, p1))
	connectTo(t, multi, bindAny(t, p2))
	waitPeers(t, multi, 2)
	mustSend(t, multi, "1")
	mustSend(t, multi, "2")
	m1, m2 := recvMsg(t, p1).String(), recvMsg(t, p2).String()
	if m1 == m2 {
		t.Fatalf("both peers got %q", m1)
	}
}

// TestLinger: Close waits up to the linger period for queued messages,
// and no longer; 0 drops them at once.
func TestLinger(t *testing.T) {
	for _, tt := range []struct {
		linger   time.Duration
		min, max time.Duration
	}{
		{0, 0, time.Second},
		{300 * time.Millisecond, 250 * time.Millisecond, 5 * time.Second},
	} {
		t.Run(tt.linger.String(), func(t *testing.T) {
			push := newSock(t, PUSH, WithLinger(tt.linger), WithSendHWM(10))
			ep, accept := rawListen(t, "PULL", 1)
			connectTo(t, push, ep)
			accept() // never reads: the queue cannot drain
			waitPeers(t, push, 1)
			big := NewMsgString(strings.Repeat("x", 64<<10))
			for range 1000 {
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				err := push.Send(ctx, big)
				cancel()
				if err != nil {
					break
				}
			}
			start := time.Now()
			push.Close()
			if d := time.Since(start); d < tt.min || d > tt.max {
				t.Fatalf("Close took %v, want %v to %v", d, tt.min, tt.max)
			}
		})
	}
}

// TestReqWaitsWhenItsPeerGoes: the REP a request went to disconnects; like
// libzmq's strict REQ, ours waits for that reply until the deadline and
// refuses a second request (ErrState). Recover by closing the socket
// (libzmq's "Lazy Pirate").
func TestReqWaitsWhenItsPeerGoes(t *testing.T) {
	rep, req := newSock(t, REP), newSock(t, REQ)
	pair(t, rep, req)
	mustSend(t, req, "q")
	mustRecv(t, rep, "q")
	rep.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := req.Recv(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("recv: %v", err)
	}
	if err := req.Send(ctxT(t), NewMsgString("q2")); !errors.Is(err, ErrState) {
		t.Fatalf("send: %v, want ErrState", err)
	}
}

// TestXPubVerbose: without verbose an XPUB hears a topic's first subscribe
// and last cancel; with it every subscribe; with verboser every cancel too
// (ZMQ_XPUB_VERBOSE, ZMQ_XPUB_VERBOSER), as libzmq 4.3.4 reports them.
func TestXPubVerbose(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []Option
		want []string
	}{
		{"default", nil, []string{"\x01t", "\x00t", "\x01end"}},
		{"verbose", []Option{WithXPubVerbose()}, []string{"\x01t", "\x01t", "\x01t", "\x00t", "\x01end"}},
		{"verboser", []Option{WithXPubVerboser()}, []string{"\x01t", "\x01t", "\x01t", "\x00t", "\x00t", "\x01end"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			xpub := newSock(t, XPUB, tt.opts...)
			ep := bindAny(t, xpub)
			a, b := newSock(t, XSUB), newSock(t, XSUB)
			connectTo(t, a, ep)
			waitPeers(t, xpub, 1)
			connectTo(t, b, ep)
			waitPeers(t, xpub, 2) // peerList()[0] is a's, [1] b's
			holds := func(i int) bool {
				pp := xpub.pat.(*pubPattern)
				pp.mu.RLock()
				defer pp.mu.RUnlock()
				set := pp.subs[xpub.peerList()[i]]
				return set != nil && set.counts["t"] > 0
			}
			// Steps on one peer arrive in order; across the two, wait
			// until the XPUB has applied the first peer's.
			mustSend(t, a, "\x01t")
			mustSend(t, a, "\x01t") // the same peer twice
			eventually(t, "a holds t", func() bool { return holds(0) })
			mustSend(t, b, "\x01t")
			eventually(t, "b holds t", func() bool { return holds(1) })
			mustSend(t, a, "\x00never") // XSUB holds no "never": nothing sent
			mustSend(t, a, "\x00t")
			mustSend(t, a, "\x00t") // XSUB's count reaches 0: the cancel goes; b still holds t
			eventually(t, "a dropped t", func() bool { return !holds(0) })
			mustSend(t, b, "\x00t")
			mustSend(t, b, "\x00t") // nothing left to cancel
			mustSend(t, b, "\x01end")
			var got []string
			for {
				m := recvMsg(t, xpub)
				got = append(got, m.String())
				if m.String() == "\x01end" {
					break
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("notifications (-want +got):\n%s", diff)
			}
		})
	}
}
