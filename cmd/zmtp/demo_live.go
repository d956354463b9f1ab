package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/zmtpgo/zmtp/fsm"
	"github.com/zmtpgo/zmtp/internal/faultnet"
	"github.com/zmtpgo/zmtp/sockets"
	"github.com/zmtpgo/zmtp/transport"
)

// demoSilentPeer is the case that started the project: a SUB whose PUB's
// host drops off the network without a FIN or RST. A relay between them
// goes silent; the SUB's heartbeat declares the PUB dead, the SUB
// reconnects, and it receives again once the relay is back.
func demoSilentPeer(ctx context.Context, w io.Writer) error {
	pub, err := bound(sockets.PUB)
	if err != nil {
		return err
	}
	defer pub.Close()
	relay, err := faultnet.New(strings.TrimPrefix(pub.LastEndpoint(), "tcp://"))
	if err != nil {
		return err
	}
	defer relay.Close()
	events := make(chan sockets.Event, 256)
	sub, err := connected(sockets.SUB, relay.Endpoint(),
		sockets.WithHeartbeat(100*time.Millisecond, 0, 300*time.Millisecond), sockets.WithReconnectIvl(50*time.Millisecond),
		sockets.WithMonitor(func(ev sockets.Event) {
			select {
			case events <- ev:
			default:
			}
		}))
	if err != nil {
		return err
	}
	defer sub.Close()
	sub.Subscribe(nil)
	fmt.Fprintf(w, "SUB connected to the PUB through a relay, heartbeat every 100ms, timeout 300ms\n")
	if err := publishUntil(ctx, pub, sub, "before the outage"); err != nil {
		return err
	}
	relay.Silence()
	silent := time.Now()
	fmt.Fprintln(w, "the relay goes silent: no FIN, no RST, nothing")
	ev, err := waitEvent(ctx, events, func(ev sockets.Event) bool {
		return ev.Kind == transport.EventDisconnected && ev.Reason == fsm.ReasonHeartbeatTimeout
	})
	if err != nil {
		return fmt.Errorf("the silent peer was never declared dead: %w", err)
	}
	fmt.Fprintf(w, "after %v the SUB declares %s dead (reason %s) and reconnects\n", time.Since(silent).Round(10*time.Millisecond), ev.Peer, ev.Reason.String())
	if _, err := waitEvent(ctx, events, func(ev sockets.Event) bool { return ev.Kind == transport.EventConnected }); err != nil {
		return err
	}
	relay.Resume()
	fmt.Fprintln(w, "the relay comes back")
	return publishUntil(ctx, pub, sub, "after the outage")
}

func waitEvent(ctx context.Context, events <-chan sockets.Event, ok func(sockets.Event) bool) (sockets.Event, error) {
	for {
		select {
		case ev := <-events:
			if ok(ev) {
				return ev, nil
			}
		case <-ctx.Done():
			return sockets.Event{}, ctx.Err()
		}
	}
}

// publishUntil publishes text until the SUB receives it: a subscription
// travels to the PUB on each new connection.
func publishUntil(ctx context.Context, pub, sub *sockets.Socket, text string) error {
	for ctx.Err() == nil {
		if err := pub.Send(ctx, sockets.NewMsgString(text)); err != nil {
			return err
		}
		rctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		m, err := sub.Recv(rctx)
		cancel()
		if err == nil && m.String() == text {
			return nil
		}
	}
	return ctx.Err()
}
