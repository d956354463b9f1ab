package sockets

import (
	"context"
	"errors"
	"testing"
	"time"
)

// settleOn publishes marker messages until sub receives one, so that every
// subscription sent before it has reached the publisher (subscriptions and
// messages travel in order on each connection). Copies of the marker may
// still be on their way: it then publishes marker+"/settled", which every
// subscription to the marker matches too, and receives until that
// arrives, so the test's next message is not a stray marker.
func settleOn(t *testing.T, pub, sub *Socket, marker string) {
	t.Helper()
	ctx := ctxT(t)
	for {
		if err := pub.Send(ctx, NewMsgString(marker)); err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		m, err := sub.Recv(rctx)
		cancel()
		if err == nil && m.String() == marker {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("subscription never reached the publisher")
		}
	}
	last := marker + "/settled"
	if err := pub.Send(ctx, NewMsgString(last)); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := sub.Recv(ctx)
		if err != nil {
			t.Fatalf("settling: %v", err)
		}
		if m.String() == last {
			return
		}
	}
}

func TestPubSubPrefixFiltering(t *testing.T) {
	pub, sub := newSock(t, PUB), newSock(t, SUB)
	pair(t, pub, sub)
	sub.Subscribe([]byte("sync"))
	sub.Subscribe([]byte("news."))
	settleOn(t, pub, sub, "sync")
	mustSend(t, pub, "sports.x", "dropped")
	mustSend(t, pub, "news.world", "kept")
	mustRecv(t, sub, "news.world", "kept")
}

func TestCountedSubscriptions(t *testing.T) {
	pub, sub := newSock(t, PUB), newSock(t, SUB)
	pair(t, pub, sub)
	sub.Subscribe([]byte("sync"))
	sub.Subscribe([]byte("a"))
	sub.Subscribe([]byte("a"))
	sub.Unsubscribe([]byte("a")) // one of two: still subscribed
	settleOn(t, pub, sub, "sync")
	mustSend(t, pub, "a1")
	mustRecv(t, sub, "a1")
	sub.Unsubscribe([]byte("a")) // the second: gone
	settleOn(t, pub, sub, "sync")
	mustSend(t, pub, "a2")
	mustSend(t, pub, "sync-after")
	mustRecv(t, sub, "sync-after")
}

func TestPubDoesNotBlockAtHWM(t *testing.T) {
	pub := newSock(t, PUB, WithSendHWM(10), WithLinger(0))
	sub := newSock(t, SUB, WithRecvHWM(10))
	pair(t, pub, sub)
	sub.Subscribe(nil)
	settleOn(t, pub, sub, "sync")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for range 100000 { // far more than both HWMs and the socket buffers hold
		if err := pub.Send(ctx, NewMsgString("flood")); err != nil {
			t.Fatal(err)
		}
	}
}

func TestXPubSeesSubscriptionsXSubSendsThem(t *testing.T) {
	xpub, xsub := newSock(t, XPUB), newSock(t, XSUB)
	pair(t, xpub, xsub)
	mustSend(t, xsub, "\x01topic")
	mustRecv(t, xpub, "\x01topic")
	mustSend(t, xsub, "\x00topic")
	mustRecv(t, xpub, "\x00topic")
	if _, err := newSock(t, PUB).Recv(ctxT(t)); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("PUB Recv: %v", err)
	}
	if err := newSock(t, PUB).Subscribe([]byte("x")); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("PUB Subscribe: %v", err)
	}
}

func TestXPubReportsFirstAndLastSubscriber(t *testing.T) {
	xpub := newSock(t, XPUB)
	if err := xpub.Bind("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	a, b := newSock(t, SUB), newSock(t, SUB)
	a.Connect(xpub.LastEndpoint())
	b.Connect(xpub.LastEndpoint())
	a.Subscribe([]byte("t"))
	mustRecv(t, xpub, "\x01t")
	b.Subscribe([]byte("t")) // a second subscriber: not reported
	b.Subscribe([]byte("u"))
	mustRecv(t, xpub, "\x01u") // proves b's "t" came first and was not reported
	a.Close()                  // a's topic still held by b: nothing
	b.Unsubscribe([]byte("t"))
	mustRecv(t, xpub, "\x00t")
}
