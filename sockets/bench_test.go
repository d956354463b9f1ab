package sockets

import (
	"bytes"
	"context"
	"fmt"
	"testing"
)

// benchPair binds a on loopback TCP, connects b to it, and closes both
// when the benchmark ends (b first, so a connecting socket never outlives
// what it lingers towards).
func benchPair(b *testing.B, bindType, connectType Type) (bound, connected *Socket) {
	b.Helper()
	bound, err := New(bindType)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { bound.Close() })
	connected, err = New(connectType)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { connected.Close() })
	if err := bound.Bind("tcp://127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	if err := connected.Connect(bound.LastEndpoint()); err != nil {
		b.Fatal(err)
	}
	return bound, connected
}

// BenchmarkPushPull measures one-way throughput: a PUSH sends b.N
// messages over loopback TCP while a PULL receives them on another
// goroutine; the clock stops when the last one has been received.
func BenchmarkPushPull(b *testing.B) {
	for _, size := range []int{1, 100, 1 << 10, 64 << 10} {
		b.Run(sizeName(size), func(b *testing.B) {
			benchPushPull(b, size, false)
		})
	}
	// The receiver gives each message back (Msg.Free), as zmqbench's
	// receive into one zmq_msg_t does.
	for _, size := range []int{1 << 10, 64 << 10} {
		b.Run(sizeName(size)+"-free", func(b *testing.B) {
			benchPushPull(b, size, true)
		})
	}
}

// benchPushPull is one BenchmarkPushPull case; with free the receiver
// gives each message back.
func benchPushPull(b *testing.B, size int, free bool) {
	pull, push := benchPair(b, PULL, PUSH)
	ctx := context.Background()
	body := bytes.Repeat([]byte{'x'}, size)
	// One message through before the clock starts: the handshake is not
	// what is measured.
	if err := push.Send(ctx, NewMsg(body)); err != nil {
		b.Fatal(err)
	}
	if _, err := pull.Recv(ctx); err != nil {
		b.Fatal(err)
	}
	pump(b, push, pull, body, func(m Msg) error {
		if len(m.Frames) != 1 || len(m.Frames[0]) != size {
			return fmt.Errorf("received %d frames, want 1 of %d bytes", len(m.Frames), size)
		}
		if free {
			m.Free()
		}
		return nil
	})
}

// pump times b.N sends of body from push while pull receives them on
// another goroutine, checking each with check; the clock stops when the
// last one has arrived.
func pump(b *testing.B, push, pull *Socket, body []byte, check func(Msg) error) {
	ctx := context.Background()
	recvd := make(chan error, 1)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for range b.N {
			m, err := pull.Recv(ctx)
			if err == nil {
				err = check(m)
			}
			if err != nil {
				recvd <- err
				return
			}
		}
		recvd <- nil
	}()
	for range b.N {
		if err := push.Send(ctx, NewMsg(body)); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-recvd; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkReqRep measures the round trip of a 1-byte request and its
// reply over loopback TCP: ns/op is the latency.
func BenchmarkReqRep(b *testing.B) {
	rep, req := benchPair(b, REP, REQ)
	ctx := context.Background()
	served := make(chan error, 1)
	go func() {
		for {
			m, err := rep.Recv(ctx)
			if err != nil {
				served <- err // ErrClosed once the benchmark closes rep
				return
			}
			if err := rep.Send(ctx, m); err != nil {
				served <- err
				return
			}
		}
	}()
	b.Cleanup(func() {
		rep.Close()
		<-served
	})
	body := []byte{'x'}
	roundTrip := func() {
		if err := req.Send(ctx, NewMsg(body)); err != nil {
			b.Fatal(err)
		}
		m, err := req.Recv(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(m.Frames) != 1 || len(m.Frames[0]) != 1 {
			b.Fatalf("reply %q", m.Frames)
		}
	}
	roundTrip() // the handshake is not what is measured
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		roundTrip()
	}
}

func sizeName(n int) string {
	switch {
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	default:
		return fmt.Sprintf("%dB", n)
	}
}
