//go:build libzmq

package interop

import (
	"context"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"

	"github.com/zmtpgo/zmtp/fsm"
	"github.com/zmtpgo/zmtp/internal/faultnet"
	"github.com/zmtpgo/zmtp/sockets"
	"github.com/zmtpgo/zmtp/transport"
)

// heartbeats sets libzmq's heartbeat options on a socket.
func heartbeats(ivl, ttl, timeout time.Duration) func(*zmq.Socket) error {
	return func(s *zmq.Socket) error {
		if err := s.SetHeartbeatIvl(ivl); err != nil {
			return err
		}
		if err := s.SetHeartbeatTtl(ttl); err != nil {
			return err
		}
		return s.SetHeartbeatTimeout(timeout)
	}
}

// TestHeartbeatsAnswered: an idle connection stays up for ten heartbeat
// timeouts when only one side PINGs, so the other's PONGs are what keeps
// it alive: libzmq PINGs and we answer, then we PING and libzmq answers.
func TestHeartbeatsAnswered(t *testing.T) {
	hb := func(ivl, timeout time.Duration) (sockets.Option, func(*zmq.Socket) error) {
		return sockets.WithHeartbeat(ivl, time.Second, timeout), heartbeats(ivl, time.Second, timeout)
	}
	ourHB, zmqHB := hb(50*time.Millisecond, 150*time.Millisecond)
	noOurs := sockets.WithHeartbeat(0, 0, 0)
	noZmq := func(*zmq.Socket) error { return nil }
	for _, who := range []struct {
		name   string
		ours   sockets.Option
		libzmq func(*zmq.Socket) error
	}{{"libzmq pings, we answer", noOurs, zmqHB}, {"we ping, libzmq answers", ourHB, noZmq}} {
		for _, topo := range topologies {
			t.Run(who.name+"/"+topo.name, func(t *testing.T) {
				c := zctx(t)
				evs := newEvents()
				o := ours(t, sockets.PAIR, sockets.WithMonitor(evs.add), who.ours)
				z := zsock(t, c, zmq.PAIR, who.libzmq)
				zev := zmonitor(t, c, z)
				if topo.oursBind {
					zconnect(t, z, obind(t, o, "127.0.0.1"))
				} else {
					oconnect(t, o, zbind(t, z, "127.0.0.1"))
				}
				evs.wait(t, transport.EventHandshakeSucceeded, timeout)
				zev(zmq.EVENT_HANDSHAKE_SUCCEEDED)
				// Idle for ten timeouts: nobody may drop the connection.
				evs.none(t, 1500*time.Millisecond, transport.EventDisconnected)
				osend(t, o, "still connected")
				zrecv(t, z, "still connected")
			})
		}
	}
}

// TestWeDetectSilentLibzmq: a libzmq PUB behind a relay goes silent (no
// FIN, no RST); our SUB's heartbeat declares it dead, reconnects, and
// receives again once the relay is back.
func TestWeDetectSilentLibzmq(t *testing.T) {
	c := zctx(t)
	pub := zsock(t, c, zmq.PUB)
	ep := zbind(t, pub, "127.0.0.1")
	relay, err := faultnet.New(ep[len("tcp://"):])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { relay.Close() })
	evs := newEvents()
	sub := ours(t, sockets.SUB, sockets.WithMonitor(evs.add), sockets.WithReconnectIvl(20*time.Millisecond),
		sockets.WithHeartbeat(100*time.Millisecond, 0, 300*time.Millisecond))
	sub.Subscribe(nil)
	oconnect(t, sub, relay.Endpoint())
	publishUntilReceived(t, pub, sub, "before")

	relay.Silence()
	start := time.Now()
	for {
		e := evs.wait(t, transport.EventDisconnected, timeout)
		if e.Reason == fsm.ReasonHeartbeatTimeout {
			t.Logf("silent libzmq peer detected after %v", time.Since(start))
			break
		}
	}
	relay.Resume()
	publishUntilReceived(t, pub, sub, "after")
}

// TestLibzmqDetectsSilentUs: the reverse, libzmq's heartbeat finds our
// silenced PUB dead (it sees our handshake and PONGs before).
func TestLibzmqDetectsSilentUs(t *testing.T) {
	c := zctx(t)
	pub := ours(t, sockets.PUB)
	ep := obind(t, pub, "127.0.0.1")
	relay, err := faultnet.New(ep[len("tcp://"):])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { relay.Close() })
	sub := zsock(t, c, zmq.SUB, heartbeats(100*time.Millisecond, 0, 300*time.Millisecond),
		func(s *zmq.Socket) error { return s.SetSubscribe("") })
	zev := zmonitor(t, c, sub)
	zconnect(t, sub, relay.Endpoint())
	zev(zmq.EVENT_HANDSHAKE_SUCCEEDED)
	relay.Silence()
	zev(zmq.EVENT_DISCONNECTED)
	relay.Resume()
}

// publishUntilReceived publishes text from libzmq until our SUB gets it
// (the subscription may still be travelling).
func publishUntilReceived(t *testing.T, pub *zmq.Socket, sub *sockets.Socket, text string) {
	t.Helper()
	settleOn(t, zmqEnd{pub}, oursEnd{sub}, text)
}

func recvWithin(s *sockets.Socket, d time.Duration) (sockets.Msg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return s.Recv(ctx)
}
