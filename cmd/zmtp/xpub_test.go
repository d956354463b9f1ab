package main

import (
	"context"
	"testing"
	"time"

	"github.com/zmtpgo/zmtp/sockets"
)

// TestXPubVerboseFlag: -xpub-verbose makes an XPUB print every subscribe,
// here the same topic twice from one subscriber, in hex.
func TestXPubVerboseFlag(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	xpub := startBound(ctx, t, "-type", "XPUB", "-bind", "tcp://127.0.0.1:0", "-xpub-verbose", "-count", "2", "-hex")
	xsub, err := sockets.New(sockets.XSUB)
	if err != nil {
		t.Fatal(err)
	}
	defer xsub.Close()
	if err := xsub.Connect(xpub.ep); err != nil {
		t.Fatal(err)
	}
	// XSUB sends subscriptions only to publishers it is connected to:
	// repeat until the tool has printed two.
	for len(xpub.done) == 0 && ctx.Err() == nil {
		xsub.Send(ctx, sockets.NewMsgString("\x01t"))
		time.Sleep(10 * time.Millisecond)
	}
	if code := <-xpub.done; code != 0 {
		t.Fatalf("exit %d: %s", code, xpub.errb.String())
	}
	if got, want := xpub.out.String(), "0174\n0174\n"; got != want {
		t.Fatalf("printed %q, want %q", got, want)
	}
}
