package transport

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zmtpgo/zmtp/fsm"
	"github.com/zmtpgo/zmtp/spec"
)

// TestStartArmAsksTheGateInRuleOrder ties the Rule constants to the spec:
// the accepting role's Start arm checks, in order, the guards the rules
// implement, each closing with the rule's reason.
func TestStartArmAsksTheGateInRuleOrder(t *testing.T) {
	x, err := spec.Expand(&spec.Handshake)
	if err != nil {
		t.Fatal(err)
	}
	arms := x.Cell(spec.RoleAccept, "Accepted", "Start")
	if len(arms) != 1 {
		t.Fatalf("Start has %d arms", len(arms))
	}
	guards := map[string]Rule{"ACLAllows": RuleACL, "PeerLimitPerIPAllows": RulePeersPerIP, "HandshakeLimitPerIPAllows": RuleHandshakesPerIP,
		"PeerLimitAllows": RulePeers, "HandshakeLimitAllows": RuleHandshakes}
	var got []Rule
	for _, c := range arms[0].Check {
		r, ok := guards[c.Guard]
		if !ok {
			t.Fatalf("Start checks %s, which is not a gate rule", c.Guard)
		}
		if c.Reason != r.Reason().String() {
			t.Errorf("guard %s closes with %s, rule %s says %s", c.Guard, c.Reason, r, r.Reason())
		}
		got = append(got, r)
	}
	if fmt.Sprint(got) != fmt.Sprint(startRules) {
		t.Errorf("spec asks %v, want %v", got, startRules)
	}
}

// TestGateACLOverTCP dials from distinct loopback sources: denied and
// allowed by the lists set before the listener starts, then after a
// change while it runs; events name the peer and the rule, counters add up.
func TestGateACLOverTCP(t *testing.T) {
	g := NewGate()
	g.SetAcceptFrom(nil, prefixes(t, "127.0.0.2"), false)
	evs := newEvLog()
	h := newChanHandler()
	l := gated(t, "tcp://127.0.0.1:0", g, evs, h)
	addr := l.Addr().String()

	mustRefuse(t, addr, "127.0.0.2")
	evs.waitCount(t, EventRejected, fsm.ReasonACLDenied, "", 1)
	ev, ok := evs.find(EventRejected, "127.0.0.2:")
	var re *RejectError
	if !ok || !errors.As(ev.Err, &re) || re.Rule != RuleACL || re.Deny.String() != "127.0.0.2/32" {
		t.Fatalf("rejected event %v does not name the peer and the deny rule", ev)
	}
	if !strings.Contains(ev.String(), "reason=ACLDenied") || !strings.Contains(ev.String(), "127.0.0.2 is denied by 127.0.0.2/32") {
		t.Errorf("event text %q", ev)
	}

	ok3 := mustAdmit(t, addr, "127.0.0.3")
	finishHandshake(t, ok3)
	recv(t, h.attached)

	// A change while running applies to the next connection at once.
	g.SetAcceptFrom(prefixes(t, "127.0.0.3/32", "127.0.0.2"), prefixes(t, "127.0.0.2"), false)
	for _, tc := range []struct {
		src string
		ok  bool
	}{{"127.0.0.4", false}, {"127.0.0.2", false}, {"127.0.0.3", true}} {
		if tc.ok {
			mustAdmit(t, addr, tc.src)
		} else {
			mustRefuse(t, addr, tc.src)
		}
	}
	evs.waitCount(t, EventRejected, fsm.ReasonACLDenied, "", 3)
	for _, ev := range evs.All() {
		if ev.Kind == EventRejected && ev.Peer == "" {
			t.Fatalf("a rejected event without a peer: %v", ev)
		}
	}
	st := g.Stats()
	if st.Accepted != 2 || st.RejectedACL != 3 || st.Peers != 2 || st.Handshakes != 1 {
		t.Errorf("stats %+v, want 2 accepted, 3 rejected by ACL, 2 peers, 1 handshaking", st)
	}
	if n := evs.count(EventRejected, fsm.ReasonNone, ""); n != 3 {
		t.Errorf("%d rejected events, want 3", n)
	}
}

// TestGateDropLive changes the lists under open connections: without
// dropLive they stay; with it, those no longer allowed (ready or still
// handshaking) are closed and reported, and the rest carry on.
func TestGateDropLive(t *testing.T) {
	g := NewGate()
	evs := newEvLog()
	h := newChanHandler()
	l := gated(t, "tcp://127.0.0.1:0", g, evs, h)
	addr := l.Addr().String()
	conns := map[string]net.Conn{}
	for _, src := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"} {
		nc := mustAdmit(t, addr, src)
		if src != "127.0.0.4" { // .4 stays in its handshake
			finishHandshake(t, nc)
			recv(t, h.attached)
		}
		conns[src] = nc
	}
	deny := prefixes(t, "127.0.0.2", "127.0.0.4")
	g.SetAcceptFrom(nil, deny, false)
	mustRefuse(t, addr, "127.0.0.2")
	if err := sendRawMsg(conns["127.0.0.2"], "kept"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, h.msgs); string(m[0]) != "kept" {
		t.Fatalf("got %q", m)
	}
	if st := g.Stats(); st.Dropped != 0 || st.Peers != 3 {
		t.Fatalf("without dropLive: %+v", st)
	}

	g.SetAcceptFrom(nil, deny, true)
	evs.waitCount(t, EventClosed, fsm.ReasonClosed, "127.0.0.2:", 1)
	evs.waitCount(t, EventClosed, fsm.ReasonClosed, "127.0.0.4:", 1)
	for _, src := range []string{"127.0.0.2", "127.0.0.4"} {
		ev, ok := evs.find(EventRejected, conns[src].LocalAddr().String())
		if !ok || ev.Reason != fsm.ReasonACLDenied || !strings.Contains(ev.Err.Error(), "live connection dropped") {
			t.Errorf("%s: dropped without its rejected event: %v", src, ev)
		}
	}
	if err := sendRawMsg(conns["127.0.0.3"], "still here"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, h.msgs); string(m[0]) != "still here" {
		t.Fatalf("got %q", m)
	}
	if st := g.Stats(); st.Dropped != 2 || st.Peers != 1 || st.Handshakes != 0 || st.RejectedACL != 1 {
		t.Errorf("after dropLive: %+v, want 2 dropped, 1 peer", st)
	}
}

// TestGateCapsOverTCP dials many connections at once from several
// loopback sources into three listeners that share one gate, holds them
// all, and checks that exactly the cap got in (so never one over), that
// each refusal has its reason and event, and that closing frees the slots.
func TestGateCapsOverTCP(t *testing.T) {
	srcs := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"}
	for _, tc := range []struct {
		name      string
		limits    Limits
		perSrc    int  // dials from each source
		handshake bool // the admitted complete their handshake
		want      int  // admitted in all
		wantSrc   int  // admitted from each source, for the per-IP caps
		reason    fsm.Reason
	}{
		{"MaxPeers", Limits{MaxPeers: 5}, 6, true, 5, 0, fsm.ReasonPeerLimit},
		{"MaxPeersPerIP", Limits{MaxPeersPerIP: 2}, 5, true, 8, 2, fsm.ReasonPeerLimitPerIP},
		{"MaxHandshakes", Limits{MaxHandshakes: 3}, 5, false, 3, 0, fsm.ReasonHandshakeLimit},
		{"MaxHandshakesPerIP", Limits{MaxHandshakesPerIP: 1}, 4, false, 4, 1, fsm.ReasonHandshakeLimitPerIP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewGate()
			if err := g.SetLimits(tc.limits); err != nil {
				t.Fatal(err)
			}
			evs := newEvLog()
			var addrs []string
			for range 3 {
				addrs = append(addrs, gated(t, "tcp://127.0.0.1:0", g, evs, nil).Addr().String())
			}
			total := tc.perSrc * len(srcs)
			type result struct {
				src string
				nc  net.Conn
				ok  bool
				err error
			}
			results := make(chan result, total)
			var wg sync.WaitGroup
			for i := range total {
				src := srcs[i%len(srcs)]
				wg.Go(func() {
					nc, ok, err := probe(addrs[i%len(addrs)], src)
					results <- result{src, nc, ok, err}
				})
			}
			wg.Wait()
			close(results)
			var in []net.Conn
			perSrc := map[string]int{}
			for r := range results {
				if r.nc != nil {
					defer r.nc.Close()
				}
				if r.err != nil {
					t.Fatal(r.err)
				}
				if r.ok {
					in = append(in, r.nc)
					perSrc[r.src]++
				}
			}
			want := tc.want
			if len(in) != want {
				t.Fatalf("%d admitted, want exactly %d", len(in), want)
			}
			for _, src := range srcs {
				if tc.wantSrc > 0 && perSrc[src] != tc.wantSrc {
					t.Errorf("%s: %d admitted, want %d", src, perSrc[src], tc.wantSrc)
				}
			}
			evs.waitCount(t, EventRejected, tc.reason, "", total-want)
			st := g.Stats()
			if st.Accepted != uint64(want) || st.Rejected(ruleOf(tc.reason)) != uint64(total-want) || st.Peers != want {
				t.Errorf("stats %+v, want %d accepted and %d rejected by %s", st, want, total-want, tc.reason)
			}
			if n := evs.count(EventRejected, fsm.ReasonNone, ""); n != total-want {
				t.Errorf("%d rejected events, want %d", n, total-want)
			}

			// Handshakes free the handshake slots; closes free the rest.
			if tc.handshake {
				for _, nc := range in {
					finishHandshake(t, nc)
				}
				evs.waitCount(t, EventHandshakeSucceeded, fsm.ReasonNone, "", want)
			}
			for _, nc := range in {
				nc.Close()
			}
			evs.waitCount(t, EventClosed, fsm.ReasonNone, "", want)
			if st := g.Stats(); st.Peers != 0 || st.Handshakes != 0 {
				t.Fatalf("after closing every admitted connection: %+v", st)
			}
			for i := range want {
				mustAdmit(t, addrs[i%len(addrs)], srcs[i%len(srcs)])
			}
		})
	}
}

func ruleOf(r fsm.Reason) Rule {
	for _, rule := range startRules {
		if rule.Reason() == r {
			return rule
		}
	}
	return 0
}

// TestGateChurnNeverOverCap dials and closes concurrently. A client counts
// itself live from seeing the greeting until just before it closes, a span
// inside the server's own, so the live count passing a cap at any moment
// would be the gate admitting one too many.
func TestGateChurnNeverOverCap(t *testing.T) {
	const maxPeers, maxPerIP, workers, rounds = 3, 1, 6, 15
	g := NewGate()
	g.SetLimits(Limits{MaxPeers: maxPeers, MaxPeersPerIP: maxPerIP})
	evs := newEvLog()
	addr := gated(t, "tcp://127.0.0.1:0", g, evs, nil).Addr().String()
	var mu sync.Mutex
	live, liveIP, peak := 0, map[string]int{}, 0
	var over []string
	var wg sync.WaitGroup
	var admittedN, refusedN int
	for w := range workers {
		src := fmt.Sprintf("127.0.0.%d", 2+w%4)
		wg.Go(func() {
			for i := range rounds {
				nc, ok, err := probe(addr, src)
				mu.Lock()
				if err != nil {
					over = append(over, err.Error())
				}
				if ok {
					admittedN++
					live++
					liveIP[src]++
					peak = max(peak, live)
					if live > maxPeers || liveIP[src] > maxPerIP {
						over = append(over, fmt.Sprintf("%d live, %d from %s", live, liveIP[src], src))
					}
				} else {
					refusedN++
				}
				mu.Unlock()
				if ok {
					if i%2 == 0 { // hold the slot a little longer
						clientHandshake(nc)
					}
					mu.Lock()
					live--
					liveIP[src]--
					mu.Unlock()
				}
				if nc != nil {
					nc.Close()
				}
			}
		})
	}
	wg.Wait()
	if len(over) > 0 {
		t.Fatalf("caps exceeded or dials failed: %v", over)
	}
	evs.waitCount(t, EventClosed, fsm.ReasonNone, "", admittedN)
	st := g.Stats()
	if st.Accepted != uint64(admittedN) || st.RejectedPeers+st.RejectedPeersPerIP != uint64(refusedN) || st.Peers != 0 {
		t.Errorf("stats %+v; clients saw %d admitted, %d refused", st, admittedN, refusedN)
	}
	t.Logf("%d admitted, %d refused, peak %d live", admittedN, refusedN, peak)
}

// TestHandshakeTimeoutFreesSlot: a silent peer holds the only handshake
// slot until the handshake timeout closes it, is counted, and the slot
// then goes to the next peer.
func TestHandshakeTimeoutFreesSlot(t *testing.T) {
	g := NewGate()
	g.SetLimits(Limits{MaxHandshakes: 1})
	evs := newEvLog()
	l, err := Listen("tcp://127.0.0.1:0", &Config{SocketType: PULL, Gate: g, Monitor: evs.add, Handler: newChanHandler(), HandshakeTimeout: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addr := l.Addr().String()
	mustAdmit(t, addr, "127.0.0.2") // and silent
	mustRefuse(t, addr, "127.0.0.3")
	evs.waitCount(t, EventClosed, fsm.ReasonHandshakeTimeout, "127.0.0.2:", 1)
	if st := g.Stats(); st.HandshakeTimeouts != 1 || st.Handshakes != 0 || st.Peers != 0 || st.RejectedHandshakes != 1 {
		t.Fatalf("after the timeout: %+v", st)
	}
	good := mustAdmit(t, addr, "127.0.0.3")
	finishHandshake(t, good)
	evs.waitCount(t, EventHandshakeSucceeded, fsm.ReasonNone, "127.0.0.3:", 1)
	if st := g.Stats(); st.Handshakes != 0 || st.Peers != 1 || st.Accepted != 2 {
		t.Fatalf("after a good handshake: %+v", st)
	}
}

// TestGateIPv6 runs the lists and the per-/64 cap over ::1.
func TestGateIPv6(t *testing.T) {
	probe, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	probe.Close()
	g := NewGate()
	g.SetAcceptFrom(nil, prefixes(t, "::1"), false)
	evs := newEvLog()
	addr := gated(t, "tcp://[::1]:0", g, evs, nil).Addr().String()
	mustRefuse(t, addr, "::1")
	g.SetAcceptFrom(prefixes(t, "::1/128"), prefixes(t, "127.0.0.0/8"), false)
	g.SetLimits(Limits{MaxPeersPerIP: 1, PerIPv6Prefix: 64})
	mustAdmit(t, addr, "::1")
	mustRefuse(t, addr, "::1")
	evs.waitCount(t, EventRejected, fsm.ReasonPeerLimitPerIP, "", 1)
	var ev Event
	for _, e := range evs.All() {
		if e.Reason == fsm.ReasonPeerLimitPerIP {
			ev = e
		}
	}
	if ev.Err == nil || !strings.Contains(ev.Err.Error(), "for ::/64") {
		t.Errorf("per-IP refusal does not name the /64: %v", ev)
	}
}

// TestGateMappedIPv4 binds a dual-stack wildcard, where IPv4 peers arrive
// as IPv4-mapped IPv6 addresses, and checks they are matched as IPv4.
func TestGateMappedIPv4(t *testing.T) {
	g := NewGate()
	g.SetAcceptFrom(prefixes(t, "127.0.0.0/8", "::1"), prefixes(t, "::ffff:127.0.0.2"), false)
	g.SetLimits(Limits{MaxPeersPerIP: 1})
	evs := newEvLog()
	l := gated(t, "tcp://*:0", g, evs, nil)
	_, port, _ := net.SplitHostPort(l.Addr().String())
	addr := net.JoinHostPort("127.0.0.1", port)
	mustRefuse(t, addr, "127.0.0.2")
	mustAdmit(t, addr, "127.0.0.3")
	mustRefuse(t, addr, "127.0.0.3")
	evs.waitCount(t, EventRejected, fsm.ReasonNone, "", 2)
	if evs.count(EventRejected, fsm.ReasonACLDenied, "") != 1 || evs.count(EventRejected, fsm.ReasonPeerLimitPerIP, "") != 1 {
		t.Errorf("want one ACL and one per-IP refusal, got %v", evs.All())
	}
	ev, _ := evs.find(EventRejected, "127.0.0.3:")
	if !strings.Contains(ev.Err.Error(), "reached for 127.0.0.3") {
		t.Errorf("per-IP refusal should name 127.0.0.3: %v", ev)
	}
}
