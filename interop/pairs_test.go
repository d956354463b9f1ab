//go:build libzmq

package interop

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	zmq "github.com/pebbe/zmq4"

	"github.com/zmtpgo/zmtp/sockets"
)

// pairCase is one valid socket pair: our socket, libzmq's, and a short
// exchange between them. Each case runs twice, once with our socket bound
// and libzmq's connected, once the other way round.
type pairCase struct {
	name  string
	ours  sockets.Type
	zmq   zmq.Type
	oopts []sockets.Option
	zopts []func(*zmq.Socket) error
	run   func(t *testing.T, o *sockets.Socket, z *zmq.Socket)
}

var pairCases = []pairCase{
	{name: "PAIR-PAIR", ours: sockets.PAIR, zmq: zmq.PAIR, run: func(t *testing.T, o *sockets.Socket, z *zmq.Socket) {
		osend(t, o, "ping")
		zrecv(t, z, "ping")
		zsend(t, z, "pong")
		orecv(t, o, "pong")
	}},
	{name: "ours PUSH to libzmq PULL", ours: sockets.PUSH, zmq: zmq.PULL, run: func(t *testing.T, o *sockets.Socket, z *zmq.Socket) {
		osend(t, o, "a", "b")
		osend(t, o, "c")
		zrecv(t, z, "a", "b")
		zrecv(t, z, "c")
	}},
	{name: "libzmq PUSH to ours PULL", ours: sockets.PULL, zmq: zmq.PUSH, run: func(t *testing.T, o *sockets.Socket, z *zmq.Socket) {
		zsend(t, z, "a", "b")
		zsend(t, z, "c")
		orecv(t, o, "a", "b")
		orecv(t, o, "c")
	}},
	{
		// libzmq greets as soon as it connects, so a server that defers
		// accept until the first byte serves it at once (the kernel would
		// otherwise hold it 10 s).
		name: "libzmq PUSH to ours PULL deferring accept", ours: sockets.PULL, zmq: zmq.PUSH,
		oopts: []sockets.Option{sockets.WithDeferAccept(10 * time.Second)},
		run: func(t *testing.T, o *sockets.Socket, z *zmq.Socket) {
			t0 := time.Now()
			zsend(t, z, "a")
			orecv(t, o, "a")
			if d := time.Since(t0); d > 3*time.Second {
				t.Errorf("the first message took %v", d)
			}
		},
	},
	{name: "ours REQ to libzmq REP", ours: sockets.REQ, zmq: zmq.REP, run: func(t *testing.T, o *sockets.Socket, z *zmq.Socket) {
		for range 2 {
			osend(t, o, "question", "2")
			zrecv(t, z, "question", "2")
			zsend(t, z, "answer")
			orecv(t, o, "answer")
		}
	}},
	{name: "libzmq REQ to ours REP", ours: sockets.REP, zmq: zmq.REQ, run: func(t *testing.T, o *sockets.Socket, z *zmq.Socket) {
		for range 2 {
			zsend(t, z, "question", "2")
			orecv(t, o, "question", "2")
			osend(t, o, "answer")
			zrecv(t, z, "answer")
		}
	}},
	{
		name: "libzmq DEALER alice to ours ROUTER", ours: sockets.ROUTER, zmq: zmq.DEALER,
		oopts: []sockets.Option{sockets.WithRouterMandatory()},
		zopts: []func(*zmq.Socket) error{func(s *zmq.Socket) error { return s.SetIdentity("alice") }}, // ZMQ_ROUTING_ID
		run: func(t *testing.T, o *sockets.Socket, z *zmq.Socket) {
			zsend(t, z, "hi")
			orecv(t, o, "alice", "hi")
			osend(t, o, "alice", "back", "2")
			zrecv(t, z, "back", "2")
		},
	},
	{
		name: "ours DEALER bob to libzmq ROUTER", ours: sockets.DEALER, zmq: zmq.ROUTER,
		oopts: []sockets.Option{sockets.WithIdentity([]byte("bob"))},
		zopts: []func(*zmq.Socket) error{func(s *zmq.Socket) error { return s.SetRouterMandatory(1) }},
		run: func(t *testing.T, o *sockets.Socket, z *zmq.Socket) {
			osend(t, o, "hi")
			zrecv(t, z, "bob", "hi")
			zsend(t, z, "bob", "back", "2")
			orecv(t, o, "back", "2")
		},
	},
	{
		name: "ours REQ to libzmq ROUTER", ours: sockets.REQ, zmq: zmq.ROUTER,
		run: func(t *testing.T, o *sockets.Socket, z *zmq.Socket) {
			osend(t, o, "hello")
			m := zrecvBytes(t, z)
			// libzmq names an anonymous peer with 5 bytes starting with 0.
			if len(m) != 3 || len(m[0]) == 0 {
				t.Fatalf("libzmq ROUTER received %q, want [routing id, \"\", hello]", m)
			}
			if diff := cmp.Diff([]string{"", "hello"}, strs(m[1:])); diff != "" {
				t.Fatalf("libzmq ROUTER received (-want +got):\n%s", diff)
			}
			if err := zsendErr(z, m[0], nil, []byte("world")); err != nil {
				t.Fatal(err)
			}
			orecv(t, o, "world")
		},
	},
	{
		name: "libzmq REQ to ours ROUTER", ours: sockets.ROUTER, zmq: zmq.REQ,
		oopts: []sockets.Option{sockets.WithRouterMandatory()},
		run: func(t *testing.T, o *sockets.Socket, z *zmq.Socket) {
			zsend(t, z, "hello")
			m := orecvBytes(t, o)
			if len(m) != 3 || len(m[0]) == 0 {
				t.Fatalf("ROUTER received %q, want [routing id, \"\", hello]", m)
			}
			if diff := cmp.Diff([]string{"", "hello"}, strs(m[1:])); diff != "" {
				t.Fatalf("ROUTER received (-want +got):\n%s", diff)
			}
			if err := o.Send(ctxT(t), sockets.NewMsg(m[0], nil, []byte("world"))); err != nil {
				t.Fatal(err)
			}
			zrecv(t, z, "world")
		},
	},
	{name: "ours DEALER to libzmq REP", ours: sockets.DEALER, zmq: zmq.REP, run: func(t *testing.T, o *sockets.Socket, z *zmq.Socket) {
		osend(t, o, "", "q")
		zrecv(t, z, "q")
		zsend(t, z, "a")
		orecv(t, o, "", "a")
	}},
	{name: "libzmq DEALER to ours REP", ours: sockets.REP, zmq: zmq.DEALER, run: func(t *testing.T, o *sockets.Socket, z *zmq.Socket) {
		zsend(t, z, "", "q")
		orecv(t, o, "q")
		osend(t, o, "a")
		zrecv(t, z, "", "a")
	}},
}

// topology says who binds.
type topology struct {
	name     string
	oursBind bool
}

var topologies = []topology{{"ours binds", true}, {"libzmq binds", false}}

// connectPair creates both sockets and connects them over IPv4 loopback.
func connectPair(t *testing.T, topo topology, ot sockets.Type, zt zmq.Type, oopts []sockets.Option, zopts []func(*zmq.Socket) error) (*sockets.Socket, *zmq.Socket) {
	t.Helper()
	return connectPairOn(t, "127.0.0.1", topo, ot, zt, oopts, zopts)
}

func connectPairOn(t *testing.T, host string, topo topology, ot sockets.Type, zt zmq.Type, oopts []sockets.Option, zopts []func(*zmq.Socket) error) (*sockets.Socket, *zmq.Socket) {
	t.Helper()
	c := zctx(t)
	z := zsock(t, c, zt, zopts...)
	o := ours(t, ot, oopts...)
	if topo.oursBind {
		zconnect(t, z, obind(t, o, host))
	} else {
		oconnect(t, o, zbind(t, z, host))
	}
	return o, z
}

func TestSocketPairs(t *testing.T) {
	for _, tc := range pairCases {
		for _, topo := range topologies {
			t.Run(tc.name+"/"+topo.name, func(t *testing.T) {
				o, z := connectPair(t, topo, tc.ours, tc.zmq, tc.oopts, tc.zopts)
				tc.run(t, o, z)
			})
		}
	}
}
