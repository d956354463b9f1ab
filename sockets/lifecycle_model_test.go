package sockets

import (
	"fmt"
	"time"

	"github.com/zmtpgo/zmtp/fsm"
	"github.com/zmtpgo/zmtp/transport"
	"pgregory.net/rapid"
)

// The model of lifecycle_test.go: what a SUB connected to a PUB over a
// memnet address must do, and when, on the virtual clock.
//
// Every action ends with synctest.Wait, so the model may take it that
// everything due at or before the present instant has happened: a timer
// that fires at the very instant an action runs has fired before it.
// Handshakes take no virtual time unless the address is stalled; the
// heartbeat's verdicts and the handshake timeouts are exact. Only the
// reconnect jitter and the publisher's TTL clock are not; the model gives
// each a window and takes the time it happened from the monitor events,
// after checking it against the window.

// lcParams are one run's settings.
type lcParams struct {
	ivl, ttl, timeout       time.Duration // the SUB's WithHeartbeat(ivl, ttl, timeout)
	reconnect, reconnectMax time.Duration // WithReconnectIvl, WithReconnectIvlMax
	pubIvl, pubTimeout      time.Duration // the PUB's WithHeartbeat(ivl, 0, timeout); 0: none
	subHS, pubHS            time.Duration // each side's WithHandshakeTimeout
	// small makes the network's buffers small, so that a burst toward a
	// silent subscriber fills them and blocks the PUB's writer.
	small bool
}

func lcDrawParams(t *rapid.T) lcParams {
	ms := func(lo, hi int, label string) time.Duration {
		return time.Duration(rapid.IntRange(lo, hi).Draw(t, label)) * time.Millisecond
	}
	var p lcParams
	p.ivl = 10 * ms(2, 30, "heartbeat ivl (10 ms)")
	if rapid.Bool().Draw(t, "explicit timeout") {
		p.timeout = ms(10, int(3*p.ivl/time.Millisecond), "heartbeat timeout")
	}
	// The TTL goes on the wire in deciseconds, and must exceed the interval
	// or the publisher would drop a live subscriber between two PINGs.
	if rapid.Bool().Draw(t, "ttl") {
		lo := int(p.ivl/(100*time.Millisecond)) + 1
		p.ttl = 100 * ms(lo, lo+8, "heartbeat ttl (100 ms)")
	}
	if rapid.Bool().Draw(t, "pub heartbeat") {
		p.pubIvl = 10 * ms(2, 30, "pub heartbeat ivl (10 ms)")
		if rapid.Bool().Draw(t, "pub explicit timeout") {
			p.pubTimeout = ms(10, int(3*p.pubIvl/time.Millisecond), "pub heartbeat timeout")
		}
	}
	p.small = rapid.Bool().Draw(t, "small buffers")
	p.subHS = ms(50, 3000, "sub handshake timeout")
	p.pubHS = ms(50, 3000, "pub handshake timeout")
	p.reconnect = ms(10, 500, "reconnect ivl")
	if rapid.IntRange(0, 9).Draw(t, "no reconnect") == 0 {
		p.reconnect = -1
	} else if rapid.Bool().Draw(t, "backoff") {
		p.reconnectMax = ms(int(p.reconnect/time.Millisecond), int(8*p.reconnect/time.Millisecond), "reconnect ivl max")
	}
	return p
}

// deadAfter is when a heartbeat with PINGs every ivl from ready, and the
// given timeout (0: ivl), declares a peer dead that went silent at
// silentAt: the timeout after its first PING that gets no answer. PINGs
// before silentAt were answered at once; one at silentAt itself too, since
// the silence came after everything due then.
func deadAfter(ready, silentAt time.Time, ivl, timeout time.Duration) time.Time {
	if timeout == 0 {
		timeout = ivl
	}
	pings := silentAt.Sub(ready) / ivl
	return ready.Add((pings+1)*ivl + timeout)
}

// lastPing is the time of the last PING sent every ivl from ready at or
// before t (ready itself if none).
func lastPing(ready, t time.Time, ivl time.Duration) time.Time {
	return ready.Add(t.Sub(ready) / ivl * ivl)
}

// lcSubState is where the SUB's connector is.
type lcSubState uint8

const (
	lcNone    lcSubState = iota // not connected (never, or Disconnect)
	lcUp                        // its connection is ready
	lcBackoff                   // waiting to dial again
	lcDialing                   // a dial waits for the silent address
	lcShaking                   // connected to a stalled address: the handshake waits
	lcStopped                   // reconnecting is off (WithReconnectIvl(-1)) and the connection ended
)

var lcSubStateNames = [...]string{"None", "Up", "Backoff", "Dialing", "Handshaking", "Stopped"}

func (s lcSubState) String() string { return lcSubStateNames[s] }

// lcConn is one connection, both ends.
type lcConn struct {
	at       time.Time // dialled and accepted
	ready    bool      // both handshakes completed,
	readyAt  time.Time // then (at, unless the address was stalled)
	subHS    time.Time // not ready: when each end's handshake times out
	pubHS    time.Time
	peer     string // the client address the PUB reports, once seen
	subAlive bool
	pubAlive bool
	held     []int // published while silent, on their way to the SUB
	// heldCut: the PUB end closed while silent with a writer that may have
	// been blocked on a full buffer; only a prefix of held may arrive.
	heldCut bool
	resumed time.Time // the last Resume that brought the PUB frames (PINGs, PONGs)
	// The PUB end's close: exact when an action, a resume or a handshake
	// timeout causes it; a window while silent, for the PUB's heartbeat
	// (exact alone) and the SUB's TTL, whichever comes first.
	end          *lcEnd
	winLo, winHi time.Time
	// What the PUB reported.
	sawAccepted, sawReady bool
	sawDisc, sawClosed    bool
}

// lcEnd is an expected close of a connection's PUB end.
type lcEnd struct {
	reason fsm.Reason
	at     time.Time
}

// lcWant is an event the SUB must report next.
type lcWant struct {
	kind   transport.EventKind
	reason fsm.Reason
	at     time.Time
	peer   string
}

func (w lcWant) String() string {
	return fmt.Sprintf("%s %s peer=%q reason=%s", lcClock(w.at), w.kind, w.peer, w.reason.String())
}

// lcModel predicts the SUB's connector, both ends of each connection, and
// which messages arrive.
type lcModel struct {
	p lcParams

	silent   bool      // the address is silent
	stall    bool      // and dials to it complete
	silentAt time.Time // since then
	bound    bool      // a PUB listens at the address

	// The SUB's connector, mirrored: its state, its backoff variable, the
	// Backoff it is in, and when its heartbeat declares a silent peer dead.
	st       lcSubState
	backoff  time.Duration
	waitFrom time.Time
	waitBase time.Duration
	deadAt   time.Time
	cur      *lcConn // lcUp and lcShaking only

	conns   []*lcConn
	subWant []lcWant // events the SUB must report next, in order
	// Endpoint events the PUB must report (Listening; Closed without a
	// peer), at the present instant.
	pubListening, pubEpClosed int

	seq       int   // the last message number published
	delivered []int // what the SUB must have received, in order
	// cut is what the SUB may have received after delivered: any prefix of
	// it (held messages of a connection closed under a full buffer).
	cut []int
}

func newLcModel(p lcParams) *lcModel { return &lcModel{p: p} }

func (m *lcModel) wantSub(kind transport.EventKind, reason fsm.Reason, at time.Time) {
	peer := ""
	switch kind {
	case transport.EventConnected, transport.EventHandshakeSucceeded, transport.EventHandshakeFailed, transport.EventDisconnected:
		peer = lcAddr
	default:
		// ConnectDelayed, ConnectRetried, and Closed for the endpoint.
	}
	m.subWant = append(m.subWant, lcWant{kind, reason, at, peer})
}

// connect is Connect: a new connector, with its backoff at the start.
func (m *lcModel) connect(at time.Time) {
	m.backoff = m.p.reconnect
	m.dial(at)
}

// dial is the connector dialling at time at. To a stalled address it
// connects, and the handshake waits for Resume or its timeout.
func (m *lcModel) dial(at time.Time) {
	switch {
	case m.silent && !m.stall:
		m.st = lcDialing
	case m.bound:
		c := &lcConn{at: at, subAlive: true, pubAlive: true}
		m.conns = append(m.conns, c)
		m.cur, m.deadAt = c, time.Time{}
		m.wantSub(transport.EventConnected, 0, at)
		if m.silent {
			m.st = lcShaking
			c.subHS, c.pubHS = at.Add(m.p.subHS), at.Add(m.p.pubHS)
		} else {
			m.ready(c, at)
		}
	default:
		m.wantSub(transport.EventConnectDelayed, 0, at)
		m.wait(at)
	}
}

// ready is both handshakes of the SUB's connection completing at time at.
func (m *lcModel) ready(c *lcConn, at time.Time) {
	c.ready, c.readyAt = true, at
	m.st = lcUp
	m.wantSub(transport.EventHandshakeSucceeded, 0, at)
}

// wait enters Backoff as the connector does: this wait is drawn from the
// present base, which then doubles up to the maximum. With reconnecting
// off, the connector stops instead.
func (m *lcModel) wait(at time.Time) {
	if m.p.reconnect < 0 {
		m.st = lcStopped
		return
	}
	m.st, m.waitFrom, m.waitBase = lcBackoff, at, m.backoff
	if m.p.reconnectMax > 0 {
		m.backoff = min(2*m.backoff, m.p.reconnectMax)
	}
}

// retryWindow is when the reconnect timer of the present Backoff fires:
// the base plus up to half of it (the jitter).
func (m *lcModel) retryWindow() (lo, hi time.Time) {
	return m.waitFrom.Add(m.waitBase), m.waitFrom.Add(m.waitBase + m.waitBase/2)
}

// subLost is the SUB's end of its connection closing for reason, and the
// connector waiting to dial again: a connection that got through resets
// the backoff, one whose handshake failed does not.
func (m *lcModel) subLost(at time.Time, reason fsm.Reason) {
	m.subEnd(at, reason)
	m.wait(at)
}

// subEnd is the SUB's end of its connection closing for reason.
func (m *lcModel) subEnd(at time.Time, reason fsm.Reason) {
	c := m.cur
	if c.ready {
		m.wantSub(transport.EventDisconnected, reason, at)
		m.backoff = m.p.reconnect
	} else {
		m.wantSub(transport.EventHandshakeFailed, reason, at)
	}
	c.subAlive = false
	m.cur, m.deadAt = nil, time.Time{}
}

// pubLost is a connection's PUB end closing for reason at a known time.
func (m *lcModel) pubLost(c *lcConn, reason fsm.Reason, at time.Time) {
	if !c.pubAlive {
		return
	}
	c.pubAlive = false
	c.end = &lcEnd{reason, at}
	c.winLo, c.winHi = time.Time{}, time.Time{}
	m.cutHeld(c)
}

// cutHeld notes that a connection's PUB end closed while silent: what its
// writer had not yet handed to a full network buffer is lost.
func (m *lcModel) cutHeld(c *lcConn) {
	if m.silent && m.p.small {
		c.heldCut = true
	}
}

// pubConn returns the ready connection whose PUB end is open, if any:
// there is at most one, since no connection gets ready while the address
// is silent and a resume ends the stale one.
func (m *lcModel) pubConn() *lcConn {
	var found *lcConn
	for _, c := range m.conns {
		if c.pubAlive && c.ready {
			if found != nil {
				panic("model: two open PUB ends")
			}
			found = c
		}
	}
	return found
}

// publish is the PUB sending message n.
func (m *lcModel) publish(n int) {
	c := m.pubConn()
	switch {
	case c == nil: // no subscriber: PUB drops it
	case m.silent:
		c.held = append(c.held, n)
	default:
		m.delivered = append(m.delivered, n)
	}
}

// silence starts a silence at time at. The SUB's next PING gets no answer,
// and the heartbeat timeout after it the SUB declares the PUB dead; the
// PUB's heartbeat likewise, when it has one. With a TTL the PUB, which has
// heard a PING, declares the SUB dead between one and two TTLs after the
// last frame it received: its TTL clock ticks once per TTL and looks for
// any frame since the tick before.
func (m *lcModel) silence(at time.Time, stall bool) {
	m.silent, m.stall, m.silentAt = true, stall, at
	if c := m.cur; c != nil {
		m.deadAt = deadAfter(c.readyAt, at, m.p.ivl, m.p.timeout)
	}
	c := m.pubConn()
	if c == nil {
		return
	}
	var lo, hi time.Time
	if m.p.pubIvl > 0 {
		lo = deadAfter(c.readyAt, at, m.p.pubIvl, m.p.pubTimeout)
		hi = lo
	}
	if m.p.ttl > 0 && !c.readyAt.Add(m.p.ivl).After(at) {
		last := lastPing(c.readyAt, at, m.p.ivl) // the SUB's last PING
		if m.p.pubIvl > 0 {
			if pong := lastPing(c.readyAt, at, m.p.pubIvl); pong.After(last) { // its PONG to ours
				last = pong
			}
		}
		if c.resumed.After(last) {
			last = c.resumed
		}
		if tlo := last.Add(m.p.ttl); lo.IsZero() || tlo.Before(lo) {
			lo = tlo
		}
		if thi := last.Add(2 * m.p.ttl); hi.IsZero() || thi.Before(hi) {
			hi = thi
		}
	}
	c.winLo, c.winHi = lo, hi
}

// resume ends the silence at time at: held bytes and closes cross, a
// waiting handshake completes (or finds the other end gone), and a waiting
// dial goes through.
func (m *lcModel) resume(at time.Time) {
	m.silent, m.stall = false, false
	m.deadAt = time.Time{}
	for _, c := range m.conns {
		switch {
		case !c.ready && c.subAlive && c.pubAlive:
			m.ready(c, at)
		case !c.ready && c.subAlive:
			m.subLost(at, fsm.ReasonPeerClosed)
		case c.subAlive:
			if c.heldCut {
				m.cut = c.held
			} else {
				m.delivered = append(m.delivered, c.held...)
			}
			if !c.pubAlive { // the PUB end's close arrives after its bytes
				m.subLost(at, fsm.ReasonPeerClosed)
			} else {
				// A PING either side sent during the silence reaches the
				// PUB now, or the SUB's PONG to it does.
				if lastPing(c.readyAt, at, m.p.ivl).After(m.silentAt) ||
					m.p.pubIvl > 0 && lastPing(c.readyAt, at, m.p.pubIvl).After(m.silentAt) {
					c.resumed = at
				}
				c.winLo, c.winHi = time.Time{}, time.Time{}
			}
		case c.pubAlive: // the SUB's close arrives
			m.pubLost(c, fsm.ReasonPeerClosed, at)
		}
		c.held = nil
	}
	if m.st == lcDialing {
		m.dial(at)
	}
}

// reset breaks every connection at time at, silent or not.
func (m *lcModel) reset(at time.Time) {
	for _, c := range m.conns {
		m.pubLost(c, fsm.ReasonPeerClosed, at)
		if c.subAlive {
			m.subLost(at, fsm.ReasonPeerClosed)
		}
		c.held = nil
	}
}

// unbind is the PUB closing its listener (Unbind, or Close) at time at.
func (m *lcModel) unbind(at time.Time) {
	m.bound = false
	m.pubEpClosed++
	for _, c := range m.conns {
		m.pubLost(c, fsm.ReasonClosed, at)
		if c.subAlive && !m.silent {
			m.subLost(at, fsm.ReasonPeerClosed)
		}
	}
}

// bind is the PUB listening again.
func (m *lcModel) bind() {
	m.bound = true
	m.pubListening++
}

// disconnect is the SUB's Disconnect at time at: its connection closes,
// its connector stops, and nothing more is reported for the endpoint.
func (m *lcModel) disconnect(at time.Time) {
	if c := m.cur; c != nil {
		m.subEnd(at, fsm.ReasonClosed)
		if !m.silent {
			m.pubLost(c, fsm.ReasonPeerClosed, at)
		}
	}
	m.st = lcNone
	m.wantSub(transport.EventClosed, 0, at)
}

// deadlines are the instants where the model's predictions change, for the
// action that advances the clock to one of them.
func (m *lcModel) deadlines(now time.Time) []time.Time {
	var ds []time.Time
	if !m.deadAt.IsZero() {
		ds = append(ds, m.deadAt)
	}
	if m.st == lcBackoff {
		lo, hi := m.retryWindow()
		ds = append(ds, lo, hi)
	}
	for _, c := range m.conns {
		if !c.winLo.IsZero() {
			ds = append(ds, c.winLo, c.winHi)
		}
		if !c.ready && c.subAlive {
			ds = append(ds, c.subHS)
		}
		if !c.ready && c.pubAlive {
			ds = append(ds, c.pubHS)
		}
	}
	var future []time.Time
	for _, d := range ds {
		if d.After(now) {
			future = append(future, d)
		}
	}
	return future
}

// liveLinks is how many memnet connections must still be open at one end
// at least.
func (m *lcModel) liveLinks() int {
	n := 0
	for _, c := range m.conns {
		if c.subAlive || c.pubAlive {
			n++
		}
	}
	return n
}
