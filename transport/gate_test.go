package transport

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/zmtpgo/zmtp/fsm"
)

// startRules is the order of the accepting role's Start checks in the spec;
// TestStartArmAsksTheGateInRuleOrder keeps it honest.
var startRules = []Rule{RuleACL, RulePeersPerIP, RuleHandshakesPerIP, RulePeers, RuleHandshakes}

// admitAll runs the Start rules the way the machine does: in order, and on
// the first refusal frees what the earlier ones took.
func admitAll(g *Gate, s *gateSlot) error {
	for _, r := range startRules {
		if err := g.admit(r, s); err != nil {
			g.closed(s, fsm.ReasonNone)
			return err
		}
	}
	return nil
}

func tcpAddr(s string) *net.TCPAddr {
	return net.TCPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(s), 5555))
}

func TestParsePrefixes(t *testing.T) {
	got, err := ParsePrefixes([]string{"10.0.0.0/8", " 127.0.0.2 ", "2001:db8::/32", "::1", "10.1.2.3/16", "::ffff:192.168.0.0/112", "::ffff:0:0/95"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "127.0.0.2/32", "2001:db8::/32", "::1/128", "10.1.0.0/16", "192.168.0.0/16", "::fffe:0:0/95"}
	var gotS []string
	for _, p := range got {
		gotS = append(gotS, p.String())
	}
	if diff := cmp.Diff(want, gotS); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{"", "10.0.0/8", "10.0.0.0/33", "example.com", "fe80::1%eth0", "::1/129", "1.2.3.4/"} {
		_, err := ParsePrefixes([]string{"10.0.0.0/8", bad})
		if !errors.Is(err, ErrInvalidPrefix) {
			t.Errorf("ParsePrefixes(%q) = %v, want ErrInvalidPrefix", bad, err)
			continue
		}
		if want := fmt.Sprintf("%q", bad); !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name the entry %s", err, want)
		}
	}
}

func TestAcceptFromLists(t *testing.T) {
	g := NewGate()
	must := func(cidrs ...string) []netip.Prefix {
		ps, err := ParsePrefixes(cidrs)
		if err != nil {
			t.Fatal(err)
		}
		return ps
	}
	type probe struct {
		addr string
		ok   bool
	}
	for _, tc := range []struct {
		name        string
		allow, deny []netip.Prefix
		probes      []probe
	}{
		{"open", nil, nil, []probe{{"127.0.0.2", true}, {"::1", true}, {"2001:db8::1", true}}},
		{"allow v4 only", must("127.0.0.0/30"), nil, []probe{{"127.0.0.2", true}, {"127.0.0.4", false}, {"::1", false}, {"::ffff:127.0.0.3", true}}},
		{"deny wins", must("127.0.0.0/8"), must("127.0.0.2"), []probe{{"127.0.0.2", false}, {"::ffff:127.0.0.2", false}, {"127.0.0.3", true}}},
		{"deny only", nil, must("::1", "10.0.0.0/8"), []probe{{"::1", false}, {"::2", true}, {"10.9.9.9", false}, {"127.0.0.1", true}}},
		{"mapped prefix matches v4", nil, must("::ffff:127.0.0.0/104"), []probe{{"127.0.0.9", false}, {"128.0.0.1", true}}},
		{"v6 /64", must("2001:db8:0:1::/64"), nil, []probe{{"2001:db8:0:1::99", true}, {"2001:db8:0:2::1", false}, {"fe80::1%eth0", false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g.SetAcceptFrom(tc.allow, tc.deny, false)
			for _, p := range tc.probes {
				err := g.Check(netip.MustParseAddr(p.addr))
				if (err == nil) != p.ok {
					t.Errorf("%s: Check = %v, want allowed=%v", p.addr, err, p.ok)
				}
				s := g.slotFor(tcpAddr(p.addr))
				if err := g.admit(RuleACL, &s); (err == nil) != p.ok {
					t.Errorf("%s: admit = %v, want allowed=%v", p.addr, err, p.ok)
				}
			}
		})
	}
	// A peer without an IP address (ipc) passes any list.
	g.SetAcceptFrom(must("10.0.0.0/8"), nil, false)
	s := g.slotFor(&net.UnixAddr{Name: "@x", Net: "unix"})
	if err := admitAll(g, &s); err != nil {
		t.Errorf("unix peer refused: %v", err)
	}
}

func TestRejectErrorNamesTheRule(t *testing.T) {
	g := NewGate()
	deny, _ := ParsePrefixes([]string{"127.0.0.0/30"})
	allow, _ := ParsePrefixes([]string{"127.0.0.0/24"})
	g.SetAcceptFrom(allow, deny, false)
	if err := g.SetLimits(Limits{MaxPeersPerIP: 1, MaxPeers: 2, PerIPv6Prefix: 64}); err != nil {
		t.Fatal(err)
	}
	try := func(addr string) error {
		s := g.slotFor(tcpAddr(addr))
		return admitAll(g, &s)
	}
	for _, tc := range []struct {
		addr   string
		reason fsm.Reason
		text   string
	}{
		{"127.0.0.2", fsm.ReasonACLDenied, "zmtp: 127.0.0.2 is denied by 127.0.0.0/30"},
		{"127.0.1.1", fsm.ReasonACLDenied, "zmtp: 127.0.1.1 is in no allow prefix"},
		{"127.0.0.5", fsm.ReasonNone, ""},
		{"127.0.0.5", fsm.ReasonPeerLimitPerIP, "zmtp: max-peers-per-ip 1 reached for 127.0.0.5"},
		{"127.0.0.6", fsm.ReasonNone, ""},
		{"127.0.0.7", fsm.ReasonPeerLimit, "zmtp: max-peers 2 reached"},
	} {
		err := try(tc.addr)
		if tc.reason == fsm.ReasonNone {
			if err != nil {
				t.Fatalf("%s: %v", tc.addr, err)
			}
			continue
		}
		var re *RejectError
		if !errors.As(err, &re) || re.Rule.Reason() != tc.reason || err.Error() != tc.text {
			t.Errorf("%s: got %v, want %s %q", tc.addr, err, tc.reason, tc.text)
		}
	}
	// An IPv6 peer is counted under its /64 and the error says so.
	g.SetAcceptFrom(nil, nil, false)
	g.SetLimits(Limits{MaxPeersPerIP: 1, PerIPv6Prefix: 64})
	if err := try("2001:db8::1"); err != nil {
		t.Fatal(err)
	}
	err := try("2001:db8::2")
	if want := "zmtp: max-peers-per-ip 1 reached for 2001:db8::/64"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	if err := try("2001:db8:0:1::1"); err != nil {
		t.Errorf("another /64 refused: %v", err)
	}
	for _, r := range []Rule{RuleACL, RulePeersPerIP, RuleHandshakesPerIP, RulePeers, RuleHandshakes} {
		if r.Reason() == fsm.ReasonNone || r.String() == "" {
			t.Errorf("rule %d has no reason or name", r)
		}
	}
}

func TestSetLimitsValidates(t *testing.T) {
	g := NewGate()
	for _, l := range []Limits{{MaxPeers: -1}, {MaxPeersPerIP: -2}, {MaxHandshakes: -1}, {MaxHandshakesPerIP: -1}, {PerIPv6Prefix: 129}, {PerIPv6Prefix: -1}} {
		if err := g.SetLimits(l); !errors.Is(err, ErrInvalidLimit) {
			t.Errorf("SetLimits(%+v) = %v, want ErrInvalidLimit", l, err)
		}
	}
	want := Limits{MaxPeers: 3, MaxPeersPerIP: 2, MaxHandshakes: 5, MaxHandshakesPerIP: 1, PerIPv6Prefix: 64}
	if err := g.SetLimits(want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, g.Limits()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestHandshakeSlotsFreeAtReadyOrClose checks that a handshake slot is
// freed by HandshakeSucceeded and the peer slot only by the close, and that
// the close after a success frees nothing twice.
func TestHandshakeSlotsFreeAtReadyOrClose(t *testing.T) {
	g := NewGate()
	g.SetLimits(Limits{MaxHandshakes: 1, MaxHandshakesPerIP: 1, MaxPeers: 2})
	a, b, c := g.slotFor(tcpAddr("127.0.0.2")), g.slotFor(tcpAddr("127.0.0.2")), g.slotFor(tcpAddr("127.0.0.3"))
	if err := admitAll(g, &a); err != nil {
		t.Fatal(err)
	}
	var re *RejectError
	if err := admitAll(g, &b); !errors.As(err, &re) || re.Rule != RuleHandshakesPerIP {
		t.Fatalf("second handshake from the same address: %v", err)
	}
	if err := admitAll(g, &c); !errors.As(err, &re) || re.Rule != RuleHandshakes {
		t.Fatalf("second handshake: %v", err)
	}
	g.handshakeDone(&a)
	if st := g.Stats(); st.Handshakes != 0 || st.Peers != 1 {
		t.Fatalf("after Ready: %+v", st)
	}
	if err := admitAll(g, &b); err != nil {
		t.Fatalf("handshake slot not freed by Ready: %v", err)
	}
	g.closed(&b, fsm.ReasonHandshakeTimeout)
	g.closed(&a, fsm.ReasonPeerClosed)
	g.closed(&a, fsm.ReasonPeerClosed) // idempotent
	want := GateStats{Accepted: 0, RejectedHandshakes: 1, RejectedHandshakesPerIP: 1, HandshakeTimeouts: 1}
	if diff := cmp.Diff(want, g.Stats()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if n := g.countIP(a.key); n != (ipCount{}) {
		t.Errorf("per-IP counts left behind: %+v", n)
	}
}

// TestGateCapsExactUnderConcurrency hammers one gate from many goroutines
// with connects and closes from a few addresses. Each goroutine counts a
// connection as live only between its admission and its release, so the
// live counts can never be above what the gate holds: any moment they
// exceed a cap is the gate admitting one too many.
func TestGateCapsExactUnderConcurrency(t *testing.T) {
	const (
		workers, rounds    = 8, 400
		maxPeers, maxPerIP = 6, 3 // 5 addresses: the per-IP caps alone would allow 15
		maxHS, maxHSPerIP  = 4, 2
	)
	g := NewGate()
	g.SetLimits(Limits{MaxPeers: maxPeers, MaxPeersPerIP: maxPerIP, MaxHandshakes: maxHS, MaxHandshakesPerIP: maxHSPerIP})
	addrs := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "::1"}
	var live, hs atomic.Int64
	var liveIP, hsIP [5]atomic.Int64
	var over atomic.Value
	check := func(what string, n, max int64) {
		if n > max {
			over.Store(fmt.Sprintf("%s = %d, cap %d", what, n, max))
		}
	}
	var wg sync.WaitGroup
	var admitted atomic.Int64
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				k := (w + i) % len(addrs)
				s := g.slotFor(tcpAddr(addrs[k]))
				if admitAll(g, &s) != nil {
					continue
				}
				admitted.Add(1)
				check("peers", live.Add(1), maxPeers)
				check("peers from "+addrs[k], liveIP[k].Add(1), maxPerIP)
				check("handshakes", hs.Add(1), maxHS)
				check("handshakes from "+addrs[k], hsIP[k].Add(1), maxHSPerIP)
				runtime.Gosched() // let others in while this one holds its slots
				hs.Add(-1)
				hsIP[k].Add(-1)
				if i%3 != 0 {
					g.handshakeDone(&s)
				}
				liveIP[k].Add(-1)
				live.Add(-1)
				g.closed(&s, fsm.ReasonPeerClosed)
			}
		})
	}
	wg.Wait()
	if v := over.Load(); v != nil {
		t.Fatalf("a cap was exceeded: %s", v)
	}
	st := g.Stats()
	// admitAll does not count acceptances (the listener does): every
	// attempt is either admitted here or rejected by exactly one rule.
	total := uint64(admitted.Load()) + st.RejectedACL + st.RejectedPeers + st.RejectedPeersPerIP + st.RejectedHandshakes + st.RejectedHandshakesPerIP
	if st.Peers != 0 || st.Handshakes != 0 || total != workers*rounds {
		t.Fatalf("after every close: %+v", st)
	}
	for _, a := range addrs {
		s := g.slotFor(tcpAddr(a))
		if n := g.countIP(s.key); n != (ipCount{}) {
			t.Errorf("%s: per-IP counts left behind: %+v", a, n)
		}
	}
}
