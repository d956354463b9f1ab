package sockets

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zmtpgo/zmtp/transport"
)

// TestFloodFromOneAddress: one address (127.0.0.2) opens connections in a
// tight loop and holds them without a byte, while a legitimate PUSH from
// 127.0.0.1 connects, handshakes and delivers. The per-IP caps and the
// handshake timeout keep the flood to a handful of slots: the legitimate
// client gets through, and the server's goroutines and heap stay bounded
// whatever the flood's size. Bounded: at most 2,000 attempts, 8 s.
func TestFloodFromOneAddress(t *testing.T) {
	const (
		attempts  = 2000
		floodTime = 8 * time.Second
		held      = 1000 // the flooder keeps its newest 1,000 connections open
		perIP     = 8
		hsPerIP   = 4
	)
	var rejected, accepted, floodDials atomic.Int64
	pull := newSock(t, PULL, WithMaxPeersPerIP(perIP), WithMaxHandshakesPerIP(hsPerIP), WithMaxHandshakes(64), WithMaxPeers(256),
		WithHandshakeTimeout(time.Second), WithMonitor(func(ev Event) {
			switch ev.Kind {
			case transport.EventRejected:
				rejected.Add(1)
			case transport.EventAccepted:
				accepted.Add(1)
			}
		}))
	if err := pull.Bind("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(pull.LastEndpoint(), "tcp://")

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseG, baseHeap := runtime.NumGoroutine(), ms.HeapInuse

	ctx, cancel := context.WithTimeout(context.Background(), floodTime)
	defer cancel()
	started := make(chan struct{})
	type floodResult struct {
		dials, failed int
		peakG         int
		peakHeap      uint64
	}
	done := make(chan floodResult, 1)
	go func() {
		var r floodResult
		var conns []net.Conn
		defer func() {
			for _, nc := range conns {
				nc.Close()
			}
			done <- r
		}()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
		for r.dials < attempts && ctx.Err() == nil {
			nc, err := d.DialContext(ctx, "tcp", addr)
			r.dials++
			floodDials.Add(1)
			if r.dials == 200 {
				close(started)
			}
			if r.dials%50 == 0 {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				r.peakG = max(r.peakG, runtime.NumGoroutine())
				r.peakHeap = max(r.peakHeap, ms.HeapInuse)
			}
			if err != nil {
				r.failed++ // refused with a reset before the connect completed: the flood goes on
				continue
			}
			conns = append(conns, nc)
			if len(conns) > held {
				conns[0].Close()
				conns = conns[1:]
			}
		}
		if r.dials < 200 {
			close(started)
		}
	}()

	<-started
	t0, d0 := time.Now(), floodDials.Load()
	push := newSock(t, PUSH, WithLinger(0))
	if err := push.Connect(pull.LastEndpoint()); err != nil {
		t.Fatal(err)
	}
	mctx, mcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer mcancel()
	for i := range 10 {
		if err := push.Send(mctx, NewMsgString(fmt.Sprint("job ", i))); err != nil {
			t.Fatalf("the legitimate client could not send during the flood: %v", err)
		}
		m, err := pull.Recv(mctx)
		if err != nil {
			t.Fatalf("the legitimate client's message %d did not arrive during the flood: %v", i, err)
		}
		if m.String() != fmt.Sprint("job ", i) {
			t.Fatalf("got %q", m)
		}
	}
	legit, during := time.Since(t0), floodDials.Load()-d0
	r := <-done
	st := pull.GateStats()
	t.Logf("flood: %d dials (%d refused at connect), %d accepted by TCP, %d rejected; legit client connected and exchanged 10 messages in %v, while the flood made %d dials; stats %+v",
		r.dials, r.failed, accepted.Load(), rejected.Load(), legit, during, st)
	t.Logf("goroutines %d -> peak %d; heap in use %d KiB -> peak %d KiB", baseG, r.peakG, baseHeap>>10, r.peakHeap>>10)

	if r.dials < 500 {
		t.Errorf("the flood made only %d attempts: not a flood", r.dials)
	}
	if st.RejectedPeersPerIP+st.RejectedHandshakesPerIP == 0 {
		t.Errorf("no per-IP rejections: %+v", st)
	}
	// Admitted flood connections are bounded by the caps (and the timeout
	// that recycles them); the legitimate client is one more.
	if max := 2*perIP + 8; st.Peers > max {
		t.Errorf("%d peers open, want at most %d", st.Peers, max)
	}
	// Each admitted connection costs one goroutine while handshaking; the
	// PUSH, the PULL and the test add a few. Nothing grows with the flood.
	if limit := baseG + perIP + 24; r.peakG > limit {
		t.Errorf("goroutines peaked at %d (baseline %d): the flood costs goroutines", r.peakG, baseG)
	}
	if growth := int64(r.peakHeap) - int64(baseHeap); growth > 32<<20 {
		t.Errorf("heap grew by %d MiB under the flood", growth>>20)
	}
}

// TestSilentFloodWithDeferAccept: with WithDeferAccept, connections that
// stay silent are held by the kernel and never reach the socket: a flood
// of them from one address is not even seen (no accept, no rejection, no
// slot), while a legitimate PUSH, which greets at once, connects and
// delivers. Bounded: at most 500 flood connections, 5 s.
func TestSilentFloodWithDeferAccept(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("TCP_DEFER_ACCEPT is Linux's")
	}
	var fromFlood atomic.Int64
	pull := newSock(t, PULL, WithDeferAccept(10*time.Second), WithMaxPeersPerIP(8), WithMaxHandshakesPerIP(4),
		WithMonitor(func(ev Event) {
			if ev.Kind == transport.EventAccepted && strings.HasPrefix(ev.Peer, "127.0.0.2:") {
				fromFlood.Add(1)
			}
		}))
	if err := pull.Bind("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(pull.LastEndpoint(), "tcp://")
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: time.Second}
	deadline := time.Now().Add(5 * time.Second)
	var held []net.Conn
	defer func() {
		for _, nc := range held {
			nc.Close()
		}
	}()
	for len(held) < 500 && time.Now().Before(deadline) {
		nc, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("flood dial %d: %v", len(held), err)
		}
		held = append(held, nc)
	}
	push := newSock(t, PUSH, WithLinger(0))
	connectTo(t, push, pull.LastEndpoint())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := range 10 {
		if err := push.Send(ctx, NewMsgString(fmt.Sprint("job ", i))); err != nil {
			t.Fatalf("send during the flood: %v", err)
		}
		if m, err := pull.Recv(ctx); err != nil || m.String() != fmt.Sprint("job ", i) {
			t.Fatalf("recv during the flood: %q, %v", m, err)
		}
	}
	st := pull.GateStats()
	if n := fromFlood.Load(); n != 0 || st.Accepted != 1 {
		t.Errorf("%d flood connections reached the socket; gate stats %+v", n, st)
	}
	t.Logf("%d silent connections held by the kernel; the legitimate client exchanged 10 messages; gate %+v", len(held), st)
}
