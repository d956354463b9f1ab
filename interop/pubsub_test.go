//go:build libzmq

package interop

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	zmq "github.com/pebbe/zmq4"

	"github.com/zmtpgo/zmtp/internal/rawpeer"
	"github.com/zmtpgo/zmtp/internal/settle"
	"github.com/zmtpgo/zmtp/sockets"
)

// pubsubCase is a publisher and a subscriber, one ours, one libzmq's.
type pubsubCase struct {
	oursPub bool
	ours    sockets.Type
	zmq     zmq.Type
}

var pubsubCases = []pubsubCase{
	{true, sockets.PUB, zmq.SUB},
	{true, sockets.PUB, zmq.XSUB},
	{true, sockets.XPUB, zmq.SUB},
	{true, sockets.XPUB, zmq.XSUB},
	{false, sockets.SUB, zmq.PUB},
	{false, sockets.SUB, zmq.XPUB},
	{false, sockets.XSUB, zmq.PUB},
	{false, sockets.XSUB, zmq.XPUB},
}

// TestPubSub runs prefix filtering on the publisher's side, multipart
// messages and counted subscriptions between every publisher and
// subscriber type of ours and libzmq's, in both topologies; an XPUB (ours
// or libzmq's) must see exactly the subscriptions libzmq's XPUB reports:
// a topic's first subscribe and last cancel, in order.
func TestPubSub(t *testing.T) {
	for _, tc := range pubsubCases {
		for _, topo := range topologies {
			o, z := tc.ours.String(), tc.zmq.String()
			name := "ours " + o + " to libzmq " + z
			if !tc.oursPub {
				name = "libzmq " + z + " to ours " + o
			}
			t.Run(name+"/"+topo.name, func(t *testing.T) {
				os, zs := connectPair(t, topo, tc.ours, tc.zmq, nil, nil)
				var pub, sub end = oursEnd{os}, zmqEnd{zs}
				if !tc.oursPub {
					pub, sub = sub, pub
				}
				sub.subscribe(t, "sync")
				sub.subscribe(t, "news.")
				sub.subscribe(t, "a")
				sub.subscribe(t, "a") // counted: needs two cancels
				sub.unsubscribe(t, "a")
				settleOn(t, pub, sub, "sync")
				pub.send(t, "sports.x", "dropped")
				pub.send(t, "news.world", "kept", "3 frames")
				pub.send(t, "a1")
				recvEq(t, sub, "news.world", "kept", "3 frames")
				recvEq(t, sub, "a1")

				sub.unsubscribe(t, "a") // the second: gone
				sub.subscribe(t, "sync2")
				settleOn(t, pub, sub, "sync2")
				pub.send(t, "a2")
				pub.send(t, "news.2")
				recvEq(t, sub, "news.2") // and not a2 before it

				if tc.ours == sockets.XPUB || tc.zmq == zmq.XPUB {
					var got []string
					for {
						m, ok := pub.tryRecv(t, 100*time.Millisecond)
						if !ok {
							break
						}
						got = append(got, m...)
					}
					// Subscriptions made before the connection is up are sent
					// when it comes up, in an order of libzmq's: the first
					// three in any order.
					if len(got) > 3 {
						slices.Sort(got[:3])
					}
					want := []string{"\x01a", "\x01news.", "\x01sync", "\x00a", "\x01sync2"}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("%v saw subscriptions (-want +got):\n%s", pub, diff)
					}
				}
			})
		}
	}
}

// TestXPubVerboseAgainstLibzmq: our XPUB with WithXPubVerbose and
// WithXPubVerboser reports what libzmq's XPUB reports with
// ZMQ_XPUB_VERBOSE and ZMQ_XPUB_VERBOSER, for the same libzmq XSUB doing
// the same things.
func TestXPubVerboseAgainstLibzmq(t *testing.T) {
	for _, mode := range []string{"default", "verbose", "verboser"} {
		t.Run(mode, func(t *testing.T) {
			run := func(pub end, xsub *zmq.Socket) []string {
				x := zmqEnd{xsub}
				x.subscribe(t, "t")
				x.subscribe(t, "t")
				x.unsubscribe(t, "t")
				x.unsubscribe(t, "t")
				x.subscribe(t, "end")
				var got []string
				for {
					m := pub.recv(t)
					got = append(got, m...)
					if m[0] == "\x01end" {
						return got
					}
				}
			}
			c := zctx(t)
			var oopts []sockets.Option
			zopt := func(s *zmq.Socket) error { return nil }
			switch mode {
			case "verbose":
				oopts = append(oopts, sockets.WithXPubVerbose())
				zopt = func(s *zmq.Socket) error { return s.SetXpubVerbose(1) }
			case "verboser":
				oopts = append(oopts, sockets.WithXPubVerboser())
				zopt = func(s *zmq.Socket) error { return s.SetXpubVerboser(1) }
			}
			o := ours(t, sockets.XPUB, oopts...)
			oxsub := zsock(t, c, zmq.XSUB)
			zconnect(t, oxsub, obind(t, o, "127.0.0.1"))
			z := zsock(t, c, zmq.XPUB, zopt)
			zxsub := zsock(t, c, zmq.XSUB)
			zconnect(t, zxsub, zbind(t, z, "127.0.0.1"))
			// libzmq's XSUB forwards each subscribe and the last cancel;
			// libzmq's XPUB decides what of that it reports.
			want := run(zmqEnd{z}, zxsub)
			got := run(oursEnd{o}, oxsub)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ours (+) and libzmq's (-) XPUB reported differently:\n%s", diff)
			}
			t.Logf("both reported %q", got)
		})
	}
}

// TestXPubXSubProxy forwards subscriptions and messages through an
// XPUB/XSUB proxy, ours between libzmq ends and libzmq's (zmq_proxy)
// between ours. The upstream publisher is an XPUB so the test sees each
// subscription and cancel arrive.
func TestXPubXSubProxy(t *testing.T) {
	t.Run("ours as the proxy", func(t *testing.T) {
		c := zctx(t)
		upstream := zsock(t, c, zmq.XPUB)
		xsub := ours(t, sockets.XSUB)
		oconnect(t, xsub, zbind(t, upstream, "127.0.0.1"))
		xpub := ours(t, sockets.XPUB)
		sub := zsock(t, c, zmq.SUB)
		zconnect(t, sub, obind(t, xpub, "127.0.0.1"))
		stop := oursProxy(t, xpub, xsub)
		defer stop()
		checkProxied(t, zmqEnd{upstream}, zmqEnd{sub})
	})
	t.Run("libzmq as the proxy", func(t *testing.T) {
		c := zctx(t)
		upstream := ours(t, sockets.XPUB)
		xsub := zsock(t, c, zmq.XSUB)
		zconnect(t, xsub, obind(t, upstream, "127.0.0.1"))
		xpub := zsock(t, c, zmq.XPUB)
		sub := ours(t, sockets.SUB)
		oconnect(t, sub, zbind(t, xpub, "127.0.0.1"))
		zproxy(t, c, xpub, xsub)
		checkProxied(t, oursEnd{upstream}, oursEnd{sub})
	})
}

// checkProxied: the subscriber's subscription reaches the upstream XPUB
// through the proxy, messages come back down, and the cancel goes up.
func checkProxied(t *testing.T, upstream, sub end) {
	t.Helper()
	sub.subscribe(t, "t")
	recvEq(t, upstream, "\x01t")
	settleOn(t, upstream, sub, "t-sync")
	upstream.send(t, "u dropped")
	upstream.send(t, "t1", "two frames")
	recvEq(t, sub, "t1", "two frames")
	sub.unsubscribe(t, "t")
	recvEq(t, upstream, "\x00t")
}

// oursProxy forwards between two of our sockets like zmq_proxy.
func oursProxy(t *testing.T, a, b *sockets.Socket) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	pipe := func(from, to *sockets.Socket) {
		defer func() { done <- struct{}{} }()
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
	go pipe(a, b)
	go pipe(b, a)
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		<-done
		<-done
	}
	t.Cleanup(stop)
	return stop
}

// zproxy runs zmq_proxy_steerable(front, back) on a goroutine of its own
// (libzmq sockets belong to one thread at a time) until the test ends,
// when a TERMINATE on its control socket stops it before the sockets close.
func zproxy(t *testing.T, c *zmq.Context, front, back *zmq.Socket) {
	t.Helper()
	addr := fmt.Sprintf("inproc://proxy-control-%p", front)
	control := zsock(t, c, zmq.PAIR)
	if err := control.Bind(addr); err != nil {
		t.Fatal(err)
	}
	steer := zsock(t, c, zmq.PAIR)
	zconnect(t, steer, addr)
	wait := zgo(t, func(*atomic.Bool) error { return zmq.ProxySteerable(front, back, nil, control) })
	t.Cleanup(func() { // registered last, runs first
		zsend(t, steer, "TERMINATE")
		wait()
	})
}

// TestReqThroughRouterDealerProxy: REQ clients and REP servers talk
// through a ROUTER/DEALER proxy, ours between libzmq's, and libzmq's
// between ours; each request is answered by one server, in order.
func TestReqThroughRouterDealerProxy(t *testing.T) {
	t.Run("ours as the proxy", func(t *testing.T) {
		c := zctx(t)
		front, back := ours(t, sockets.ROUTER), ours(t, sockets.DEALER)
		feFront, feBack := obind(t, front, "127.0.0.1"), obind(t, back, "127.0.0.1")
		for i := range 2 {
			rep := zsock(t, c, zmq.REP, func(s *zmq.Socket) error { return s.SetRcvtimeo(50 * time.Millisecond) })
			zconnect(t, rep, feBack)
			zgo(t, func(stop *atomic.Bool) error { return zmqEcho(rep, i, stop) })
		}
		oursProxy(t, front, back)
		for i := range 3 {
			req := zsock(t, c, zmq.REQ)
			zconnect(t, req, feFront)
			for n := range 4 {
				q := fmt.Sprintf("c%d-%d", i, n)
				zsend(t, req, q)
				if m := strs(zrecvBytes(t, req)); len(m) != 2 || m[1] != q {
					t.Fatalf("reply %q to %q", m, q)
				}
			}
		}
	})
	t.Run("libzmq as the proxy", func(t *testing.T) {
		c := zctx(t)
		front, back := zsock(t, c, zmq.ROUTER), zsock(t, c, zmq.DEALER)
		feFront, feBack := zbind(t, front, "127.0.0.1"), zbind(t, back, "127.0.0.1")
		for i := range 2 {
			rep := ours(t, sockets.REP)
			oconnect(t, rep, feBack)
			go oursEcho(rep, i)
		}
		zproxy(t, c, front, back)
		for i := range 3 {
			req := ours(t, sockets.REQ)
			oconnect(t, req, feFront)
			for n := range 4 {
				q := fmt.Sprintf("c%d-%d", i, n)
				osend(t, req, q)
				if m := strs(orecvBytes(t, req)); len(m) != 2 || m[1] != q {
					t.Fatalf("reply %q to %q", m, q)
				}
			}
		}
	})
}

// zmqEcho answers each request on a libzmq REP with [id, request] until
// stop; the socket's short receive timeout lets it look at stop.
func zmqEcho(rep *zmq.Socket, id int, stop *atomic.Bool) error {
	for !stop.Load() {
		m, err := rep.RecvMessageBytes(0)
		if err != nil {
			continue
		}
		if err := zsendErr(rep, []byte(strconv.Itoa(id)), m[len(m)-1]); err != nil {
			return err
		}
	}
	return nil
}

// oursEcho answers each request on our REP with [id, request] until the
// socket closes.
func oursEcho(rep *sockets.Socket, id int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for {
		m, err := rep.Recv(ctx)
		if err != nil {
			return
		}
		if rep.Send(ctx, sockets.NewMsg([]byte(strconv.Itoa(id)), m.Frames[len(m.Frames)-1])) != nil {
			return
		}
	}
}

// TestSubscriptionsZMTP30: a ZMTP 3.0 peer (libzmq before 4.3.3) sends and
// expects subscriptions as messages, 1 or 0 then the topic. libzmq 4.3.4
// and ours do the same toward such a peer, and take such messages from it.
func TestSubscriptionsZMTP30(t *testing.T) {
	// What each sends a 3.0 publisher for subscribe "t", subscribe "t"
	// again (counted), two cancels (the last goes), as frames.
	want := []frame{{Body: "\x01t"}, {Body: "\x01t"}, {Body: "\x00t"}}
	t.Run("SUB to a 3.0 publisher", func(t *testing.T) {
		c := zctx(t)
		for _, sub := range []func(ep string) end{
			func(ep string) end { s := zsock(t, c, zmq.SUB); zconnect(t, s, ep); return zmqEnd{s} },
			func(ep string) end { s := ours(t, sockets.SUB); oconnect(t, s, ep); return oursEnd{s} },
			func(ep string) end { s := ours(t, sockets.XSUB); oconnect(t, s, ep); return oursEnd{s} },
		} {
			ep, accept := rawZMTPListen(t, "PUB", 0)
			s := sub(ep)
			raw := accept()
			// A subscription made before the connection is up is sent
			// once when it comes up, however often it was made: wait for
			// that first.
			s.subscribe(t, "sync")
			if f := mustNext(raw); f.Body != "\x01sync" {
				t.Fatalf("%v sent %+v first", s, f)
			}
			s.subscribe(t, "t")
			s.subscribe(t, "t")
			s.unsubscribe(t, "t")
			s.unsubscribe(t, "t")
			var got []frame
			for range want {
				got = append(got, mustNext(raw))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%v sent a 3.0 publisher (-want +got):\n%s", s, diff)
			}
		}
	})
	t.Run("3.0 subscriber to a publisher", func(t *testing.T) {
		c := zctx(t)
		for _, pub := range []func() (end, string){
			func() (end, string) { s := zsock(t, c, zmq.PUB); return zmqEnd{s}, zbind(t, s, "127.0.0.1") },
			func() (end, string) { s := ours(t, sockets.PUB); return oursEnd{s}, obind(t, s, "127.0.0.1") },
			func() (end, string) { s := ours(t, sockets.XPUB); return oursEnd{s}, obind(t, s, "127.0.0.1") },
		} {
			p, ep := pub()
			raw := rawZMTPDial(t, ep, "SUB", 0)
			raw.Send("\x01t")
			raw.Send("\x01sync")
			rawSettle(t, p, raw, "sync")
			p.send(t, "u", "dropped")
			p.send(t, "t1", "kept")
			if got := []frame{mustNext(raw), mustNext(raw)}; !cmp.Equal(got, []frame{{More: true, Body: "t1"}, {Body: "kept"}}) {
				t.Fatalf("%v: the 3.0 subscriber got %+v", p, got)
			}
			raw.Send("\x00t")
			raw.Send("\x01sync2")
			rawSettle(t, p, raw, "sync2")
			p.send(t, "t2")
			p.send(t, "sync2-end")
			if got := mustNext(raw); got.Body != "sync2-end" {
				t.Fatalf("%v: after the cancel, the 3.0 subscriber got %+v", p, got)
			}
			if o, ok := p.(oursEnd); ok && o.s.Type() == sockets.XPUB {
				for _, w := range []string{"\x01t", "\x01sync", "\x00t", "\x01sync2"} {
					recvEq(t, p, w)
				}
			}
		}
	})
}

// rawSettle publishes marker until the raw subscriber reads it.
func rawSettle(t *testing.T, pub end, raw *rawpeer.Peer, marker string) {
	t.Helper()
	settle.Marker(t, func() { pub.send(t, marker) }, raw.NextBody, marker, timeout)
}
