package transport

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zmtpgo/zmtp/fsm"
)

// Benchmarks of the gate; bench/gate.md has the numbers and commands.

// benchGate returns a gate whose every rule is active and admits every
// peer of the benchmarks: an allow list, a deny list that does not match,
// and caps far above what a run opens.
func benchGate(b *testing.B) *Gate {
	g := NewGate()
	g.SetAcceptFrom(prefixes(b, "127.0.0.0/8", "::1", "192.168.0.0/16"), prefixes(b, "10.0.0.0/8", "172.16.0.0/12", "127.255.0.0/16"), false)
	if err := g.SetLimits(Limits{MaxPeers: 1 << 20, MaxPeersPerIP: 1 << 20, MaxHandshakes: 1 << 20, MaxHandshakesPerIP: 1 << 20}); err != nil {
		b.Fatal(err)
	}
	return g
}

// BenchmarkGateAdmit is the gate's whole cost for one admitted peer: the
// five Start rules, the handshake slots freed at Ready, the rest at the
// close.
func BenchmarkGateAdmit(b *testing.B) {
	g := benchGate(b)
	addr := tcpAddr("127.0.0.2")
	b.ReportAllocs()
	for b.Loop() {
		s := g.slotFor(addr)
		if err := admitAll(g, &s); err != nil {
			b.Fatal(err)
		}
		g.handshakeDone(&s)
		g.closed(&s, fsm.ReasonPeerClosed)
	}
}

// BenchmarkGateAdmitParallel is the same from every P, each with its own
// source address: what several listeners sharing a gate, and connections
// closing on their own goroutines, cost each other.
func BenchmarkGateAdmitParallel(b *testing.B) {
	g := benchGate(b)
	var next atomic.Int32
	b.RunParallel(func(pb *testing.PB) {
		n := next.Add(1)
		addr := tcpAddr(fmt.Sprintf("127.0.%d.%d", n/250, 1+n%250))
		for pb.Next() {
			s := g.slotFor(addr)
			admitAll(g, &s)
			g.handshakeDone(&s)
			g.closed(&s, fsm.ReasonPeerClosed)
		}
	})
}

// benchListener binds a PULL listener with gate g (nil: none) and the
// handshake timeout d.
func benchListener(b *testing.B, g *Gate, d time.Duration) string {
	return benchListenerCfg(b, &Config{SocketType: PULL, Gate: g, Handler: dropHandler{}, HandshakeTimeout: d})
}

// benchListenerCfg binds a listener with cfg on loopback and returns its
// address.
func benchListenerCfg(b *testing.B, cfg *Config) string {
	b.Helper()
	l, err := Listen("tcp://127.0.0.1:0", cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	return l.Addr().String()
}

// abort closes nc with a reset, so a benchmark leaves no TIME_WAIT behind
// to run out of ports.
func abort(nc net.Conn) { refuse(nc) }

// handshakeOnce dials from src, completes a NULL handshake and hangs up.
func handshakeOnce(addr, src string) error {
	nc, ok, err := probe(addr, src)
	if !ok {
		return fmt.Errorf("refused: %v", err)
	}
	defer abort(nc)
	return clientHandshake(nc)
}

var benchSrcs = []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"}

// BenchmarkAcceptHandshake is a client's connect and NULL handshake over
// loopback TCP, one at a time: without a gate, with a gate that has no
// rules, and with every rule active and passing. The difference is what
// the gate costs the accept path.
func BenchmarkAcceptHandshake(b *testing.B) {
	for _, tc := range []struct {
		name string
		gate func(*testing.B) *Gate
	}{
		{"gate=none", func(*testing.B) *Gate { return nil }},
		{"gate=open", func(*testing.B) *Gate { return NewGate() }},
		{"gate=all-rules", benchGate},
	} {
		b.Run(tc.name, func(b *testing.B) {
			addr := benchListener(b, tc.gate(b), 0)
			i := 0
			for b.Loop() {
				if err := handshakeOnce(addr, benchSrcs[i%len(benchSrcs)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
		})
	}
}

// BenchmarkReject is a refused connection as the refused peer sees it:
// connect, then read the server's close. One address is denied by the ACL,
// or is over a per-IP cap, or over the peer cap.
func BenchmarkReject(b *testing.B) {
	for _, tc := range []struct {
		name  string
		setup func(*Gate)
		hold  int // connections opened first to fill a cap
	}{
		{"rule=acl", func(g *Gate) { g.SetAcceptFrom(nil, prefixes(b, "127.0.0.2"), false) }, 0},
		{"rule=max-peers-per-ip", func(g *Gate) { g.SetLimits(Limits{MaxPeersPerIP: 1}) }, 1},
		{"rule=max-peers", func(g *Gate) { g.SetLimits(Limits{MaxPeers: 1}) }, 1},
	} {
		b.Run(tc.name, func(b *testing.B) {
			g := NewGate()
			tc.setup(g)
			addr := benchListener(b, g, 0)
			for range tc.hold {
				mustAdmit(b, addr, "127.0.0.2")
			}
			for b.Loop() {
				nc, ok, err := probe(addr, "127.0.0.2")
				if ok || err != nil {
					b.Fatalf("not refused: %v", err)
				}
				if nc != nil {
					abort(nc)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rejects/s")
			if st := g.Stats(); st.Accepted != uint64(tc.hold) {
				b.Fatalf("stats %+v", st)
			}
		})
	}
}

// BenchmarkHandshakeUnderFlood is a legitimate client's connect and
// handshake from 127.0.0.1, without and with a flood: one loop dialling
// from 127.0.0.2 as fast as it can, holding its newest 500 connections
// silent. The flood runs in another process (the test binary again, as
// TestFloodHelper), as a flooder would, or as a goroutine of this one,
// where it also competes for the server's scheduler. The per-IP caps
// refuse the flood at accept.
func BenchmarkHandshakeUnderFlood(b *testing.B) {
	for _, variant := range []string{"none", "process", "goroutine", "none,defer", "process,defer", "talking,defer"} {
		flood, deferred := strings.CutSuffix(variant, ",defer")
		talk := flood == "talking"
		if talk {
			flood = "process"
		}
		b.Run("flood="+variant, func(b *testing.B) {
			g := NewGate()
			g.SetLimits(Limits{MaxPeersPerIP: 8, MaxHandshakesPerIP: 4, MaxHandshakes: 64, MaxPeers: 1024})
			cfg := &Config{SocketType: PULL, Gate: g, Handler: dropHandler{}, HandshakeTimeout: time.Second}
			// With DeferAccept the flood's silent connections never reach
			// accept; the legitimate client greets first, as ZMTP clients
			// do (handshakeOnce waits for the server's first byte, which a
			// deferring server sends only after the client's).
			client := handshakeOnce
			if deferred {
				cfg.DeferAccept = time.Second
				client = greetFirst
			}
			addr := benchListenerCfg(b, cfg)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var dials atomic.Int64
			var stop func() int64
			switch flood {
			case "process":
				stop = floodProcess(b, addr, talk)
			case "goroutine":
				on, done := make(chan struct{}), make(chan struct{})
				go func() {
					defer close(done)
					floodFrom(ctx, addr, "127.0.0.2", 500, &dials, on, false)
				}()
				<-on
				stop = func() int64 { cancel(); <-done; return dials.Load() }
			}
			r0 := g.Stats()
			for b.Loop() {
				if err := client(addr, "127.0.0.1"); err != nil {
					b.Fatal(err)
				}
			}
			elapsed := b.Elapsed()
			r1 := g.Stats()
			if stop != nil {
				stop()
				rejects := r1.RejectedPeersPerIP + r1.RejectedHandshakesPerIP - r0.RejectedPeersPerIP - r0.RejectedHandshakesPerIP
				b.ReportMetric(float64(rejects)/elapsed.Seconds(), "flood-rejects/s")
			}
		})
	}
}

// floodProcess starts TestFloodHelper in a child process flooding addr,
// waits until the flood is on, and returns the function that stops it and
// reports its dials.
func floodProcess(b *testing.B, addr string, talk bool) (stop func() int64) {
	args := []string{os.Args[0], "-test.run=^TestFloodHelper$", "-test.count=1", "-test.v"}
	if cpu := os.Getenv("ZMTP_FLOOD_CPU"); cpu != "" {
		// Pin the flood to its own CPU (run the benchmark under taskset on
		// another), as a flooder on another host would not share ours.
		args = append([]string{"taskset", "-c", cpu}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "ZMTP_FLOOD_ADDR="+addr)
	if talk {
		cmd.Env = append(cmd.Env, "ZMTP_FLOOD_BYTE=1")
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "flood on" {
	}
	return func() int64 {
		in.Close()
		var n int64
		for sc.Scan() {
			fmt.Sscanf(sc.Text(), "flood dials=%d", &n)
		}
		if err := cmd.Wait(); err != nil {
			b.Errorf("flood process: %v", err)
		}
		return n
	}
}

// TestFloodHelper is not a test: it is the flooding process of
// BenchmarkHandshakeUnderFlood, run with ZMTP_FLOOD_ADDR set. It floods
// until its standard input closes, for at most a minute.
func TestFloodHelper(t *testing.T) {
	addr := os.Getenv("ZMTP_FLOOD_ADDR")
	if addr == "" {
		t.Skip("the flooding process of BenchmarkHandshakeUnderFlood")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go func() {
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	var dials atomic.Int64
	on := make(chan struct{})
	go func() {
		<-on
		fmt.Println("flood on")
	}()
	floodFrom(ctx, addr, "127.0.0.2", 500, &dials, on, os.Getenv("ZMTP_FLOOD_BYTE") != "")
	fmt.Printf("flood dials=%d\n", dials.Load())
}

// floodFrom dials addr from src until ctx ends, holding the newest n
// connections open and silent, or, with talk, after one byte (the first
// of a greeting: what a flood must send to get past DeferAccept). It
// closes on once the floods sharing dials have made 200 attempts.
func floodFrom(ctx context.Context, addr, src string, n int, dials *atomic.Int64, on chan struct{}, talk bool) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	var held []net.Conn
	defer func() {
		for _, nc := range held {
			abort(nc)
		}
	}()
	for ctx.Err() == nil {
		nc, err := d.DialContext(ctx, "tcp", addr)
		if dials.Add(1) == 200 {
			close(on)
		}
		if err != nil {
			continue
		}
		if talk {
			nc.Write([]byte{0xFF})
		}
		held = append(held, nc)
		if len(held) > n {
			abort(held[0])
			held = held[1:]
		}
	}
}
