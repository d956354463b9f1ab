package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/zmtpgo/zmtp/sockets"
)

// memSrv binds a ROUTER socket and reports how much the resident set grew
// per connection once n peers have each sent their hello and settle has
// passed. Like zmqbench it reads VmRSS as is: no forced GC, so garbage the
// handshakes left behind counts, as it does for the operating system. A
// port-0 endpoint is named on standard error only once the "before"
// figure is read: a client that waits for the name cannot be counted in it.
func (p *perfRun) memSrv(ep string, n int, settle time.Duration) error {
	if n < 1 {
		return fmt.Errorf("N must be at least 1")
	}
	s, err := p.boundQuiet(ep, sockets.ROUTER, sockets.WithLinger(0))
	if err != nil {
		return err
	}
	defer s.Close()
	if err := p.sleep(200 * time.Millisecond); err != nil {
		return err
	}
	before := perfRSSKiB()
	p.announce(ep, s) // a port-0 endpoint is named only now, baseline read
	ctx := p.ctx
	// Every peer sends exactly one hello, so n messages means n live peers.
	for range n {
		if _, err := s.Recv(ctx); err != nil {
			return fmt.Errorf("recv: %w", err)
		}
	}
	if err := p.sleep(settle); err != nil {
		return err
	}
	after := perfRSSKiB()
	p.result("mem", "conns=%d rss_before_kib=%d rss_after_kib=%d bytes_per_conn=%.0f",
		n, before, after, float64(after-before)*1024/float64(n))
	return nil
}

// memCli connects n DEALER sockets, sends one hello on each and holds them
// open for hold.
func (p *perfRun) memCli(ep string, n int, hold time.Duration) error {
	socks := make([]*sockets.Socket, 0, n)
	defer func() {
		for _, s := range socks {
			s.Close()
		}
	}()
	ctx := p.ctx
	for range n {
		s, err := p.connected(sockets.DEALER, ep, sockets.WithLinger(0))
		if err != nil {
			return err
		}
		socks = append(socks, s)
		if err := s.Send(ctx, sockets.NewMsgString("hello")); err != nil {
			return fmt.Errorf("send: %w", err)
		}
	}
	return p.sleep(hold)
}

// perfRSSKiB returns the resident set size from /proc/self/status, or -1.
func perfRSSKiB() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return -1
			}
			return kib
		}
	}
	return -1
}
