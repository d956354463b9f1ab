package sockets

import (
	"testing"
	"time"

	"github.com/zmtpgo/zmtp/fsm"
	"github.com/zmtpgo/zmtp/internal/faultnet"
	"github.com/zmtpgo/zmtp/transport"
)

// eventLog hands monitor events to a test.
type eventLog chan Event

func (l eventLog) add(ev Event) {
	select {
	case l <- ev:
	default:
	}
}

// waitFor returns the first event matching ok, failing after a generous
// deadline: liveness tests wait for events, they do not sleep and hope.
func (l eventLog) waitFor(t *testing.T, what string, ok func(Event) bool) Event {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case ev := <-l:
			if ok(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event within 15s", what)
		}
	}
}

// TestSilentPublisherDetectedAndRecovered is the project's founding case:
// a SUB connected to a PUB whose host drops off the network without a FIN
// or RST. With heartbeats the SUB declares the peer dead, reconnects, and
// receives again once the PUB is reachable.
func TestSilentPublisherDetectedAndRecovered(t *testing.T) {
	pub := newSock(t, PUB)
	if err := pub.Bind("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	relay, err := faultnet.New(pub.LastEndpoint()[len("tcp://"):])
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	events := make(eventLog, 1024)
	sub := newSock(t, SUB, WithHeartbeat(100*time.Millisecond, 0, 300*time.Millisecond),
		WithReconnectIvl(50*time.Millisecond), WithMonitor(events.add))
	sub.Subscribe(nil)
	if err := sub.Connect(relay.Endpoint()); err != nil {
		t.Fatal(err)
	}
	settleOn(t, pub, sub, "before")

	relay.Silence()
	silentAt := time.Now()
	ev := events.waitFor(t, "heartbeat-timeout disconnect", func(ev Event) bool {
		return ev.Kind == transport.EventDisconnected && ev.Reason == fsm.ReasonHeartbeatTimeout
	})
	t.Logf("silent peer detected after %v: %v", time.Since(silentAt), ev)
	if ev.Peer == "" {
		t.Errorf("the event does not name the peer: %v", ev)
	}
	events.waitFor(t, "connect retry", func(ev Event) bool { return ev.Kind == transport.EventConnected })

	relay.Resume()
	settleOn(t, pub, sub, "after") // subscriptions were re-sent on the new connection
}
