package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/zmtpgo/zmtp/fsm"
	"github.com/zmtpgo/zmtp/sockets"
	"github.com/zmtpgo/zmtp/transport"
)

// demoAuth shows TOKEN-HMAC: a PULL holds a token table; a PUSH that
// proves the right token for its key id delivers, and its messages carry
// the key id as user id; a PUSH with a wrong token is refused, with ERROR
// "400" and a typed reason on both sides, and does not dial again. The
// tokens are fresh random bytes and never printed.
func demoAuth(ctx context.Context, w io.Writer) error {
	token, wrong := demoToken(), demoToken()
	tokens := transport.NewTokenTable()
	if err := tokens.Add("demo-client", token); err != nil {
		return err
	}
	serverFails := make(failures, 8)
	pull, err := bound(sockets.PULL, sockets.WithTokenServer(tokens), sockets.WithMonitor(serverFails.monitor))
	if err != nil {
		return err
	}
	defer pull.Close()
	fmt.Fprintf(w, "PULL bound %s with WithTokenServer(key id \"demo-client\" and a random 32-byte token)\n", pull.LastEndpoint())
	fmt.Fprintln(w, "    (zmtp -type PULL -bind … -token-server-tokens FILE; a PUSH: -token-key-id demo-client -token-file FILE or -token-env VAR)")

	good, err := connected(sockets.PUSH, pull.LastEndpoint(), sockets.WithTokenClient("demo-client", token), sockets.WithLinger(0))
	if err != nil {
		return err
	}
	defer good.Close()
	if err := good.Send(ctx, sockets.NewMsgString("hello from a peer that holds the token")); err != nil {
		return err
	}
	m, err := pull.Recv(ctx)
	if err != nil {
		return err
	}
	if m.UserID != "demo-client" {
		return fmt.Errorf("the message came with user id %q, want demo-client", m.UserID)
	}
	fmt.Fprintf(w, "PUSH with the right token: PULL received %q from user id %q\n", m, m.UserID)

	clientFails := make(failures, 8)
	dials := make(chan struct{}, 64)
	bad, err := connected(sockets.PUSH, pull.LastEndpoint(), sockets.WithTokenClient("demo-client", wrong),
		sockets.WithLinger(0), sockets.WithReconnectIvl(20*time.Millisecond),
		sockets.WithMonitor(func(ev sockets.Event) {
			clientFails.monitor(ev)
			if ev.Kind == transport.EventConnected {
				select {
				case dials <- struct{}{}:
				default:
				}
			}
		}))
	if err != nil {
		return err
	}
	defer bad.Close()
	for _, side := range []struct {
		name string
		f    failures
		want fsm.Reason
	}{{"bound PULL", serverFails, fsm.ReasonAuthFailed}, {"PUSH with a wrong token", clientFails, fsm.ReasonErrorReceived}} {
		ev, err := side.f.wait(ctx)
		if err != nil {
			return fmt.Errorf("%s: no handshake failure: %w", side.name, err)
		}
		if ev.Reason != side.want {
			return fmt.Errorf("%s: reason %s, want %s (%v)", side.name, ev.Reason.String(), side.want.String(), ev.Err)
		}
		if s := ev.String(); strings.Contains(s, string(token)) || strings.Contains(s, string(wrong)) {
			return fmt.Errorf("%s: the event shows a token", side.name)
		}
		fmt.Fprintf(w, "%s: handshake failed, reason %s (fatal, so no reconnect: %v)\n    %v\n", side.name, ev.Reason.String(), ev.Reason.Fatal(), ev.Err)
	}
	// Twenty reconnect intervals: a client that tried again would show.
	select {
	case <-time.After(400 * time.Millisecond):
	case <-ctx.Done():
		return ctx.Err()
	}
	if n := len(dials); n != 1 {
		return fmt.Errorf("the refused PUSH connected %d times, want once", n)
	}
	fmt.Fprintln(w, "the refused PUSH did not reconnect with the same token (1 connection in 400 ms at a 20 ms reconnect interval)")
	if err := good.Send(ctx, sockets.NewMsgString("still served")); err != nil {
		return err
	}
	if _, err := pull.Recv(ctx); err != nil {
		return fmt.Errorf("the good peer was disturbed: %w", err)
	}
	fmt.Fprintln(w, "the PUSH with the right token still delivers")
	return nil
}

// demoToken returns 32 random bytes, hex-encoded (as a token file would
// hold them).
func demoToken() []byte {
	var b [32]byte
	rand.Read(b[:])
	return []byte(hex.EncodeToString(b[:]))
}
