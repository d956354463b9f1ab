//go:build libzmq

package interop

import (
	"errors"
	"syscall"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"

	"github.com/zmtpgo/zmtp/sockets"
)

// TestMorePairs covers the valid pairs pairs_test.go does not (the
// publish-subscribe ones are in pubsub_test.go): DEALER–DEALER and
// ROUTER–ROUTER, each way round and in both topologies.
func TestMorePairs(t *testing.T) {
	mandatory := func(s *zmq.Socket) error { return s.SetRouterMandatory(1) }
	cases := []pairCase{
		{name: "ours DEALER, libzmq DEALER", ours: sockets.DEALER, zmq: zmq.DEALER, run: func(t *testing.T, o *sockets.Socket, z *zmq.Socket) {
			osend(t, o, "to libzmq", "2")
			zrecv(t, z, "to libzmq", "2")
			zsend(t, z, "to ours")
			orecv(t, o, "to ours")
		}},
		{
			name: "ours ROUTER, libzmq ROUTER", ours: sockets.ROUTER, zmq: zmq.ROUTER,
			oopts: []sockets.Option{sockets.WithIdentity([]byte("ours")), sockets.WithRouterMandatory()},
			zopts: []func(*zmq.Socket) error{func(s *zmq.Socket) error { return s.SetIdentity("libzmq") }, mandatory},
			run: func(t *testing.T, o *sockets.Socket, z *zmq.Socket) {
				// Each knows the other by the Identity in its READY, once
				// the handshake is done: until then the peer is unroutable.
				deadline := time.Now().Add(timeout)
				for {
					err := o.Send(ctxT(t), sockets.NewMsgString("libzmq", "hello"))
					if err == nil {
						break
					}
					if !errors.Is(err, sockets.ErrUnroutable) || time.Now().After(deadline) {
						t.Fatalf("send to libzmq's ROUTER: %v", err)
					}
					time.Sleep(5 * time.Millisecond)
				}
				zrecv(t, z, "ours", "hello")
				zsend(t, z, "ours", "back", "2")
				orecv(t, o, "libzmq", "back", "2")
			},
		},
		{
			name: "libzmq ROUTER, ours ROUTER", ours: sockets.ROUTER, zmq: zmq.ROUTER,
			oopts: []sockets.Option{sockets.WithIdentity([]byte("ours")), sockets.WithRouterMandatory()},
			zopts: []func(*zmq.Socket) error{func(s *zmq.Socket) error { return s.SetIdentity("libzmq") }, mandatory},
			run: func(t *testing.T, o *sockets.Socket, z *zmq.Socket) {
				deadline := time.Now().Add(timeout)
				for {
					err := zsendErr(z, []byte("ours"), []byte("hello"))
					if err == nil {
						break
					}
					if zerrno(err) != zmq.Errno(syscall.EHOSTUNREACH) || time.Now().After(deadline) {
						t.Fatalf("send to our ROUTER: %v", err)
					}
					time.Sleep(5 * time.Millisecond)
				}
				orecv(t, o, "libzmq", "hello")
				osend(t, o, "libzmq", "back", "2")
				zrecv(t, z, "ours", "back", "2")
			},
		},
	}
	for _, tc := range cases {
		for _, topo := range topologies {
			t.Run(tc.name+"/"+topo.name, func(t *testing.T) {
				o, z := connectPair(t, topo, tc.ours, tc.zmq, tc.oopts, tc.zopts)
				tc.run(t, o, z)
			})
		}
	}
}
