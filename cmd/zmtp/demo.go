package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/zmtpgo/zmtp/fsm"
	"github.com/zmtpgo/zmtp/sockets"
	"github.com/zmtpgo/zmtp/transport"
)

// demo shows the library on loopback: message patterns, reconnecting, and
// bad peers refused with a typed reason while good ones carry on.
func demo(ctx context.Context, w io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	steps := []struct {
		title string
		run   func(context.Context, io.Writer) error
	}{
		{"PUSH/PULL with multipart messages", demoPushPull},
		{"REQ/REP round trips", demoReqRep},
		{"connect before bind: the connecting side retries until the peer binds", demoConnectFirst},
		{"a mismatched socket pair is refused, and the connecting side stops retrying", demoMismatch},
		{"bad input is refused with a typed reason; the good peer is not disturbed", demoBadInput},
		{"the gate: a denied address and a peer over its cap are refused at accept, with typed reasons and counters", demoGate},
		{"authentication (TOKEN-HMAC): the right token is served with its user id; a wrong one is refused on both sides and does not retry", demoAuth},
		{"a silent publisher (no FIN, no RST) is declared dead by heartbeats; the subscriber reconnects and receives again", demoSilentPeer},
	}
	for i, s := range steps {
		fmt.Fprintf(w, "\n== %d. %s\n", i+1, s.title)
		if err := s.run(ctx, w); err != nil {
			return fmt.Errorf("%s: %w", s.title, err)
		}
	}
	fmt.Fprintln(w, "\ndemo finished: every step behaved as described")
	return nil
}

func bound(t sockets.Type, opts ...sockets.Option) (*sockets.Socket, error) {
	s, err := sockets.New(t, opts...)
	if err != nil {
		return nil, err
	}
	if err := s.Bind("tcp://127.0.0.1:0"); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func connected(t sockets.Type, ep string, opts ...sockets.Option) (*sockets.Socket, error) {
	s, err := sockets.New(t, opts...)
	if err != nil {
		return nil, err
	}
	if err := s.Connect(ep); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func demoPushPull(ctx context.Context, w io.Writer) error {
	pull, err := bound(sockets.PULL)
	if err != nil {
		return err
	}
	defer pull.Close()
	push, err := connected(sockets.PUSH, pull.LastEndpoint())
	if err != nil {
		return err
	}
	defer push.Close()
	fmt.Fprintf(w, "PULL bound %s; PUSH connected\n", pull.LastEndpoint())
	for i := 1; i <= 3; i++ {
		if err := push.Send(ctx, sockets.NewMsgString("job", fmt.Sprint(i))); err != nil {
			return err
		}
	}
	for range 3 {
		m, err := pull.Recv(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "PULL received %d frames: %s\n", len(m.Frames), m)
	}
	return nil
}

func demoReqRep(ctx context.Context, w io.Writer) error {
	rep, err := bound(sockets.REP)
	if err != nil {
		return err
	}
	defer rep.Close()
	req, err := connected(sockets.REQ, rep.LastEndpoint())
	if err != nil {
		return err
	}
	defer req.Close()
	for _, q := range []string{"ping", "what time is it"} {
		if err := req.Send(ctx, sockets.NewMsgString(q)); err != nil {
			return err
		}
		m, err := rep.Recv(ctx)
		if err != nil {
			return err
		}
		if err := rep.Send(ctx, sockets.NewMsgString("reply to "+m.String())); err != nil {
			return err
		}
		r, err := req.Recv(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "REQ sent %q, got %q\n", q, r)
	}
	return nil
}

func demoConnectFirst(ctx context.Context, w io.Writer) error {
	// Find a free port, then leave it unbound for a moment.
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ep := "tcp://" + probe.Addr().String()
	probe.Close()
	retries := make(chan struct{}, 64)
	push, err := connected(sockets.PUSH, ep, sockets.WithReconnectIvl(20*time.Millisecond),
		sockets.WithMonitor(func(ev sockets.Event) {
			if ev.Kind == transport.EventConnectRetried {
				select {
				case retries <- struct{}{}:
				default:
				}
			}
		}))
	if err != nil {
		return err
	}
	defer push.Close()
	select {
	case <-retries:
		fmt.Fprintf(w, "PUSH connecting to %s: nobody there yet, retrying\n", ep)
	case <-ctx.Done():
		return ctx.Err()
	}
	pull, err := sockets.New(sockets.PULL)
	if err != nil {
		return err
	}
	defer pull.Close()
	if err := pull.Bind(ep); err != nil {
		return err
	}
	if err := push.Send(ctx, sockets.NewMsgString("sent before the peer existed")); err != nil {
		return err
	}
	m, err := pull.Recv(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "PULL bound later and received %q\n", m)
	return nil
}

// failures collects handshake failures and disconnects from a monitor.
type failures chan sockets.Event

func (f failures) monitor(ev sockets.Event) {
	if ev.Kind == transport.EventHandshakeFailed || ev.Kind == transport.EventDisconnected {
		select {
		case f <- ev:
		default:
		}
	}
}

func (f failures) wait(ctx context.Context) (sockets.Event, error) {
	select {
	case ev := <-f:
		return ev, nil
	case <-ctx.Done():
		return sockets.Event{}, ctx.Err()
	}
}

func demoMismatch(ctx context.Context, w io.Writer) error {
	bindFails, connFails := make(failures, 8), make(failures, 8)
	a, err := bound(sockets.PUSH, sockets.WithMonitor(bindFails.monitor))
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := connected(sockets.PUSH, a.LastEndpoint(), sockets.WithMonitor(connFails.monitor))
	if err != nil {
		return err
	}
	defer b.Close()
	for _, side := range []struct {
		name string
		f    failures
	}{{"bound PUSH", bindFails}, {"connecting PUSH", connFails}} {
		ev, err := side.f.wait(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s: handshake failed, reason %s (fatal, so no reconnect: %v)\n    %v\n", side.name, ev.Reason.String(), ev.Reason.Fatal(), ev.Err)
	}
	return nil
}

func demoBadInput(ctx context.Context, w io.Writer) error {
	fails := make(failures, 8)
	pull, err := bound(sockets.PULL, sockets.WithMonitor(fails.monitor),
		sockets.WithMaxMsgSize(1<<20), sockets.WithHandshakeTimeout(300*time.Millisecond))
	if err != nil {
		return err
	}
	defer pull.Close()
	addr := pull.LastEndpoint()[len("tcp://"):]
	push, err := connected(sockets.PUSH, pull.LastEndpoint())
	if err != nil {
		return err
	}
	defer push.Close()

	nullGreeting := transport.Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}.Append(nil)
	readyBody := transport.AppendCommandBody(nil, transport.CmdReady,
		transport.Metadata{{Name: transport.PropSocketType, Value: []byte("PUSH")}}.Append(nil))
	ready := append(transport.AppendFrameHeader(nil, transport.FlagCommand, len(readyBody)), readyBody...)
	huge := []byte{transport.FlagLong, 0x7f, 0, 0, 0, 0, 0, 0, 0} // declares 0x7f00… bytes, far over the 1 MiB limit

	bad := []struct {
		what  string
		bytes []byte
		want  fsm.Reason
	}{
		{"an HTTP request", []byte("GET / HTTP/1.1\r\nHost: example\r\n\r\n"), fsm.ReasonNotZMTP},
		{"a ZMTP 2.0 greeting", []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 1, 5}, fsm.ReasonUnsupportedVersion},
		{"a CURVE greeting to a NULL socket", transport.Greeting{Major: 3, Minor: 1, Mechanism: "CURVE"}.Append(nil), fsm.ReasonMechanismMismatch},
		{"after a good handshake, a frame of 9 EB", append(append(append([]byte{}, nullGreeting...), ready...), huge...), fsm.ReasonFrameTooLarge},
		{"a frame with reserved flag bits", append(append([]byte{}, nullGreeting...), 0x84, 0), fsm.ReasonProtocolViolation},
		{"nothing at all (a silent peer)", nil, fsm.ReasonHandshakeTimeout},
	}
	for _, b := range bad {
		nc, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		if len(b.bytes) > 0 {
			nc.Write(b.bytes)
		}
		ev, err := fails.wait(ctx)
		nc.Close()
		if err != nil {
			return fmt.Errorf("%s: no handshake-failed event: %w", b.what, err)
		}
		if ev.Reason != b.want {
			return fmt.Errorf("%s: reason %s, want %s (%v)", b.what, ev.Reason.String(), b.want.String(), ev.Err)
		}
		fmt.Fprintf(w, "%-48s -> %s event, reason %s\n    %v\n", b.what, ev.Kind, ev.Reason.String(), ev.Err)
		if err := push.Send(ctx, sockets.NewMsgString("still here")); err != nil {
			return err
		}
		if _, err := pull.Recv(ctx); err != nil {
			return fmt.Errorf("the good peer was disturbed: %w", err)
		}
	}
	fmt.Fprintln(w, "after each bad peer, the good PUSH peer still delivered its message")
	return nil
}
