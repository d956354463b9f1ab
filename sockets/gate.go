package sockets

import (
	"fmt"
	"time"

	"github.com/zmtpgo/zmtp/transport"
)

// The gate of a socket's bound endpoints: accept-from lists, caps on peers
// and on handshakes in progress, and counters. Every socket has one (open
// and unlimited unless told otherwise), shared by all its listeners; the
// options below set it up at New, and the methods change it at any time,
// before or after Bind. A peer the gate refuses is closed right after
// accept, before a goroutine, a buffer or a handshake is spent on it, and
// reported as an EventRejected whose Reason names the rule
// (fsm.ReasonACLDenied, ReasonPeerLimit, ReasonPeerLimitPerIP,
// ReasonHandshakeLimit, ReasonHandshakeLimitPerIP) and whose Err wraps a
// *transport.RejectError.

// WithAllow adds prefixes ("10.0.0.0/8", "2001:db8::/32", or single
// addresses) to the accept-from allow list. While the list is empty every
// address may connect. New fails on text that is not a prefix or address.
func WithAllow(cidrs ...string) Option {
	return gateOption("WithAllow", func(g *transport.Gate) error {
		ps, err := transport.ParsePrefixes(cidrs)
		if err != nil {
			return err
		}
		allow, deny := g.AcceptFrom()
		g.SetAcceptFrom(append(allow, ps...), deny, false)
		return nil
	})
}

// WithDeny adds prefixes to the accept-from deny list; deny wins over
// allow. New fails on text that is not a prefix or address.
func WithDeny(cidrs ...string) Option {
	return gateOption("WithDeny", func(g *transport.Gate) error {
		ps, err := transport.ParsePrefixes(cidrs)
		if err != nil {
			return err
		}
		allow, deny := g.AcceptFrom()
		g.SetAcceptFrom(allow, append(deny, ps...), false)
		return nil
	})
}

// WithMaxPeers caps the connections of the socket's bound endpoints,
// handshaking and established alike (0, the default, is unlimited). A slot
// frees when its connection closes.
func WithMaxPeers(n int) Option {
	return limitOption("WithMaxPeers", func(l *transport.Limits) { l.MaxPeers = n })
}

// WithMaxPeersPerIP caps the connections from any one source address (0,
// the default, is unlimited). See WithPerIPv6Prefix.
func WithMaxPeersPerIP(n int) Option {
	return limitOption("WithMaxPeersPerIP", func(l *transport.Limits) { l.MaxPeersPerIP = n })
}

// WithMaxHandshakes caps the handshakes in progress (0, the default, is
// unlimited): with the handshake timeout (WithHandshakeTimeout), it keeps
// peers that connect and stay silent from holding the slots real clients
// need. A slot frees when the handshake completes or the connection closes.
func WithMaxHandshakes(n int) Option {
	return limitOption("WithMaxHandshakes", func(l *transport.Limits) { l.MaxHandshakes = n })
}

// WithDeferAccept has the kernel hold each new TCP connection to the
// socket's bound endpoints until its first byte arrives, or about d has
// passed, before accepting it (TCP_DEFER_ACCEPT; Linux only, ignored
// elsewhere). ZMTP peers send their greeting at once and are not delayed;
// connections that stay silent, as in a connection flood, never reach the
// gate or take a slot. See transport.Config.DeferAccept.
func WithDeferAccept(d time.Duration) Option { return func(o *options) { o.deferAccept = d } }

// WithMaxHandshakesPerIP caps the handshakes in progress from any one
// source address (0, the default, is unlimited).
func WithMaxHandshakesPerIP(n int) Option {
	return limitOption("WithMaxHandshakesPerIP", func(l *transport.Limits) { l.MaxHandshakesPerIP = n })
}

// WithPerIPv6Prefix makes the per-IP caps count IPv6 peers by prefix: 64
// counts each /64, the block one host usually holds, so a peer cannot
// escape its cap by hopping addresses. The default, 128, counts each
// address.
func WithPerIPv6Prefix(bits int) Option {
	return limitOption("WithPerIPv6Prefix", func(l *transport.Limits) { l.PerIPv6Prefix = bits })
}

func gateOption(name string, f func(*transport.Gate) error) Option {
	return func(o *options) {
		o.gateOpts = append(o.gateOpts, func(g *transport.Gate) error {
			if err := f(g); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			return nil
		})
	}
}

func limitOption(name string, set func(*transport.Limits)) Option {
	return gateOption(name, func(g *transport.Gate) error {
		l := g.Limits()
		set(&l)
		return g.SetLimits(l)
	})
}

// newGate returns the socket's gate with the gate options applied.
func (o *options) newGate() (*transport.Gate, error) {
	g := o.gate
	if g == nil {
		g = transport.NewGate()
	}
	for _, f := range o.gateOpts {
		if err := f(g); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// SetAcceptFrom replaces the accept-from lists of the socket's bound
// endpoints: allow and deny hold prefixes ("10.0.0.0/8", "::1/128") or
// addresses. An empty allow list admits every address not denied; deny
// wins over allow. The change applies to every new connection at once;
// with dropLive, open connections whose address no longer passes are
// closed too, each reported as an EventRejected with reason ACLDenied. On
// an invalid entry nothing changes and the error names it.
func (s *Socket) SetAcceptFrom(allow, deny []string, dropLive bool) error {
	a, err := transport.ParsePrefixes(allow)
	if err != nil {
		return fmt.Errorf("allow list: %w", err)
	}
	d, err := transport.ParsePrefixes(deny)
	if err != nil {
		return fmt.Errorf("deny list: %w", err)
	}
	s.cfg.Gate.SetAcceptFrom(a, d, dropLive)
	return nil
}

// SetLimits replaces the caps (zero fields are unlimited). Lowering a cap
// below what is open refuses new peers until enough have gone; it closes
// none.
func (s *Socket) SetLimits(l transport.Limits) error { return s.cfg.Gate.SetLimits(l) }

// Limits returns the caps in force.
func (s *Socket) Limits() transport.Limits { return s.cfg.Gate.Limits() }

// GateStats returns the gate's counters: connections accepted, rejected by
// each rule, handshake timeouts, live connections dropped, and the peers
// and handshakes open now.
func (s *Socket) GateStats() transport.GateStats { return s.cfg.Gate.Stats() }

// Gate returns the socket's gate, for sharing it (WithGate) or reading its
// lists.
func (s *Socket) Gate() *transport.Gate { return s.cfg.Gate }
