package main

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/zmtpgo/zmtp/sockets"
)

// latSrv binds a REP socket and echoes count requests.
func (p *perfRun) latSrv(ep string, count int) error {
	s, err := p.bound(ep, sockets.REP)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := p.ctx
	for range count {
		m, err := s.Recv(ctx)
		if err != nil {
			return fmt.Errorf("recv: %w", err)
		}
		if err := s.Send(ctx, m); err != nil {
			return fmt.Errorf("send: %w", err)
		}
	}
	return nil
}

// latCli connects a REQ socket, makes warmup untimed and count timed round
// trips of size bytes, and reports mean, p50, p99 and max in µs.
func (p *perfRun) latCli(ep string, size, count, warmup int) error {
	if count < 1 {
		return fmt.Errorf("COUNT must be at least 1")
	}
	s, err := p.connected(sockets.REQ, ep)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := p.ctx
	buf := bytes.Repeat([]byte{'x'}, size)
	rtt, err := timeRoundTrips(warmup, count, size, func() (int, error) {
		if err := s.Send(ctx, sockets.NewMsg(buf)); err != nil {
			return 0, fmt.Errorf("send: %w", err)
		}
		m, err := s.Recv(ctx)
		if err != nil {
			return 0, fmt.Errorf("recv: %w", err)
		}
		if len(m.Frames) != 1 {
			return -1, nil
		}
		return len(m.Frames[0]), nil
	})
	if err != nil {
		return err
	}
	p.latResult("lat", size, rtt)
	return nil
}

// timeRoundTrips runs rt warmup times untimed, then count times timed,
// and returns the count durations in µs. rt returns the size of the reply,
// which is checked against size outside the timing, as zmqbench times
// only the send and the receive.
func timeRoundTrips(warmup, count, size int, rt func() (int, error)) ([]float64, error) {
	rtt := make([]float64, count)
	for i := range warmup + count {
		t0 := time.Now()
		n, err := rt()
		d := time.Since(t0)
		if err != nil {
			return nil, err
		}
		if n != size {
			return nil, fmt.Errorf("bad reply size")
		}
		if i >= warmup {
			rtt[i-warmup] = float64(d.Nanoseconds()) / 1e3
		}
	}
	return rtt, nil
}

// latResult reports the mean, p50, p99 and max of round trips in µs, in
// zmqbench's lat-cli form.
func (p *perfRun) latResult(test string, size int, rtt []float64) {
	var sum float64
	for _, v := range rtt {
		sum += v
	}
	slices.Sort(rtt)
	n := len(rtt)
	p.result(test, "size=%d n=%d mean_us=%.2f p50_us=%.2f p99_us=%.2f max_us=%.2f",
		size, n, sum/float64(n), rtt[n/2], rtt[int(float64(n)*0.99)], rtt[n-1])
}
