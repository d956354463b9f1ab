package transport

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/zmtpgo/zmtp/fsm"
)

// TestPropertyGate fires random interleavings of connects from random
// source addresses, handshakes completing, handshake timeouts, closes and
// accept-from changes at real accept-side engines (the generated machine's
// Start arm asking the gate through the engine's guards), and after every
// step compares the gate with a model: the same admissions and refusals,
// the same counters, the same per-address counts, and no cap ever passed.
func TestPropertyGate(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		pool := []string{"127.0.0.2", "127.0.0.3", "::ffff:127.0.0.3", "::1", "2001:db8::1", "2001:db8::2", "2001:db8:0:1::1"}
		capGen := rapid.IntRange(0, 3)
		limits := Limits{
			MaxPeers: capGen.Draw(t, "maxPeers"), MaxPeersPerIP: capGen.Draw(t, "maxPeersPerIP"),
			MaxHandshakes: capGen.Draw(t, "maxHandshakes"), MaxHandshakesPerIP: capGen.Draw(t, "maxHandshakesPerIP"),
			PerIPv6Prefix: rapid.SampledFrom([]int{0, 64}).Draw(t, "v6prefix"),
		}
		g := NewGate()
		if err := g.SetLimits(limits); err != nil {
			t.Fatal(err)
		}
		cfg := &Config{SocketType: PULL, Gate: g}
		m := newGateModel(limits)
		var conns []*propConn

		pick := func(t *rapid.T, handshaking bool) (int, bool) {
			var idx []int
			for i, c := range conns {
				if !handshaking || c.handshaking {
					idx = append(idx, i)
				}
			}
			if len(idx) == 0 {
				return 0, false
			}
			return rapid.SampledFrom(idx).Draw(t, "conn"), true
		}
		remove := func(i int) { conns = append(conns[:i], conns[i+1:]...) }
		// end closes connection i with event ev, as the listener does:
		// the machine closes, then the gate frees the slots.
		end := func(t *rapid.T, i int, ev fsm.Event) {
			c := conns[i]
			if err := c.e.fire(ev, nil); err == nil {
				t.Fatalf("%v did not close the connection", ev)
			}
			g.closed(&c.e.gs, c.e.m.Reason())
			m.closed(c, c.e.m.Reason())
			remove(i)
		}

		t.Repeat(map[string]func(*rapid.T){
			"connect": func(t *rapid.T) {
				addr := netip.MustParseAddr(rapid.SampledFrom(pool).Draw(t, "addr"))
				e := newEngine(cfg, fsm.RoleAccept, "tcp://test")
				e.attach(nil)
				e.gs = g.slotFor(tcpAddr(addr.String()))
				err := e.fire(fsm.EventStart, nil)
				if err == nil {
					g.accepted.Add(1) // as the listener does
				} else {
					g.closed(&e.gs, fsm.ReasonNone)
				}
				c := &propConn{e: e, addr: addr.Unmap(), key: m.key(addr), handshaking: true}
				want := m.admit(c)
				if got := reasonOf(err); got != want {
					t.Fatalf("connect from %s: gate says %s, model %s (%v)", addr, got, want, err)
				}
				if err == nil {
					conns = append(conns, c)
				}
			},
			"handshake": func(t *rapid.T) {
				i, ok := pick(t, true)
				if !ok {
					t.Skip("no handshake in progress")
				}
				conns[i].e.HandshakeSucceeded() // the machine's action on reaching Ready
				m.handshakeDone(conns[i])
			},
			"timeout": func(t *rapid.T) {
				i, ok := pick(t, true)
				if !ok {
					t.Skip("no handshake in progress")
				}
				end(t, i, fsm.EventHandshakeTimeout)
			},
			"close": func(t *rapid.T) {
				i, ok := pick(t, false)
				if !ok {
					t.Skip("no connection")
				}
				end(t, i, fsm.EventPeerClosed)
			},
			"acl": func(t *rapid.T) {
				hosts := rapid.SliceOfDistinct(rapid.SampledFrom(pool), func(s string) string { return s })
				allow := hosts.Draw(t, "allow")
				deny := hosts.Draw(t, "deny")
				if rapid.Bool().Draw(t, "allowV6Net") {
					allow = append(allow, "2001:db8::/32")
				}
				a, err := ParsePrefixes(allow)
				if err != nil {
					t.Fatal(err)
				}
				d, err := ParsePrefixes(deny)
				if err != nil {
					t.Fatal(err)
				}
				g.SetAcceptFrom(a, d, false)
				m.setACL(allow, deny)
			},
			"": func(t *rapid.T) {
				if diff := cmp.Diff(m.stats, g.Stats()); diff != "" {
					t.Fatalf("stats (-model +gate):\n%s", diff)
				}
				for key, n := range m.perIP {
					if got := g.countIP(key); got != n {
						t.Fatalf("%s: gate counts %+v, model %+v", key, got, n)
					}
				}
				m.checkCaps(t)
			},
		})
	})
}

type propConn struct {
	e           *engine
	addr        netip.Addr
	key         netip.Prefix
	handshaking bool
}

// gateModel is the gate's specification, written plainly: ordered rules,
// counts in maps, no sharing and no atomics.
type gateModel struct {
	limits      Limits
	allow, deny []netip.Prefix
	perIP       map[netip.Prefix]ipCount
	stats       GateStats
}

func newGateModel(l Limits) *gateModel {
	return &gateModel{limits: l, perIP: map[netip.Prefix]ipCount{}}
}

func (m *gateModel) key(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	if a.Is6() && m.limits.PerIPv6Prefix == 64 {
		return netip.PrefixFrom(a, 64).Masked()
	}
	return netip.PrefixFrom(a, a.BitLen())
}

func (m *gateModel) setACL(allow, deny []string) {
	parse := func(ss []string) []netip.Prefix {
		var out []netip.Prefix
		for _, s := range ss {
			if p, err := netip.ParsePrefix(s); err == nil {
				out = append(out, p)
				continue
			}
			a := netip.MustParseAddr(s).Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
		return out
	}
	m.allow, m.deny = parse(allow), parse(deny)
}

func anyContains(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// admit returns the reason the gate must refuse c with, or ReasonNone, and
// counts.
func (m *gateModel) admit(c *propConn) fsm.Reason {
	n := m.perIP[c.key]
	over := func(have, limit int) bool { return limit > 0 && have >= limit }
	var r fsm.Reason
	switch {
	case anyContains(m.deny, c.addr) || len(m.allow) > 0 && !anyContains(m.allow, c.addr):
		r, m.stats.RejectedACL = fsm.ReasonACLDenied, m.stats.RejectedACL+1
	case over(int(n.peers), m.limits.MaxPeersPerIP):
		r, m.stats.RejectedPeersPerIP = fsm.ReasonPeerLimitPerIP, m.stats.RejectedPeersPerIP+1
	case over(int(n.handshakes), m.limits.MaxHandshakesPerIP):
		r, m.stats.RejectedHandshakesPerIP = fsm.ReasonHandshakeLimitPerIP, m.stats.RejectedHandshakesPerIP+1
	case over(m.stats.Peers, m.limits.MaxPeers):
		r, m.stats.RejectedPeers = fsm.ReasonPeerLimit, m.stats.RejectedPeers+1
	case over(m.stats.Handshakes, m.limits.MaxHandshakes):
		r, m.stats.RejectedHandshakes = fsm.ReasonHandshakeLimit, m.stats.RejectedHandshakes+1
	default:
		n.peers++
		n.handshakes++
		m.perIP[c.key] = n
		m.stats.Accepted++
		m.stats.Peers++
		m.stats.Handshakes++
	}
	return r
}

func (m *gateModel) handshakeDone(c *propConn) {
	c.handshaking = false
	n := m.perIP[c.key]
	n.handshakes--
	m.perIP[c.key] = n
	m.stats.Handshakes--
}

func (m *gateModel) closed(c *propConn, r fsm.Reason) {
	if c.handshaking {
		m.handshakeDone(c)
	}
	if r == fsm.ReasonHandshakeTimeout {
		m.stats.HandshakeTimeouts++
	}
	n := m.perIP[c.key]
	n.peers--
	if n == (ipCount{}) {
		delete(m.perIP, c.key)
	} else {
		m.perIP[c.key] = n
	}
	m.stats.Peers--
}

func (m *gateModel) checkCaps(t *rapid.T) {
	within := func(what string, have, limit int) {
		if limit > 0 && have > limit {
			t.Fatalf("%s = %d, over its cap %d", what, have, limit)
		}
	}
	within("peers", m.stats.Peers, m.limits.MaxPeers)
	within("handshakes", m.stats.Handshakes, m.limits.MaxHandshakes)
	for k, n := range m.perIP {
		within(fmt.Sprint("peers from ", k), int(n.peers), m.limits.MaxPeersPerIP)
		within(fmt.Sprint("handshakes from ", k), int(n.handshakes), m.limits.MaxHandshakesPerIP)
	}
}
