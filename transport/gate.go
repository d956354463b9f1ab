package transport

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/zmtpgo/zmtp/fsm"
)

// Rule is one rule of a Gate: the accept-from lists or one of the caps.
// Each is a guard of the accepting role's Start arm (RFC 37 §Security
// Considerations) and closes a refused peer with its own reason.
type Rule uint8

// Rules, in the order the Start arm asks them: the accept-from lists, then
// the caps of the peer's own address, then those the whole socket shares.
const (
	RuleACL             Rule = iota + 1 // accept-from lists; fsm.ReasonACLDenied
	RulePeersPerIP                      // MaxPeersPerIP; fsm.ReasonPeerLimitPerIP
	RuleHandshakesPerIP                 // MaxHandshakesPerIP; fsm.ReasonHandshakeLimitPerIP
	RulePeers                           // MaxPeers; fsm.ReasonPeerLimit
	RuleHandshakes                      // MaxHandshakes; fsm.ReasonHandshakeLimit
	numRules
)

var ruleNames = [numRules]string{
	RuleACL:             "accept-from",
	RulePeersPerIP:      "max-peers-per-ip",
	RuleHandshakesPerIP: "max-handshakes-per-ip",
	RulePeers:           "max-peers",
	RuleHandshakes:      "max-handshakes",
}

var ruleReasons = [numRules]fsm.Reason{
	RuleACL:             fsm.ReasonACLDenied,
	RulePeersPerIP:      fsm.ReasonPeerLimitPerIP,
	RuleHandshakesPerIP: fsm.ReasonHandshakeLimitPerIP,
	RulePeers:           fsm.ReasonPeerLimit,
	RuleHandshakes:      fsm.ReasonHandshakeLimit,
}

// String returns the rule's name, the same as its zmtp command-line flag.
func (r Rule) String() string {
	if r < numRules && ruleNames[r] != "" {
		return ruleNames[r]
	}
	return "Rule(" + strconv.Itoa(int(r)) + ")"
}

// Reason returns the close reason of a peer the rule refuses.
func (r Rule) Reason() fsm.Reason {
	if r < numRules {
		return ruleReasons[r]
	}
	return fsm.ReasonNone
}

func (r Rule) bit() uint8 { return 1 << r }

// Limits are a Gate's caps. Zero means unlimited.
type Limits struct {
	// MaxPeers caps the connections of the socket's bound endpoints,
	// handshaking and established alike.
	MaxPeers int
	// MaxPeersPerIP caps them per source address.
	MaxPeersPerIP int
	// MaxHandshakes caps the handshakes in progress, so that peers that
	// connect and stay silent (until the handshake timeout) cannot hold the
	// slots real clients need.
	MaxHandshakes int
	// MaxHandshakesPerIP caps the handshakes in progress per source address.
	MaxHandshakesPerIP int
	// PerIPv6Prefix is the prefix length under which an IPv6 source is
	// counted for the per-IP caps: 0 or 128 counts each address, 64 each
	// /64, the block a single host or site usually holds.
	PerIPv6Prefix int
}

func (l Limits) validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"MaxPeers", l.MaxPeers}, {"MaxPeersPerIP", l.MaxPeersPerIP}, {"MaxHandshakes", l.MaxHandshakes}, {"MaxHandshakesPerIP", l.MaxHandshakesPerIP}} {
		if f.v < 0 {
			return fmt.Errorf("%w: %s is %d, want 0 (unlimited) or more", ErrInvalidLimit, f.name, f.v)
		}
	}
	if l.PerIPv6Prefix < 0 || l.PerIPv6Prefix > 128 {
		return fmt.Errorf("%w: PerIPv6Prefix is %d, want 0 to 128", ErrInvalidLimit, l.PerIPv6Prefix)
	}
	return nil
}

// GateStats are a Gate's counters and gauges.
type GateStats struct {
	// Accepted counts the connections admitted (that passed every rule).
	Accepted uint64
	// Rejected counts, by rule, the connections refused right after accept.
	RejectedACL             uint64
	RejectedPeers           uint64
	RejectedPeersPerIP      uint64
	RejectedHandshakes      uint64
	RejectedHandshakesPerIP uint64
	// HandshakeTimeouts counts admitted connections closed because their
	// handshake did not complete within the handshake timeout.
	HandshakeTimeouts uint64
	// Dropped counts live connections closed because an accept-from change
	// no longer allowed their address.
	Dropped uint64
	// Peers and Handshakes are the connections open now and, of them, those
	// still handshaking.
	Peers      int
	Handshakes int
}

// Rejected returns the number of connections rule refused.
func (s GateStats) Rejected(r Rule) uint64 {
	switch r {
	case RuleACL:
		return s.RejectedACL
	case RulePeers:
		return s.RejectedPeers
	case RulePeersPerIP:
		return s.RejectedPeersPerIP
	case RuleHandshakes:
		return s.RejectedHandshakes
	case RuleHandshakesPerIP:
		return s.RejectedHandshakesPerIP
	}
	return 0
}

// Errors of the gate's setters.
var (
	// ErrInvalidPrefix means an accept-from entry is neither a CIDR prefix
	// ("10.0.0.0/8", "2001:db8::/32") nor an address ("127.0.0.2").
	ErrInvalidPrefix = errors.New("zmtp: invalid accept-from prefix")
	// ErrInvalidLimit means a cap is negative or an IPv6 prefix length is
	// out of range.
	ErrInvalidLimit = errors.New("zmtp: invalid gate limit")
)

// RejectError says which rule refused a peer. The monitor event and the
// close error of a refused connection wrap it.
type RejectError struct {
	Rule Rule
	// Addr is the peer's address; Key is what the per-IP caps count it
	// under (Addr, or its IPv6 prefix).
	Addr netip.Addr
	Key  netip.Prefix
	// Limit is the cap in force, for the caps.
	Limit int
	// Deny is the deny prefix that matched; for an ACL refusal without one,
	// the address matched no allow prefix.
	Deny netip.Prefix
}

func (e *RejectError) Error() string {
	switch {
	case e.Rule == RuleACL && e.Deny.IsValid():
		return fmt.Sprintf("zmtp: %s is denied by %s", e.Addr, e.Deny)
	case e.Rule == RuleACL:
		return fmt.Sprintf("zmtp: %s is in no allow prefix", e.Addr)
	case e.Rule == RulePeersPerIP || e.Rule == RuleHandshakesPerIP:
		key := e.Addr.String()
		if e.Key.Bits() < e.Key.Addr().BitLen() {
			key = e.Key.String()
		}
		return fmt.Sprintf("zmtp: %s %d reached for %s", e.Rule, e.Limit, key)
	default:
		return fmt.Sprintf("zmtp: %s %d reached", e.Rule, e.Limit)
	}
}

// Gate is the admission policy of bound endpoints: accept-from lists, caps
// on peers and on handshakes in progress (total and per source address),
// and the counters of what it did. It is what the accepting role's Start
// guards ask, on the accept loop, before a goroutine, a buffer or a
// handshake is spent on the peer.
//
// A Gate is safe for concurrent use, and its lists and caps may change at
// any time: a change applies to every new connection at once. One Gate may
// serve several listeners (all the endpoints a socket binds); its caps
// count across all of them. The zero Gate is not usable; call NewGate.
type Gate struct {
	// The accept-from lists, replaced whole so that the accept path reads
	// them without a lock.
	acl atomic.Pointer[acl]

	maxPeers, maxPeersPerIP, maxHS, maxHSPerIP atomic.Int64
	v6Bits                                     atomic.Int32

	peers, handshakes atomic.Int64
	// perIP counts peers and handshakes by address key; a key is deleted
	// when both its counts reach zero, so the map holds at most one entry
	// per live connection. One lock: a 16-way sharded map measured no
	// faster on the accept path (bench/gate.md), which is one goroutine
	// per listener anyway.
	ipMu  sync.Mutex
	perIP map[netip.Prefix]ipCount

	accepted, timeouts, dropped atomic.Uint64
	rejected                    [numRules]atomic.Uint64

	mu        sync.Mutex
	listeners map[*Listener]struct{} // those to search when dropping live connections
}

type ipCount struct{ peers, handshakes int32 }

// NewGate returns a gate that admits everyone and counts.
func NewGate() *Gate {
	g := &Gate{perIP: map[netip.Prefix]ipCount{}, listeners: map[*Listener]struct{}{}}
	g.v6Bits.Store(128)
	return g
}

// SetLimits sets the caps. Lowering a cap below what is open now refuses
// new peers until enough have gone; it closes none.
func (g *Gate) SetLimits(l Limits) error {
	if err := l.validate(); err != nil {
		return err
	}
	g.maxPeers.Store(int64(l.MaxPeers))
	g.maxPeersPerIP.Store(int64(l.MaxPeersPerIP))
	g.maxHS.Store(int64(l.MaxHandshakes))
	g.maxHSPerIP.Store(int64(l.MaxHandshakesPerIP))
	bits := l.PerIPv6Prefix
	if bits == 0 {
		bits = 128
	}
	g.v6Bits.Store(int32(bits))
	return nil
}

// Limits returns the caps in force.
func (g *Gate) Limits() Limits {
	l := Limits{
		MaxPeers: int(g.maxPeers.Load()), MaxPeersPerIP: int(g.maxPeersPerIP.Load()),
		MaxHandshakes: int(g.maxHS.Load()), MaxHandshakesPerIP: int(g.maxHSPerIP.Load()),
		PerIPv6Prefix: int(g.v6Bits.Load()),
	}
	if l.PerIPv6Prefix == 128 {
		l.PerIPv6Prefix = 0
	}
	return l
}

// SetAcceptFrom replaces the accept-from lists. An empty allow list admits
// every address the deny list does not name; deny wins over allow. The
// change applies to every new connection at once; with dropLive, the open
// connections of every listener using the gate whose address no longer
// passes are closed too, each reported as an EventRejected with reason
// ACLDenied. IPv4-mapped IPv6 prefixes are taken as IPv4.
func (g *Gate) SetAcceptFrom(allow, deny []netip.Prefix, dropLive bool) {
	g.acl.Store(&acl{allow: normalize(allow), deny: normalize(deny)})
	if dropLive {
		g.mu.Lock()
		ls := make([]*Listener, 0, len(g.listeners))
		for l := range g.listeners {
			ls = append(ls, l)
		}
		g.mu.Unlock()
		for _, l := range ls {
			l.dropDenied()
		}
	}
}

// AcceptFrom returns copies of the accept-from lists.
func (g *Gate) AcceptFrom() (allow, deny []netip.Prefix) {
	a := g.acl.Load()
	if a == nil {
		return nil, nil
	}
	return append([]netip.Prefix(nil), a.allow...), append([]netip.Prefix(nil), a.deny...)
}

// Check reports whether addr passes the accept-from lists, and if not the
// *RejectError naming the rule.
func (g *Gate) Check(addr netip.Addr) error {
	return g.acl.Load().check(addr.Unmap().WithZone(""))
}

// Stats returns the counters. Each is read atomically; together they are a
// snapshot only when no connection comes or goes meanwhile.
func (g *Gate) Stats() GateStats {
	return GateStats{
		Accepted:                g.accepted.Load(),
		RejectedACL:             g.rejected[RuleACL].Load(),
		RejectedPeers:           g.rejected[RulePeers].Load(),
		RejectedPeersPerIP:      g.rejected[RulePeersPerIP].Load(),
		RejectedHandshakes:      g.rejected[RuleHandshakes].Load(),
		RejectedHandshakesPerIP: g.rejected[RuleHandshakesPerIP].Load(),
		HandshakeTimeouts:       g.timeouts.Load(),
		Dropped:                 g.dropped.Load(),
		Peers:                   int(g.peers.Load()),
		Handshakes:              int(g.handshakes.Load()),
	}
}

// ParsePrefixes parses accept-from entries: CIDR prefixes ("10.0.0.0/8",
// "2001:db8::/32") or single addresses ("127.0.0.2", "::1"). Host bits
// past the prefix length are cleared. The error names the first bad entry.
func ParsePrefixes(entries []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(entries))
	for _, s := range entries {
		t := strings.TrimSpace(s)
		var p netip.Prefix
		var err error
		if strings.Contains(t, "/") {
			p, err = netip.ParsePrefix(t)
		} else {
			var a netip.Addr
			a, err = netip.ParseAddr(t)
			switch {
			case err == nil && a.Zone() != "":
				err = errors.New("an address with a zone cannot be matched")
			case err == nil:
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%w %q, want a CIDR prefix such as 10.0.0.0/8 or 2001:db8::/32, or an address: %v", ErrInvalidPrefix, s, err)
		}
		out = append(out, p)
	}
	return normalize(out), nil
}

// normalize masks host bits and turns IPv4-mapped IPv6 prefixes of /96 or
// longer into IPv4 ones, since peers' addresses are unmapped before
// matching.
func normalize(ps []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ps))
	for _, p := range ps {
		if !p.IsValid() {
			continue
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out
}

// acl is one version of the accept-from lists; it never changes once
// stored.
type acl struct{ allow, deny []netip.Prefix }

// check is nil for an admitted address. A nil acl, and a peer without an
// IP address (ipc), pass. Lists are scanned in order: a few dozen prefixes
// cost well under a microsecond, against tens for a handshake.
func (a *acl) check(ip netip.Addr) error {
	if a == nil || !ip.IsValid() {
		return nil
	}
	for _, p := range a.deny {
		if p.Contains(ip) {
			return &RejectError{Rule: RuleACL, Addr: ip, Deny: p}
		}
	}
	if len(a.allow) == 0 {
		return nil
	}
	for _, p := range a.allow {
		if p.Contains(ip) {
			return nil
		}
	}
	return &RejectError{Rule: RuleACL, Addr: ip}
}

// gateSlot is one accepted connection's standing with its gate: its
// address, the key the per-IP caps count it under, and the slots it holds.
// It is owned by whoever runs the connection's machine.
type gateSlot struct {
	addr netip.Addr   // unmapped, zone-less; invalid for a peer without an IP
	key  netip.Prefix // addr under the per-IP prefix
	held uint8        // Rule.bit of each slot held
}

// slotFor starts the standing of a peer at a.
func (g *Gate) slotFor(a net.Addr) gateSlot {
	var s gateSlot
	if ta, ok := a.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(ta.IP); ok {
			s.addr = ip.Unmap()
		}
	}
	if s.addr.IsValid() {
		bits := s.addr.BitLen()
		if s.addr.Is6() {
			bits = int(g.v6Bits.Load())
		}
		s.key = netip.PrefixFrom(s.addr, bits).Masked()
	}
	return s
}

// admit runs rule r for the peer of s: nil admits it, taking the rule's
// slot for a cap; otherwise a *RejectError, counted.
func (g *Gate) admit(r Rule, s *gateSlot) error {
	var err error
	switch r {
	case RuleACL:
		err = g.acl.Load().check(s.addr)
	case RulePeers:
		err = g.take(r, &g.peers, g.maxPeers.Load(), s)
	case RuleHandshakes:
		err = g.take(r, &g.handshakes, g.maxHS.Load(), s)
	case RulePeersPerIP:
		err = g.takeIP(r, g.maxPeersPerIP.Load(), s)
	case RuleHandshakesPerIP:
		err = g.takeIP(r, g.maxHSPerIP.Load(), s)
	}
	if err != nil {
		g.rejected[r].Add(1)
	}
	return err
}

// take increments n unless that would pass max (≤ 0: unlimited). The
// compare-and-swap makes the cap exact under concurrent accepts.
func (g *Gate) take(r Rule, n *atomic.Int64, max int64, s *gateSlot) error {
	if max <= 0 {
		n.Add(1)
	} else {
		for {
			c := n.Load()
			if c >= max {
				return &RejectError{Rule: r, Addr: s.addr, Limit: int(max)}
			}
			if n.CompareAndSwap(c, c+1) {
				break
			}
		}
	}
	s.held |= r.bit()
	return nil
}

// takeIP is take for the per-IP counts. A peer without an IP address is
// not counted per IP.
func (g *Gate) takeIP(r Rule, max int64, s *gateSlot) error {
	if !s.addr.IsValid() {
		return nil
	}
	g.ipMu.Lock()
	c := g.perIP[s.key]
	n := &c.peers
	if r == RuleHandshakesPerIP {
		n = &c.handshakes
	}
	if max > 0 && int64(*n) >= max {
		g.ipMu.Unlock()
		return &RejectError{Rule: r, Addr: s.addr, Key: s.key, Limit: int(max)}
	}
	*n++
	g.perIP[s.key] = c
	g.ipMu.Unlock()
	s.held |= r.bit()
	return nil
}

// release frees the slot of rule r, if s holds it.
func (g *Gate) release(r Rule, s *gateSlot) {
	if s.held&r.bit() == 0 {
		return
	}
	s.held &^= r.bit()
	switch r {
	case RulePeers:
		g.peers.Add(-1)
	case RuleHandshakes:
		g.handshakes.Add(-1)
	case RulePeersPerIP, RuleHandshakesPerIP:
		g.ipMu.Lock()
		c := g.perIP[s.key]
		if r == RulePeersPerIP {
			c.peers--
		} else {
			c.handshakes--
		}
		if c == (ipCount{}) {
			delete(g.perIP, s.key)
		} else {
			g.perIP[s.key] = c
		}
		g.ipMu.Unlock()
	}
}

// handshakeDone frees the handshake slots: the handshake reached Ready.
func (g *Gate) handshakeDone(s *gateSlot) {
	g.release(RuleHandshakesPerIP, s)
	g.release(RuleHandshakes, s)
}

// closed frees every slot of a connection that ended for reason, and counts
// a handshake timeout.
func (g *Gate) closed(s *gateSlot, reason fsm.Reason) {
	if reason == fsm.ReasonHandshakeTimeout {
		g.timeouts.Add(1)
	}
	for r := RulePeersPerIP; r < numRules; r++ {
		g.release(r, s)
	}
}

// countIP returns the per-IP counts of key, for tests.
func (g *Gate) countIP(key netip.Prefix) ipCount {
	g.ipMu.Lock()
	defer g.ipMu.Unlock()
	return g.perIP[key]
}

func (g *Gate) register(l *Listener) {
	g.mu.Lock()
	g.listeners[l] = struct{}{}
	g.mu.Unlock()
}

func (g *Gate) unregister(l *Listener) {
	g.mu.Lock()
	delete(g.listeners, l)
	g.mu.Unlock()
}
