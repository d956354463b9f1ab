package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/zmtpgo/zmtp/fsm"
	"github.com/zmtpgo/zmtp/sockets"
	"github.com/zmtpgo/zmtp/transport"
)

// demoGate shows the gate of a bound socket: an address on the deny list
// and a peer over the per-IP cap are refused right after accept, each
// with its typed reason, while an allowed peer delivers; then a change of
// the lists drops a live connection. The counters follow each step.
func demoGate(ctx context.Context, w io.Writer) error {
	rejected := make(chan sockets.Event, 16)
	pull, err := bound(sockets.PULL, sockets.WithDeny("127.0.0.2"), sockets.WithMaxPeersPerIP(1),
		sockets.WithMonitor(func(ev sockets.Event) {
			if ev.Kind == transport.EventRejected {
				select {
				case rejected <- ev:
				default:
				}
			}
		}))
	if err != nil {
		return err
	}
	defer pull.Close()
	ep := pull.LastEndpoint()
	addr := strings.TrimPrefix(ep, "tcp://")
	fmt.Fprintf(w, "PULL bound %s with WithDeny(\"127.0.0.2\") and WithMaxPeersPerIP(1) (zmtp -deny 127.0.0.2 -max-peers-per-ip 1)\n", ep)

	waitRejected := func(what string, want fsm.Reason) error {
		select {
		case ev := <-rejected:
			if ev.Reason != want {
				return fmt.Errorf("%s: reason %s, want %s (%v)", what, ev.Reason.String(), want.String(), ev.Err)
			}
			fmt.Fprintf(w, "%-48s -> %s event, reason %s\n    %v\n", what, ev.Kind, ev.Reason.String(), ev.Err)
			return nil
		case <-ctx.Done():
			return fmt.Errorf("%s: no rejected event: %w", what, ctx.Err())
		}
	}

	// A denied address: the connection is reset before a byte is read.
	nc, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext(ctx, "tcp", addr)
	if err == nil {
		defer nc.Close()
	}
	if err := waitRejected("a peer dialling from 127.0.0.2", fsm.ReasonACLDenied); err != nil {
		return err
	}

	// An allowed peer takes 127.0.0.1's one slot and delivers.
	push, err := connected(sockets.PUSH, ep, sockets.WithLinger(0))
	if err != nil {
		return err
	}
	defer push.Close()
	if err := push.Send(ctx, sockets.NewMsgString("hello through the gate")); err != nil {
		return err
	}
	m, err := pull.Recv(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "a PUSH from 127.0.0.1 is admitted and delivers %q\n", m)

	// A second peer from 127.0.0.1 is over the per-IP cap.
	over, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err == nil {
		defer over.Close()
	}
	if err := waitRejected("a second peer from 127.0.0.1", fsm.ReasonPeerLimitPerIP); err != nil {
		return err
	}
	fmt.Fprintln(w, "counters:", statsLine(pull.GateStats()))

	// After Bind, deny 127.0.0.0/8 and drop the live connections it covers.
	if err := pull.SetAcceptFrom(nil, []string{"127.0.0.0/8"}, true); err != nil {
		return err
	}
	for {
		select {
		case ev := <-rejected:
			if !strings.Contains(fmt.Sprint(ev.Err), "live connection dropped") {
				continue // the PUSH reconnecting, refused
			}
			fmt.Fprintf(w, "%-48s -> %s event, reason %s\n    %v\n", "SetAcceptFrom(nil, [127.0.0.0/8], dropLive)", ev.Kind, ev.Reason.String(), ev.Err)
			fmt.Fprintf(w, "live connections dropped: %d\n", pull.GateStats().Dropped)
			return nil
		case <-ctx.Done():
			return fmt.Errorf("the live connection was not dropped: %w", ctx.Err())
		}
	}
}
