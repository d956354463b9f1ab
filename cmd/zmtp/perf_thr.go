package main

import (
	"bytes"
	"fmt"
	"time"

	"github.com/zmtpgo/zmtp/sockets"
)

// thrRecv binds a PULL socket and receives until a 0-byte end marker. The
// first message starts the clock, so the rate is n-1 messages over the
// time from the first to the last, as in zmqbench.
func (p *perfRun) thrRecv(ep string) error {
	s, err := p.bound(ep, sockets.PULL)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := p.ctx
	var (
		n      int64
		size   int
		t0, t1 time.Duration
	)
	// Time is read per message, as zmqbench does with one
	// clock_gettime(CLOCK_MONOTONIC); time.Since on a base reads only the
	// monotonic clock, where time.Now reads the wall clock as well.
	base := time.Now()
	for {
		m, err := s.Recv(ctx)
		if err != nil {
			return err
		}
		sz := len(m.Frames[0])
		// Done with the message: its body goes back for the next receives,
		// as zmqbench's zmq_msg_recv into the same zmq_msg_t releases the
		// last one.
		m.Free()
		if sz == 0 {
			break // end marker
		}
		t1 = time.Since(base)
		if n == 0 {
			t0, size = t1, sz
		} else if sz != size {
			return fmt.Errorf("size mismatch %d != %d", sz, size)
		}
		n++
	}
	secs := (t1 - t0).Seconds()
	var rate float64
	if n > 1 && secs > 0 {
		rate = float64(n-1) / secs
	}
	p.result("thr-recv", "size=%d msgs=%d secs=%.3f msgs_per_s=%.0f MB_per_s=%.2f",
		size, n, secs, rate, rate*float64(size)/1e6)
	return nil
}

// thrSend connects a PUSH socket and sends size-byte messages for secs,
// then the end marker; Close waits (up to the 30 s linger, as zmqbench
// sets) until everything is handed to the kernel.
func (p *perfRun) thrSend(ep string, size int, secs time.Duration) error {
	s, err := p.connected(sockets.PUSH, ep, sockets.WithLinger(30*time.Second))
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := p.ctx
	buf := bytes.Repeat([]byte{'x'}, size)
	var n int64
	t0 := time.Now()
	deadline := t0.Add(secs)
	for {
		// A new Msg per send, as an application would build one; the
		// payload is never modified, so the same bytes can back them all.
		if err := s.Send(ctx, sockets.NewMsg(buf)); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		n++
		if n&255 == 0 && !time.Now().Before(deadline) {
			break
		}
	}
	if err := s.Send(ctx, sockets.NewMsg(nil)); err != nil {
		return fmt.Errorf("send end: %w", err)
	}
	t1 := time.Now()
	s.Close()
	elapsed := t1.Sub(t0).Seconds()
	p.result("thr-send", "size=%d msgs=%d secs=%.3f msgs_per_s=%.0f", size, n, elapsed, float64(n)/elapsed)
	return nil
}
