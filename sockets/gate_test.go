package sockets

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/zmtpgo/zmtp/fsm"
	"github.com/zmtpgo/zmtp/transport"
)

const gateWait = 10 * time.Second

// rawDial connects to a socket's last endpoint from the loopback source
// src and reports whether the gate admitted it: an admitted peer gets the
// first byte of a greeting and the open connection; a refused one a reset,
// on its first read or already at connect.
func rawDial(ep, src string) (net.Conn, bool, error) {
	d := net.Dialer{Timeout: gateWait, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	nc, err := d.Dial("tcp", strings.TrimPrefix(ep, "tcp://"))
	if errors.Is(err, syscall.ECONNRESET) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	nc.SetReadDeadline(time.Now().Add(gateWait))
	defer nc.SetReadDeadline(time.Time{})
	var b [1]byte
	n, err := nc.Read(b[:])
	switch {
	case n == 1 && b[0] == 0xFF:
		return nc, true, nil
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		nc.Close()
		return nil, false, nil
	}
	nc.Close()
	return nil, false, fmt.Errorf("from %s: neither a greeting nor a close: %d bytes, %v", src, n, err)
}

// mustRawDial dials from src and fails unless the gate decides as wantIn
// says; it returns the connection, open, when admitted.
func mustRawDial(t *testing.T, ep, src string, wantIn bool) net.Conn {
	t.Helper()
	nc, in, err := rawDial(ep, src)
	if err != nil {
		t.Fatal(err)
	}
	if nc != nil {
		t.Cleanup(func() { nc.Close() })
	}
	if in != wantIn {
		t.Fatalf("from %s: admitted=%v, want %v", src, in, wantIn)
	}
	return nc
}

// rawHandshake completes a NULL handshake as a PUSH after rawDial.
func rawHandshake(nc net.Conn) error {
	nc.SetDeadline(time.Now().Add(gateWait))
	defer nc.SetDeadline(time.Time{})
	ready := transport.AppendCommandBody(nil, transport.CmdReady, transport.Metadata{{Name: transport.PropSocketType, Value: []byte("PUSH")}}.Append(nil))
	out := transport.Greeting{Major: 3, Minor: 1, Mechanism: transport.MechanismNull}.Append(nil)
	out = append(append(out, transport.AppendFrameHeader(nil, transport.FlagCommand, len(ready))...), ready...)
	if _, err := nc.Write(out); err != nil {
		return err
	}
	r := transport.NewReader(nc, 1<<20)
	var rest [transport.GreetingSize - 1]byte
	if err := r.ReadFull(rest[:]); err != nil {
		return err
	}
	_, err := r.ReadFrame()
	return err
}

func TestGateOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		opt  Option
		is   error
		text string
	}{
		{WithAllow("127.0.0.0/8", "10.0.0/8"), transport.ErrInvalidPrefix, `WithAllow: zmtp: invalid accept-from prefix "10.0.0/8"`},
		{WithDeny("localhost"), transport.ErrInvalidPrefix, `WithDeny: zmtp: invalid accept-from prefix "localhost"`},
		{WithMaxPeers(-1), transport.ErrInvalidLimit, "WithMaxPeers: "},
		{WithMaxHandshakesPerIP(-3), transport.ErrInvalidLimit, "WithMaxHandshakesPerIP: "},
		{WithPerIPv6Prefix(200), transport.ErrInvalidLimit, "WithPerIPv6Prefix: "},
	} {
		s, err := New(PULL, tc.opt)
		if err == nil {
			s.Close()
		}
		if !errors.Is(err, tc.is) || !strings.HasPrefix(err.Error(), tc.text) {
			t.Errorf("New: %v, want %v starting %q", err, tc.is, tc.text)
		}
	}
	s := newSock(t, PULL, WithAllow("127.0.0.0/8"), WithDeny("127.0.0.2"), WithAllow("::1"))
	if err := s.SetAcceptFrom([]string{"10.0.0.0/8"}, []string{"::1/200"}, false); !errors.Is(err, transport.ErrInvalidPrefix) || !strings.Contains(err.Error(), `deny list: zmtp: invalid accept-from prefix "::1/200"`) {
		t.Errorf("SetAcceptFrom: %v", err)
	}
	allow, deny := s.Gate().AcceptFrom()
	if fmt.Sprint(allow, deny) != "[127.0.0.0/8 ::1/128] [127.0.0.2/32]" {
		t.Errorf("a failed SetAcceptFrom changed the lists, or the options did not add up: %v %v", allow, deny)
	}
}

// TestAcceptFromBeforeAndAfterBind sets the lists with options before
// Bind, then changes them on the running socket.
func TestAcceptFromBeforeAndAfterBind(t *testing.T) {
	mon := newMonitorLog()
	pull := newSock(t, PULL, WithDeny("127.0.0.2"), WithMonitor(mon.add))
	if err := pull.Bind("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ep := pull.LastEndpoint()
	mustRawDial(t, ep, "127.0.0.2", false)
	ev := mon.wait(t, transport.EventRejected, "127.0.0.2:")
	var re *transport.RejectError
	if ev.Reason != fsm.ReasonACLDenied || !errors.As(ev.Err, &re) || re.Rule != transport.RuleACL || re.Addr.String() != "127.0.0.2" {
		t.Fatalf("rejected event %v", ev)
	}
	push := newSock(t, PUSH) // from 127.0.0.1
	if err := push.Connect(ep); err != nil {
		t.Fatal(err)
	}
	mustSend(t, push, "from 127.0.0.1")
	mustRecv(t, pull, "from 127.0.0.1")

	// After Bind: allow only 127.0.0.3; 127.0.0.1 keeps its connection
	// (dropLive false) but a new one from 127.0.0.4 is refused.
	if err := pull.SetAcceptFrom([]string{"127.0.0.3/32"}, nil, false); err != nil {
		t.Fatal(err)
	}
	mustRawDial(t, ep, "127.0.0.4", false)
	in := mustRawDial(t, ep, "127.0.0.3", true)
	if err := rawHandshake(in); err != nil {
		t.Fatal(err)
	}
	mon.wait(t, transport.EventHandshakeSucceeded, "127.0.0.3:")
	mustSend(t, push, "kept")
	mustRecv(t, pull, "kept")
	st := pull.GateStats()
	if st.Accepted != 2 || st.RejectedACL != 2 || st.Peers != 2 || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}

	// Dropping live: 127.0.0.1 is no longer allowed and goes.
	if err := pull.SetAcceptFrom([]string{"127.0.0.3/32"}, nil, true); err != nil {
		t.Fatal(err)
	}
	ev = mon.wait(t, transport.EventDisconnected, "127.0.0.1:")
	if ev.Reason != fsm.ReasonClosed {
		t.Errorf("dropped connection closed with %v", ev)
	}
	if st := pull.GateStats(); st.Dropped != 1 {
		t.Errorf("stats after the drop %+v", st)
	}
}

// TestMaxPeersOnSocket binds two endpoints sharing one cap of 2 peers:
// a third is refused with PeerLimit until one of the two goes.
func TestMaxPeersOnSocket(t *testing.T) {
	mon := newMonitorLog()
	pull := newSock(t, PULL, WithMaxPeers(2), WithMonitor(mon.add))
	var eps []string
	for range 2 {
		if err := pull.Bind("tcp://127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		eps = append(eps, pull.LastEndpoint())
	}
	var pushes []*Socket
	for i, ep := range eps {
		push := newSock(t, PUSH, WithLinger(0))
		if err := push.Connect(ep); err != nil {
			t.Fatal(err)
		}
		mustSend(t, push, fmt.Sprint("peer ", i))
		mustRecv(t, pull, fmt.Sprint("peer ", i))
		pushes = append(pushes, push)
	}
	mustRawDial(t, eps[1], "127.0.0.3", false)
	ev := mon.wait(t, transport.EventRejected, "127.0.0.3:")
	if ev.Reason != fsm.ReasonPeerLimit || !strings.Contains(ev.Err.Error(), "max-peers 2 reached") {
		t.Fatalf("rejected event %v", ev)
	}
	pushes[0].Close()
	mon.wait(t, transport.EventClosed, "127.0.0.1:")
	mustRawDial(t, eps[0], "127.0.0.3", true)
	st := pull.GateStats()
	if st.Accepted != 3 || st.RejectedPeers != 1 || st.Peers != 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestPropertySocketGate drives a bound PULL with random connects from
// random loopback sources (some completing their handshake), and random
// closes, and after each step compares the socket's GateStats with a
// model's.
func TestPropertySocketGate(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		capGen := rapid.IntRange(0, 2)
		l := transport.Limits{MaxPeers: capGen.Draw(rt, "maxPeers"), MaxPeersPerIP: capGen.Draw(rt, "maxPeersPerIP"),
			MaxHandshakes: capGen.Draw(rt, "maxHandshakes"), MaxHandshakesPerIP: capGen.Draw(rt, "maxHandshakesPerIP")}
		mon := newMonitorLog()
		pull, err := New(PULL, WithMonitor(mon.add), WithLinger(0))
		if err != nil {
			rt.Fatal(err)
		}
		defer pull.Close()
		if err := pull.SetLimits(l); err != nil {
			rt.Fatal(err)
		}
		if err := pull.Bind("tcp://127.0.0.1:0"); err != nil {
			rt.Fatal(err)
		}
		ep := pull.LastEndpoint()
		type conn struct {
			nc          net.Conn
			src         string
			handshaking bool
		}
		var conns []*conn
		defer func() {
			for _, c := range conns {
				c.nc.Close()
			}
		}()
		var want transport.GateStats
		perIP := map[string][2]int{} // peers, handshakes
		steps := rapid.IntRange(1, 12).Draw(rt, "steps")
		for range steps {
			switch {
			case len(conns) == 0 || rapid.IntRange(0, 2).Draw(rt, "op") > 0: // connect
				src := rapid.SampledFrom([]string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}).Draw(rt, "src")
				nc, in, err := rawDial(ep, src)
				if err != nil {
					rt.Fatal(err)
				}
				n := perIP[src]
				over := func(have, limit int) bool { return limit > 0 && have >= limit }
				var wantIn bool
				switch {
				case over(n[0], l.MaxPeersPerIP):
					want.RejectedPeersPerIP++
				case over(n[1], l.MaxHandshakesPerIP):
					want.RejectedHandshakesPerIP++
				case over(want.Peers, l.MaxPeers):
					want.RejectedPeers++
				case over(want.Handshakes, l.MaxHandshakes):
					want.RejectedHandshakes++
				default:
					wantIn = true
				}
				if in != wantIn {
					if nc != nil {
						nc.Close()
					}
					rt.Fatalf("connect from %s: admitted=%v, model says %v (stats %+v)", src, in, wantIn, pull.GateStats())
				}
				if !in {
					break
				}
				want.Accepted++
				want.Peers++
				want.Handshakes++
				perIP[src] = [2]int{n[0] + 1, n[1] + 1}
				c := &conn{nc: nc, src: src, handshaking: true}
				conns = append(conns, c)
				if rapid.Bool().Draw(rt, "handshake") {
					from := mon.Len()
					if err := rawHandshake(nc); err != nil {
						rt.Fatal(err)
					}
					waitPeer(rt, mon, from, transport.EventHandshakeSucceeded, nc.LocalAddr().String())
					c.handshaking = false
					want.Handshakes--
					perIP[src] = [2]int{n[0] + 1, n[1]}
				}
			default: // close
				i := rapid.IntRange(0, len(conns)-1).Draw(rt, "close")
				c := conns[i]
				conns = append(conns[:i], conns[i+1:]...)
				from := mon.Len()
				c.nc.Close()
				waitPeer(rt, mon, from, transport.EventClosed, c.nc.LocalAddr().String())
				n := perIP[c.src]
				n[0]--
				want.Peers--
				if c.handshaking {
					n[1]--
					want.Handshakes--
				}
				perIP[c.src] = n
			}
			if got := pull.GateStats(); got != want {
				rt.Fatalf("stats %+v, model %+v", got, want)
			}
		}
	})
}

// waitPeer waits for an event of kind naming peer exactly, after the
// first from events: loopback reuses ports at once, so an earlier
// connection may have had the same address.
func waitPeer(rt *rapid.T, mon *monitorLog, from int, kind transport.EventKind, peer string) {
	mon.Await(rt.Fatalf, gateWait, from, func(e Event) bool { return e.Kind == kind && e.Peer == peer }, kind.String()+" event for "+peer)
}
