//go:build libzmq

package interop

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	zmq "github.com/pebbe/zmq4"

	"github.com/zmtpgo/zmtp/fsm"
	"github.com/zmtpgo/zmtp/sockets"
	"github.com/zmtpgo/zmtp/transport"
)

// The socket semantics of sockets/semantics_test.go, with libzmq 4.3.4 on
// the other end, and where the two can be compared, libzmq's own socket
// doing the same thing beside ours.

// zerrno is the libzmq error number in err, which may be wrapped.
func zerrno(err error) zmq.Errno {
	var se syscall.Errno
	if errors.As(err, &se) {
		return zmq.Errno(se)
	}
	var ze zmq.Errno
	if errors.As(err, &ze) {
		return ze
	}
	return 0
}

// isEAGAIN reports libzmq's "resource temporarily unavailable": a receive
// or send timeout (ZMQ_RCVTIMEO, ZMQ_SNDTIMEO).
func isEAGAIN(err error) bool { return zerrno(err) == zmq.Errno(syscall.EAGAIN) }

// TestHighWaterMarksWithLibzmq: a peer that never reads makes PUSH, DEALER
// and a mandatory ROUTER block until the deadline (ours: the context;
// libzmq's: ZMQ_SNDTIMEO, then EAGAIN), and never a PUB, ours or
// libzmq's, which drops.
func TestHighWaterMarksWithLibzmq(t *testing.T) {
	big := strings.Repeat("x", 64<<10)
	// fill sends until a send times out, and returns how many went.
	fill := func(t *testing.T, send func() error) int {
		t.Helper()
		for n := range 2000 { // 128 MiB: far beyond the marks and the socket buffers
			if err := send(); err != nil {
				if errors.Is(err, context.DeadlineExceeded) || isEAGAIN(err) {
					return n
				}
				t.Fatalf("send %d: %v", n, err)
			}
		}
		t.Fatal("2000 sends and none blocked")
		return 0
	}
	oursSend := func(s *sockets.Socket, frames ...string) func() error {
		return func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			return s.Send(ctx, sockets.NewMsgString(frames...))
		}
	}
	zmqSend := func(s *zmq.Socket, frames ...string) func() error {
		return func() error { return zsendErr(s, bs(frames...)...) }
	}
	hwm := func(n int) func(*zmq.Socket) error {
		return func(s *zmq.Socket) error {
			if err := s.SetSndhwm(n); err != nil {
				return err
			}
			if err := s.SetRcvhwm(n); err != nil {
				return err
			}
			return s.SetSndtimeo(100 * time.Millisecond)
		}
	}
	tests := []struct {
		name  string
		ours  sockets.Type
		zmq   zmq.Type
		oopts []sockets.Option
		zopts []func(*zmq.Socket) error
		run   func(t *testing.T, o *sockets.Socket, z *zmq.Socket)
	}{
		{"ours PUSH blocks on libzmq PULL", sockets.PUSH, zmq.PULL, nil, nil, func(t *testing.T, o *sockets.Socket, z *zmq.Socket) {
			t.Logf("blocked after %d", fill(t, oursSend(o, big)))
		}},
		{"libzmq PUSH blocks on ours PULL", sockets.PULL, zmq.PUSH, nil, nil, func(t *testing.T, o *sockets.Socket, z *zmq.Socket) {
			t.Logf("blocked after %d", fill(t, zmqSend(z, big)))
		}},
		{"ours DEALER blocks on libzmq ROUTER", sockets.DEALER, zmq.ROUTER, nil, nil, func(t *testing.T, o *sockets.Socket, z *zmq.Socket) {
			t.Logf("blocked after %d", fill(t, oursSend(o, big)))
		}},
		{"ours mandatory ROUTER blocks on libzmq DEALER", sockets.ROUTER, zmq.DEALER,
			[]sockets.Option{sockets.WithRouterMandatory()}, []func(*zmq.Socket) error{func(s *zmq.Socket) error { return s.SetIdentity("d") }},
			func(t *testing.T, o *sockets.Socket, z *zmq.Socket) {
				zsend(t, z, "hello") // so the ROUTER knows "d" is up
				orecv(t, o, "d", "hello")
				t.Logf("blocked after %d", fill(t, oursSend(o, "d", big)))
			}},
		{"libzmq mandatory ROUTER blocks on ours DEALER", sockets.DEALER, zmq.ROUTER,
			[]sockets.Option{sockets.WithIdentity([]byte("d"))}, []func(*zmq.Socket) error{func(s *zmq.Socket) error { return s.SetRouterMandatory(1) }},
			func(t *testing.T, o *sockets.Socket, z *zmq.Socket) {
				osend(t, o, "hello")
				zrecv(t, z, "d", "hello")
				t.Logf("blocked after %d", fill(t, zmqSend(z, "d", big)))
			}},
		{"ours PUB never blocks on libzmq SUB", sockets.PUB, zmq.SUB, nil, []func(*zmq.Socket) error{func(s *zmq.Socket) error { return s.SetSubscribe("") }},
			func(t *testing.T, o *sockets.Socket, z *zmq.Socket) {
				settleOn(t, oursEnd{o}, zmqEnd{z}, "sync")
				start := time.Now()
				for range 2000 {
					osend(t, o, big)
				}
				t.Logf("2000 sends in %v", time.Since(start))
			}},
		{"libzmq PUB never blocks on ours SUB", sockets.SUB, zmq.PUB, nil, nil,
			func(t *testing.T, o *sockets.Socket, z *zmq.Socket) {
				o.Subscribe(nil)
				settleOn(t, zmqEnd{z}, oursEnd{o}, "sync")
				for range 2000 {
					zsend(t, z, big)
				}
			}},
	}
	for _, tt := range tests {
		for _, topo := range topologies {
			t.Run(tt.name+"/"+topo.name, func(t *testing.T) {
				oopts := append([]sockets.Option{sockets.WithSendHWM(10), sockets.WithRecvHWM(10), sockets.WithLinger(0)}, tt.oopts...)
				zopts := append([]func(*zmq.Socket) error{hwm(10)}, tt.zopts...)
				o, z := connectPair(t, topo, tt.ours, tt.zmq, oopts, zopts)
				tt.run(t, o, z)
			})
		}
	}
}

// TestRoundRobinWithLibzmq: a PUSH, ours or libzmq's, hands three PULLs of
// the other side strict turns, as libzmq's load balancer does.
func TestRoundRobinWithLibzmq(t *testing.T) {
	const rounds = 10
	// check maps each message number to the peer that got it and checks
	// the turns rotate.
	check := func(t *testing.T, recv []func() (string, bool)) {
		t.Helper()
		order := map[int]int{}
		for i, r := range recv {
			for {
				m, ok := r()
				if !ok {
					break
				}
				if strings.HasPrefix(m, "warm") {
					continue
				}
				n, _ := strconv.Atoi(m)
				order[n] = i
			}
		}
		if len(order) != 3*rounds {
			t.Fatalf("received %d of %d", len(order), 3*rounds)
		}
		for n := 3; n < 3*rounds; n++ {
			if order[n] != order[n-3] || order[n] == order[n-1] {
				t.Fatalf("turns %v are not a rotation", order)
			}
		}
	}
	t.Run("libzmq PUSH to ours PULLs", func(t *testing.T) {
		c := zctx(t)
		push := zsock(t, c, zmq.PUSH)
		var pulls []*sockets.Socket
		for range 3 {
			p := ours(t, sockets.PULL)
			zconnect(t, push, obind(t, p, "127.0.0.1"))
			pulls = append(pulls, p)
		}
		// Warm up until each PULL has had one: libzmq attaches its
		// connections as they come.
		warm(t, func(n int) { zsend(t, push, fmt.Sprint("warm", n)) }, len(pulls), func(i int) bool {
			_, err := recvWithin(pulls[i], 5*time.Millisecond)
			return err == nil
		})
		for n := range 3 * rounds {
			zsend(t, push, strconv.Itoa(n))
		}
		var recv []func() (string, bool)
		for _, p := range pulls {
			recv = append(recv, func() (string, bool) {
				m, err := recvWithin(p, 200*time.Millisecond)
				return m.String(), err == nil
			})
		}
		check(t, recv)
	})
	t.Run("ours PUSH to libzmq PULLs", func(t *testing.T) {
		c := zctx(t)
		push := ours(t, sockets.PUSH)
		var pulls []*zmq.Socket
		for range 3 {
			p := zsock(t, c, zmq.PULL)
			oconnect(t, push, zbind(t, p, "127.0.0.1"))
			pulls = append(pulls, p)
		}
		warm(t, func(n int) { osend(t, push, fmt.Sprint("warm", n)) }, len(pulls), func(i int) bool {
			_, ok := zmqEnd{pulls[i]}.tryRecv(t, 5*time.Millisecond)
			return ok
		})
		for n := range 3 * rounds {
			osend(t, push, strconv.Itoa(n))
		}
		var recv []func() (string, bool)
		for _, p := range pulls {
			recv = append(recv, func() (string, bool) {
				m, ok := zmqEnd{p}.tryRecv(t, 200*time.Millisecond)
				return strings.Join(m, "|"), ok
			})
		}
		check(t, recv)
	})
}

// warm sends numbered messages until got(i) has been true for each of n
// receivers.
func warm(t *testing.T, send func(n int), n int, got func(i int) bool) {
	t.Helper()
	seen := make([]bool, n)
	deadline := time.Now().Add(timeout)
	for k, left := 0, n; left > 0; k++ {
		if time.Now().After(deadline) {
			t.Fatalf("not every peer received within %v: %v", timeout, seen)
		}
		send(k)
		for i := range seen {
			if !seen[i] && got(i) {
				seen[i] = true
				left--
			}
		}
	}
}

// TestFairQueueingWithLibzmq: a receiver, ours or libzmq's, fed by one
// peer that floods and two that send a little, all of the other side,
// gets the quiet peers' messages while the flood goes on.
func TestFairQueueingWithLibzmq(t *testing.T) {
	const each = 20
	t.Run("ours PULL from libzmq PUSHes", func(t *testing.T) {
		c := zctx(t)
		pull := ours(t, sockets.PULL, sockets.WithRecvHWM(4))
		ep := obind(t, pull, "127.0.0.1")
		flood := zsock(t, c, zmq.PUSH, func(s *zmq.Socket) error { return s.SetSndtimeo(20 * time.Millisecond) })
		zconnect(t, flood, ep)
		zgo(t, func(stop *atomic.Bool) error {
			for n := 0; !stop.Load(); n++ {
				// One frame: a multipart send cut by EAGAIN after its first
				// frame leaves a half message that libzmq 4.3.4 asserts on
				// (session_base.cpp:260) when the connection then closes.
				zsendErr(flood, []byte("flood"+strconv.Itoa(n))) // EAGAIN when full: look at stop
			}
			return nil
		})
		for range 50 { // the flood is on
			orecvBytes(t, pull)
		}
		for range 2 {
			q := zsock(t, c, zmq.PUSH)
			zconnect(t, q, ep)
			for n := range each {
				zsend(t, q, "quiet", strconv.Itoa(n))
			}
		}
		quiet := 0
		for quiet < 2*each { // orecvBytes fails after the timeout
			if string(orecvBytes(t, pull)[0]) == "quiet" {
				quiet++
			}
		}
	})
	t.Run("libzmq PULL from ours PUSHes", func(t *testing.T) {
		c := zctx(t)
		pull := zsock(t, c, zmq.PULL, func(s *zmq.Socket) error { return s.SetRcvhwm(4) })
		ep := zbind(t, pull, "127.0.0.1")
		flood := ours(t, sockets.PUSH, sockets.WithLinger(0))
		oconnect(t, flood, ep)
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		defer wg.Wait()
		defer stop()
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				flood.Send(ctx, sockets.NewMsgString("flood", strconv.Itoa(n)))
			}
		})
		for range 50 {
			zrecvBytes(t, pull)
		}
		for range 2 {
			q := ours(t, sockets.PUSH)
			oconnect(t, q, ep)
			for n := range each {
				osend(t, q, "quiet", strconv.Itoa(n))
			}
		}
		quiet := 0
		for quiet < 2*each {
			if string(zrecvBytes(t, pull)[0]) == "quiet" {
				quiet++
			}
		}
	})
}

// TestRouterIdentitiesWithLibzmq: a duplicate Identity is handled as
// libzmq's ROUTER handles it (the second peer ignored), generated ids
// have libzmq's form, and ROUTER_MANDATORY fails the same way.
func TestRouterIdentitiesWithLibzmq(t *testing.T) {
	t.Run("duplicate Identity", func(t *testing.T) {
		// The same scenario against our ROUTER and libzmq's: what each
		// side ends up with.
		type result struct {
			Router, First, Second [][]string
		}
		run := func(t *testing.T, router end, ep string) result {
			c := zctx(t)
			var r result
			first := zsock(t, c, zmq.DEALER, func(s *zmq.Socket) error { return s.SetIdentity("x") })
			zconnect(t, first, ep)
			zsend(t, first, "a1")
			r.Router = append(r.Router, router.recv(t))
			second := zsock(t, c, zmq.DEALER, func(s *zmq.Socket) error { return s.SetIdentity("x") })
			zev := zmonitor(t, c, second)
			zconnect(t, second, ep)
			zev(zmq.EVENT_HANDSHAKE_SUCCEEDED)
			zsend(t, second, "b1")
			zsend(t, second, "b2")
			zsend(t, first, "a2")
			router.send(t, "x", "to x")
			for _, e := range []struct {
				e   end
				out *[][]string
			}{{router, &r.Router}, {zmqEnd{first}, &r.First}, {zmqEnd{second}, &r.Second}} {
				for {
					m, ok := e.e.tryRecv(t, 200*time.Millisecond)
					if !ok {
						break
					}
					*e.out = append(*e.out, m)
				}
			}
			return r
		}
		c := zctx(t)
		zr := zsock(t, c, zmq.ROUTER)
		want := run(t, zmqEnd{zr}, zbind(t, zr, "127.0.0.1"))
		or := ours(t, sockets.ROUTER)
		got := run(t, oursEnd{or}, obind(t, or, "127.0.0.1"))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ours (+) and libzmq's (-) ROUTER differ:\n%s", diff)
		}
		t.Logf("both: %+v", got)
	})
	t.Run("generated ids", func(t *testing.T) {
		for _, topo := range topologies {
			o, z := connectPair(t, topo, sockets.ROUTER, zmq.DEALER, nil, nil)
			zsend(t, z, "hi")
			if id := orecvBytes(t, o)[0]; len(id) != 5 || id[0] != 0 {
				t.Errorf("ours gave libzmq's DEALER the id %q", id)
			}
			o2, z2 := connectPair(t, topo, sockets.DEALER, zmq.ROUTER, nil, nil)
			osend(t, o2, "hi")
			if id := zrecvBytes(t, z2)[0]; len(id) != 5 || id[0] != 0 {
				t.Errorf("libzmq gave our DEALER the id %q", id)
			}
		}
	})
	t.Run("mandatory", func(t *testing.T) {
		o := ours(t, sockets.ROUTER, sockets.WithRouterMandatory())
		if err := o.Send(ctxT(t), sockets.NewMsgString("nobody", "x")); !errors.Is(err, sockets.ErrUnroutable) {
			t.Errorf("ours: %v, want ErrUnroutable", err)
		}
		z := zsock(t, zctx(t), zmq.ROUTER, func(s *zmq.Socket) error { return s.SetRouterMandatory(1) })
		if err := zsendErr(z, []byte("nobody"), []byte("x")); zerrno(err) != zmq.Errno(syscall.EHOSTUNREACH) {
			t.Errorf("libzmq: %v, want EHOSTUNREACH", err)
		}
	})
}

// TestReqWhenItsPeerGoesWithLibzmq: the REP a request went to closes; REQ,
// ours and libzmq's alike, waits for the reply until the deadline, then
// refuses a second request (EFSM, ErrState).
func TestReqWhenItsPeerGoesWithLibzmq(t *testing.T) {
	t.Run("ours REQ, libzmq REP", func(t *testing.T) {
		c := zctx(t)
		rep := zsock(t, c, zmq.REP)
		req := ours(t, sockets.REQ)
		oconnect(t, req, zbind(t, rep, "127.0.0.1"))
		osend(t, req, "q")
		zrecv(t, rep, "q")
		rep.Close()
		if _, err := recvWithin(req, 200*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("recv: %v", err)
		}
		if err := req.Send(ctxT(t), sockets.NewMsgString("q2")); !errors.Is(err, sockets.ErrState) {
			t.Fatalf("send: %v, want ErrState", err)
		}
	})
	t.Run("libzmq REQ, ours REP", func(t *testing.T) {
		c := zctx(t)
		rep, err := sockets.New(sockets.REP)
		if err != nil {
			t.Fatal(err)
		}
		defer rep.Close()
		req := zsock(t, c, zmq.REQ, func(s *zmq.Socket) error { return s.SetRcvtimeo(200 * time.Millisecond) })
		zconnect(t, req, obind(t, rep, "127.0.0.1"))
		zsend(t, req, "q")
		orecv(t, rep, "q")
		rep.Close()
		if _, err := req.RecvMessage(0); !isEAGAIN(err) {
			t.Fatalf("recv: %v, want EAGAIN", err)
		}
		if err := zsendErr(req, []byte("q2")); zerrno(err) != zmq.EFSM {
			t.Fatalf("send: %v, want EFSM", err)
		}
	})
}

// TestMonitorEventsWithLibzmq follows our socket's events through a
// connection's life with a libzmq peer, in both topologies.
func TestMonitorEventsWithLibzmq(t *testing.T) {
	type seen struct {
		Kind   transport.EventKind
		Reason fsm.Reason
	}
	take := func(evs *events, last transport.EventKind) []seen {
		t.Helper()
		var out []seen
		deadline := time.After(timeout)
		for {
			select {
			case e := <-evs.ch:
				if e.Endpoint == "" || (e.Kind != transport.EventListening && e.Kind != transport.EventClosed && e.Kind != transport.EventConnectRetried && e.Kind != transport.EventConnectDelayed && e.Peer == "") {
					t.Errorf("event without its endpoint or peer: %v", e)
				}
				out = append(out, seen{e.Kind, e.Reason})
				if e.Kind == last {
					return out
				}
			case <-deadline:
				t.Fatalf("no %v; saw %v", last, out)
			}
		}
	}
	t.Run("ours binds", func(t *testing.T) {
		c := zctx(t)
		evs := newEvents()
		o := ours(t, sockets.PULL, sockets.WithMonitor(evs.add))
		ep := obind(t, o, "127.0.0.1")
		z := zsock(t, c, zmq.PUSH)
		zconnect(t, z, ep)
		zsend(t, z, "hi")
		orecv(t, o, "hi")
		z.Close()
		want := []seen{
			{transport.EventListening, 0},
			{transport.EventAccepted, 0},
			{transport.EventHandshakeSucceeded, 0},
			{transport.EventDisconnected, fsm.ReasonPeerClosed},
			{transport.EventClosed, fsm.ReasonPeerClosed},
		}
		if diff := cmp.Diff(want, take(evs, transport.EventClosed)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		o.Close()
		if diff := cmp.Diff([]seen{{transport.EventClosed, 0}}, take(evs, transport.EventClosed)); diff != "" {
			t.Errorf("at Close (-want +got):\n%s", diff)
		}
	})
	t.Run("ours connects", func(t *testing.T) {
		c := zctx(t)
		evs := newEvents()
		o := ours(t, sockets.PUSH, sockets.WithMonitor(evs.add), sockets.WithReconnectIvl(20*time.Millisecond))
		z := zsock(t, c, zmq.PULL)
		oconnect(t, o, zbind(t, z, "127.0.0.1"))
		osend(t, o, "hi")
		zrecv(t, z, "hi")
		z.Close() // the endpoint goes away: we redial and are refused
		want := []seen{
			{transport.EventConnected, 0},
			{transport.EventHandshakeSucceeded, 0},
			{transport.EventDisconnected, fsm.ReasonPeerClosed},
			{transport.EventConnectRetried, 0},
		}
		got := take(evs, transport.EventConnectRetried)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if got := take(evs, transport.EventConnectDelayed); got[len(got)-1].Kind != transport.EventConnectDelayed {
			t.Errorf("after the retry: %v", got)
		}
	})
}

// TestLingerWithLibzmq: Close on our PUSH with messages still queued
// delivers them all to libzmq's PULL within the linger period.
func TestLingerWithLibzmq(t *testing.T) {
	c := zctx(t)
	z := zsock(t, c, zmq.PULL)
	o, err := sockets.New(sockets.PUSH, sockets.WithLinger(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	oconnect(t, o, zbind(t, z, "127.0.0.1"))
	const n = 500
	for i := range n {
		osend(t, o, strconv.Itoa(i), strings.Repeat("x", 1000))
	}
	o.Close()
	for i := range n {
		if m := zrecvBytes(t, z); string(m[0]) != strconv.Itoa(i) {
			t.Fatalf("message %d: %q", i, m[0])
		}
	}
}

// TestSeveralEndpointsWithLibzmq: our PULL bound on tcp and ipc, and
// connected to a third endpoint, takes libzmq PUSHes on all three; our
// PUSH connected to two libzmq PULLs, one bound only after the connect,
// feeds both.
func TestSeveralEndpointsWithLibzmq(t *testing.T) {
	c := zctx(t)
	pull := ours(t, sockets.PULL)
	tcp := obind(t, pull, "127.0.0.1")
	ipc := "ipc://" + filepath.Join(t.TempDir(), "pull.sock")
	if err := pull.Bind(ipc); err != nil {
		t.Fatal(err)
	}
	bound := zsock(t, c, zmq.PUSH)
	oconnect(t, pull, zbind(t, bound, "127.0.0.1"))
	for _, ep := range []string{tcp, ipc} {
		p := zsock(t, c, zmq.PUSH)
		zconnect(t, p, ep)
		zsend(t, p, "via "+ep)
	}
	zsend(t, bound, "via connect")
	got := map[string]bool{}
	for range 3 {
		got[string(orecvBytes(t, pull)[0])] = true
	}
	if diff := cmp.Diff(map[string]bool{"via " + tcp: true, "via " + ipc: true, "via connect": true}, got); diff != "" {
		t.Errorf("received (-want +got):\n%s", diff)
	}

	p1, p2 := zsock(t, c, zmq.PULL), zsock(t, c, zmq.PULL)
	push := ours(t, sockets.PUSH, sockets.WithReconnectIvl(10*time.Millisecond))
	oconnect(t, push, zbind(t, p1, "127.0.0.1"))
	later := "ipc://" + filepath.Join(t.TempDir(), "p2.sock")
	oconnect(t, push, later)
	if err := p2.Bind(later); err != nil {
		t.Fatal(err)
	}
	warm(t, func(n int) { osend(t, push, strconv.Itoa(n)) }, 2, func(i int) bool {
		_, ok := zmqEnd{[]*zmq.Socket{p1, p2}[i]}.tryRecv(t, 5*time.Millisecond)
		return ok
	})
}
