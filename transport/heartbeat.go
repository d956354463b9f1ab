package transport

import (
	"fmt"
	"time"
)

// Heartbeat configures ZMTP heartbeats (RFC 37 §Connection Heartbeating),
// as libzmq's ZMQ_HEARTBEAT_IVL, ZMQ_HEARTBEAT_TTL and
// ZMQ_HEARTBEAT_TIMEOUT do. The zero value sends no PINGs; a peer's PINGs
// are answered and its TTL honoured whatever the settings.
type Heartbeat struct {
	// Interval between PINGs; 0 sends none.
	Interval time.Duration
	// TTL asks the peer to declare us dead after this long without
	// traffic from us; sent in each PING in deciseconds (at most 6553.5 s).
	TTL time.Duration
	// Timeout declares the peer dead when nothing at all arrives this long
	// after a PING; 0 means Interval, as in libzmq.
	Timeout time.Duration
}

// ttlDeciseconds is the TTL as the PING carries it.
func (h Heartbeat) ttlDeciseconds() uint16 {
	return uint16(min(h.TTL/(100*time.Millisecond), 0xFFFF))
}

// heartbeat is the liveness clock of one connection, run by the Conn's
// timer (Conn.beat) under hbMu. It is pure: the caller passes the time and
// the count of reads that brought bytes so far, and it answers whether to
// send a PING and whether the peer is dead, so it can be tested without a
// clock or a socket. Any received byte counts as a sign of life.
type heartbeat struct {
	cfg Heartbeat

	nextPing time.Time // when the next PING is due (zero: we send none)
	// The PING whose answer (any traffic) we wait for.
	waiting bool
	pingAt  time.Time
	pingRx  uint64
	// The peer's TTL: traffic must arrive within it.
	ttlFrom time.Time
	ttlRx   uint64
}

func newHeartbeat(cfg Heartbeat, now time.Time) *heartbeat {
	h := &heartbeat{cfg: cfg, ttlFrom: now}
	if cfg.Interval > 0 {
		h.nextPing = now.Add(cfg.Interval)
	}
	return h
}

func (h *heartbeat) timeout() time.Duration {
	if h.cfg.Timeout > 0 {
		return h.cfg.Timeout
	}
	return h.cfg.Interval
}

// deadPeerError says how the peer was found dead: silent after our PING,
// or past the TTL it asked for.
type deadPeerError struct {
	what   string
	silent time.Duration
}

func (e *deadPeerError) Error() string {
	return fmt.Sprintf("no traffic from the peer for %v %s", e.silent.Round(time.Millisecond), e.what)
}

// tick advances the clock to now, given rx frames received in all and the
// peer's TTL (0 if it sent none). It reports whether a PING is due now,
// and a *deadPeerError when the peer is dead.
func (h *heartbeat) tick(now time.Time, rx uint64, peerTTL time.Duration) (ping bool, dead error) {
	if h.waiting {
		switch {
		case rx != h.pingRx:
			h.waiting = false
		case !now.Before(h.pingAt.Add(h.timeout())):
			return false, &deadPeerError{what: "after our PING (heartbeat timeout)", silent: now.Sub(h.pingAt)}
		}
	}
	if rx != h.ttlRx {
		h.ttlRx, h.ttlFrom = rx, now
	} else if peerTTL > 0 && !now.Before(h.ttlFrom.Add(peerTTL)) {
		return false, &deadPeerError{what: "(the TTL the peer asked for)", silent: now.Sub(h.ttlFrom)}
	}
	if !h.nextPing.IsZero() && !now.Before(h.nextPing) {
		h.nextPing = now.Add(h.cfg.Interval)
		if !h.waiting {
			h.waiting, h.pingAt, h.pingRx = true, now, rx
		}
		return true, nil
	}
	return false, nil
}

// next returns when tick must run again: the nearest of the next PING, the
// PING's timeout and the peer's TTL; zero when nothing is pending.
func (h *heartbeat) next(peerTTL time.Duration) time.Time {
	var at time.Time
	earlier := func(t time.Time) {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	earlier(h.nextPing)
	if h.waiting {
		earlier(h.pingAt.Add(h.timeout()))
	}
	if peerTTL > 0 {
		earlier(h.ttlFrom.Add(peerTTL))
	}
	return at
}
