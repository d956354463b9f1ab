package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/zmtpgo/zmtp/sockets"
	"github.com/zmtpgo/zmtp/transport"
)

// gateFlags are the flags of the gate on bound endpoints: accept-from
// lists, caps, and a report of its counters.
type gateFlags struct {
	allow, deny        listFlag
	maxPeers           int
	maxPeersPerIP      int
	maxHandshakes      int
	maxHandshakesPerIP int
	perIPv6Prefix      int
	deferAccept        time.Duration
	stats              bool
}

func (g *gateFlags) register(fs *flag.FlagSet) {
	fs.Var(&g.allow, "allow", "bound endpoints accept only peers in this CIDR prefix or address, e.g. 10.0.0.0/8 (repeatable; none: everyone)")
	fs.Var(&g.deny, "deny", "bound endpoints refuse peers in this CIDR prefix or address; wins over -allow (repeatable)")
	fs.IntVar(&g.maxPeers, "max-peers", 0, "most connections on the bound endpoints, handshaking or not (0: unlimited)")
	fs.IntVar(&g.maxPeersPerIP, "max-peers-per-ip", 0, "most connections from one source address (0: unlimited)")
	fs.IntVar(&g.maxHandshakes, "max-handshakes", 0, "most handshakes in progress (0: unlimited)")
	fs.IntVar(&g.maxHandshakesPerIP, "max-handshakes-per-ip", 0, "most handshakes in progress from one source address (0: unlimited)")
	fs.IntVar(&g.perIPv6Prefix, "per-ip-v6-prefix", 128, "the per-IP caps count IPv6 peers by this prefix length, e.g. 64")
	fs.DurationVar(&g.deferAccept, "defer-accept", 0, "the kernel holds a new connection until its first byte, or about this long, before accepting it: silent connection floods never reach the gate (Linux; 0: off)")
	fs.BoolVar(&g.stats, "gate-stats", false, "print the gate's counters on standard error at exit")
}

// validate rejects bad prefixes and caps at parse time, so they exit 2.
func (g *gateFlags) validate() error {
	if _, err := transport.ParsePrefixes(g.allow); err != nil {
		return fmt.Errorf("-allow: %w", err)
	}
	if _, err := transport.ParsePrefixes(g.deny); err != nil {
		return fmt.Errorf("-deny: %w", err)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"-max-peers", g.maxPeers}, {"-max-peers-per-ip", g.maxPeersPerIP}, {"-max-handshakes", g.maxHandshakes}, {"-max-handshakes-per-ip", g.maxHandshakesPerIP}} {
		if f.v < 0 {
			return fmt.Errorf("%s %d: want 0 (unlimited) or more", f.name, f.v)
		}
	}
	if g.deferAccept < 0 {
		return fmt.Errorf("-defer-accept %v: want 0 (off) or more", g.deferAccept)
	}
	if g.perIPv6Prefix < 1 || g.perIPv6Prefix > 128 {
		return fmt.Errorf("-per-ip-v6-prefix %d: want 1 to 128", g.perIPv6Prefix)
	}
	return nil
}

func (g *gateFlags) options() []sockets.Option {
	opts := []sockets.Option{
		sockets.WithMaxPeers(g.maxPeers), sockets.WithMaxPeersPerIP(g.maxPeersPerIP),
		sockets.WithMaxHandshakes(g.maxHandshakes), sockets.WithMaxHandshakesPerIP(g.maxHandshakesPerIP),
		sockets.WithPerIPv6Prefix(g.perIPv6Prefix),
	}
	if g.deferAccept > 0 {
		opts = append(opts, sockets.WithDeferAccept(g.deferAccept))
	}
	if len(g.allow) > 0 {
		opts = append(opts, sockets.WithAllow(g.allow...))
	}
	if len(g.deny) > 0 {
		opts = append(opts, sockets.WithDeny(g.deny...))
	}
	return opts
}

// report prints the counters when -gate-stats asks for them.
func (g *gateFlags) report(w io.Writer, s *sockets.Socket) {
	if g.stats {
		fmt.Fprintln(w, "gate:", statsLine(s.GateStats()))
	}
}

// statsLine is one line of a gate's counters.
func statsLine(st transport.GateStats) string {
	return fmt.Sprintf("accepted=%d rejected-acl=%d rejected-max-peers=%d rejected-max-peers-per-ip=%d rejected-max-handshakes=%d rejected-max-handshakes-per-ip=%d handshake-timeouts=%d dropped=%d peers=%d handshaking=%d",
		st.Accepted, st.RejectedACL, st.RejectedPeers, st.RejectedPeersPerIP, st.RejectedHandshakes, st.RejectedHandshakesPerIP,
		st.HandshakeTimeouts, st.Dropped, st.Peers, st.Handshakes)
}
