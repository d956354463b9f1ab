package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zmtpgo/zmtp/sockets"
)

// connSrv binds a ROUTER socket and echoes every message until a "STOP"
// body arrives. An echo to a peer that already left is dropped, as libzmq's
// ROUTER does.
func (p *perfRun) connSrv(ep string) error {
	s, err := p.bound(ep, sockets.ROUTER, sockets.WithLinger(0))
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := p.ctx
	var n int64
	for {
		m, err := s.Recv(ctx)
		if err != nil {
			return fmt.Errorf("recv: %w", err)
		}
		if len(m.Frames) == 2 && string(m.Frames[1]) == "STOP" {
			break
		}
		n++
		if err := s.Send(ctx, m); err != nil {
			return fmt.Errorf("send: %w", err)
		}
	}
	p.result("conn-srv", "echoed=%d", n)
	return nil
}

// connCli keeps up to window DEALER sockets in flight; each is created,
// connects, sends one message, waits for the echo and closes. It stops
// after total cycles or once secs have passed (a socket in flight then
// finishes its cycle), and fails if a cycle is still unanswered 10 s after
// that.
func (p *perfRun) connCli(ep string, total, window int, secs time.Duration) error {
	window = max(window, 1)
	t0 := time.Now()
	deadline := t0.Add(secs)
	ctx, cancel := context.WithDeadline(p.ctx, deadline.Add(10*time.Second))
	defer cancel()

	var started, done atomic.Int64
	// claim reserves the next cycle: the first window cycles start whatever
	// the time, later ones only before the deadline, as in zmqbench.
	claim := func(first bool) bool {
		return started.Add(1) <= int64(total) && (first || time.Now().Before(deadline))
	}
	var wg sync.WaitGroup
	errs := make(chan error, window)
	for range window {
		wg.Go(func() {
			for first := true; claim(first); first = false {
				if err := p.connCycle(ctx, ep); err != nil {
					errs <- err
					cancel()
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	t1 := time.Now()
	select {
	case err := <-errs:
		return fmt.Errorf("conn-cli stuck, %d cycles done: %w", done.Load(), err)
	default:
	}

	// Tell the server to stop.
	stop, err := sockets.New(sockets.DEALER, append([]sockets.Option{sockets.WithLinger(2 * time.Second)}, p.clientSec...)...)
	if err != nil {
		return err
	}
	if err := stop.Connect(ep); err == nil {
		sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
		stop.Send(sctx, sockets.NewMsgString("STOP"))
		scancel()
	}
	stop.Close()

	elapsed := t1.Sub(t0).Seconds()
	p.result("conn", "window=%d cycles=%d secs=%.3f per_s=%.0f", window, done.Load(), elapsed, float64(done.Load())/elapsed)
	return nil
}

// connCycle is one DEALER's life: connect, one echo, close.
func (p *perfRun) connCycle(ctx context.Context, ep string) error {
	s, err := p.connected(sockets.DEALER, ep, sockets.WithLinger(0))
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Send(ctx, sockets.NewMsgString("hi")); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	if _, err := s.Recv(ctx); err != nil {
		return fmt.Errorf("recv: %w", err)
	}
	return nil
}
