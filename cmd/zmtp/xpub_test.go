package main

import (
	"bytes"
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
	var out, errb bytes.Buffer
	bound := make(chan string, 1)
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-type", "XPUB", "-bind", "tcp://127.0.0.1:0", "-xpub-verbose", "-count", "2", "-hex"},
			nil, &out, &lineTap{w: &errb, prefix: "bound ", ch: bound})
	}()
	var ep string
	select {
	case ep = <-bound:
	case <-ctx.Done():
		t.Fatal("XPUB never reported its endpoint")
	}
	xsub, err := sockets.New(sockets.XSUB)
	if err != nil {
		t.Fatal(err)
	}
	defer xsub.Close()
	if err := xsub.Connect(ep); err != nil {
		t.Fatal(err)
	}
	// XSUB sends subscriptions only to publishers it is connected to:
	// repeat until the tool has printed two.
	for len(done) == 0 && ctx.Err() == nil {
		xsub.Send(ctx, sockets.NewMsgString("\x01t"))
		time.Sleep(10 * time.Millisecond)
	}
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if got, want := out.String(), "0174\n0174\n"; got != want {
		t.Fatalf("printed %q, want %q", got, want)
	}
}
