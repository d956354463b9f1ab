package sockets

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/zmtpgo/zmtp/fsm"
	"github.com/zmtpgo/zmtp/transport"
	"pgregory.net/rapid"
)

// Checking what the sockets report against lcModel (lifecycle_model_test.go).

// lcStamped is a monitor event with the virtual time it was reported at.
type lcStamped struct {
	at time.Time
	ev Event
}

func (s lcStamped) String() string { return fmt.Sprintf("%s %v", lcClock(s.at), s.ev) }

// lcRecorder keeps a socket's monitor events, stamped with the virtual time.
type lcRecorder struct {
	mu  sync.Mutex
	evs []lcStamped
}

func (r *lcRecorder) add(ev Event) {
	r.mu.Lock()
	r.evs = append(r.evs, lcStamped{time.Now(), ev})
	r.mu.Unlock()
}

// take returns the events recorded since the last take.
func (r *lcRecorder) take() []lcStamped {
	r.mu.Lock()
	defer r.mu.Unlock()
	evs := r.evs
	r.evs = nil
	return evs
}

// lcEpoch is the bubble's starting time, for readable logs.
var lcEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// lcClock prints a virtual time as the offset from the bubble's start.
func lcClock(t time.Time) string { return "+" + t.Sub(lcEpoch).String() }

// syncSub checks the SUB's events up to now against the model, and moves
// the model along its timers: the heartbeat's verdict on a silent peer and
// the handshake timeout (exact), and the reconnect timer (a window; the
// time comes from the event).
func (m *lcModel) syncSub(t *rapid.T, evs []lcStamped, now time.Time) {
	t.Helper()
	i := 0
	for {
		if len(m.subWant) > 0 {
			w := m.subWant[0]
			m.subWant = m.subWant[1:]
			if i >= len(evs) {
				t.Fatalf("SUB: no event; want %v (state %v)", w, m.st)
			}
			got := evs[i]
			i++
			if got.ev.Kind != w.kind || got.ev.Reason != w.reason || !got.at.Equal(w.at) || got.ev.Peer != w.peer || got.ev.Endpoint != lcEndpoint {
				t.Fatalf("SUB: got  %v\nwant %v", got, w)
			}
			continue
		}
		switch m.st {
		case lcUp:
			if !m.deadAt.IsZero() && !m.deadAt.After(now) {
				m.subLost(m.deadAt, fsm.ReasonHeartbeatTimeout)
				continue
			}
		case lcShaking:
			if at := m.cur.subHS; !at.After(now) {
				m.subLost(at, fsm.ReasonHandshakeTimeout)
				continue
			}
		case lcBackoff:
			lo, hi := m.retryWindow()
			if i < len(evs) && evs[i].ev.Kind == transport.EventConnectRetried {
				r := evs[i].at
				if r.Before(lo) || r.After(hi) {
					t.Fatalf("SUB: redialled at %s, outside the reconnect window [%s, %s] (base %v)", lcClock(r), lcClock(lo), lcClock(hi), m.waitBase)
				}
				i++
				m.dial(r)
				continue
			}
			if !hi.After(now) {
				t.Fatalf("SUB: no redial by %s (window [%s, %s], base %v)", lcClock(now), lcClock(lo), lcClock(hi), m.waitBase)
			}
		}
		break
	}
	if i < len(evs) {
		t.Fatalf("SUB in state %v: unexpected %v", m.st, evs[i])
	}
}

// syncPub checks the PUB's events up to now: each connection accepted when
// the SUB dialled, ready when the SUB's was, and closed once, for the
// reason and at the time (or within the window) the model says.
func (m *lcModel) syncPub(t *rapid.T, evs []lcStamped, now time.Time) {
	t.Helper()
	for _, c := range m.conns { // handshakes that waited on a stalled address
		if !c.ready && c.pubAlive && !c.pubHS.After(now) {
			m.pubLost(c, fsm.ReasonHandshakeTimeout, c.pubHS)
		}
	}
	byPeer := func(e lcStamped) *lcConn {
		for _, c := range m.conns {
			if c.peer == e.ev.Peer {
				return c
			}
		}
		t.Fatalf("PUB: event for a connection the model does not know: %v", e)
		return nil
	}
	for _, e := range evs {
		ev := e.ev
		if ev.Endpoint != lcEndpoint {
			t.Fatalf("PUB: event for another endpoint: %v", e)
		}
		switch {
		case ev.Kind == transport.EventListening:
			if m.pubListening == 0 || !e.at.Equal(now) {
				t.Fatalf("PUB: unexpected %v", e)
			}
			m.pubListening--
		case ev.Kind == transport.EventClosed && ev.Peer == "":
			if m.pubEpClosed == 0 || !e.at.Equal(now) || ev.Reason != fsm.ReasonNone {
				t.Fatalf("PUB: unexpected %v", e)
			}
			m.pubEpClosed--
		case ev.Kind == transport.EventAccepted:
			var c *lcConn
			for _, x := range m.conns {
				if x.peer == "" {
					c = x
					break
				}
			}
			if c == nil || !e.at.Equal(c.at) {
				t.Fatalf("PUB: unexpected %v", e)
			}
			c.peer, c.sawAccepted = ev.Peer, true
		case ev.Kind == transport.EventHandshakeSucceeded:
			c := byPeer(e)
			if !c.ready || c.sawReady || !e.at.Equal(c.readyAt) {
				t.Fatalf("PUB: unexpected %v", e)
			}
			c.sawReady = true
		case ev.Kind == transport.EventHandshakeFailed:
			c := byPeer(e)
			if c.ready || c.sawDisc || c.end == nil || ev.Reason != c.end.reason || !e.at.Equal(c.end.at) {
				t.Fatalf("PUB: unexpected %v", e)
			}
			c.sawDisc = true
		case ev.Kind == transport.EventDisconnected:
			c := byPeer(e)
			if !c.sawReady || c.sawDisc {
				t.Fatalf("PUB: second close: %v", e)
			}
			c.sawDisc = true
			switch {
			case c.end != nil:
				if ev.Reason != c.end.reason || !e.at.Equal(c.end.at) {
					t.Fatalf("PUB: got %v\nwant the close at %s, reason %v", e, lcClock(c.end.at), c.end.reason.String())
				}
			case !c.winLo.IsZero():
				if ev.Reason != fsm.ReasonHeartbeatTimeout || e.at.Before(c.winLo) || e.at.After(c.winHi) {
					t.Fatalf("PUB: got %v\nwant a HeartbeatTimeout within [%s, %s]", e, lcClock(c.winLo), lcClock(c.winHi))
				}
				c.pubAlive = false
				c.end = &lcEnd{fsm.ReasonHeartbeatTimeout, e.at}
				c.winLo, c.winHi = time.Time{}, time.Time{}
				m.cutHeld(c)
			default:
				t.Fatalf("PUB: unexpected %v", e)
			}
		case ev.Kind == transport.EventClosed:
			c := byPeer(e)
			if !c.sawDisc || c.sawClosed || c.end == nil || ev.Reason != c.end.reason || !e.at.Equal(c.end.at) {
				t.Fatalf("PUB: unexpected %v", e)
			}
			c.sawClosed = true
		default:
			t.Fatalf("PUB: unexpected %v", e)
		}
	}
	if m.pubListening != 0 || m.pubEpClosed != 0 {
		t.Fatalf("PUB: %d listening and %d endpoint-closed events missing", m.pubListening, m.pubEpClosed)
	}
	for i, c := range m.conns {
		switch {
		case !c.sawAccepted || c.ready && !c.sawReady:
			t.Fatalf("PUB: connection %d (from %s) never accepted or ready", i+1, lcClock(c.at))
		case c.end != nil && !(c.sawDisc && c.sawClosed):
			t.Fatalf("PUB: connection %d (%s) not closed; want the close at %s, reason %v", i+1, c.peer, lcClock(c.end.at), c.end.reason.String())
		case !c.winHi.IsZero() && !c.winHi.After(now):
			t.Fatalf("PUB: connection %d (%s) not declared dead by %s (window [%s, %s])", i+1, c.peer, lcClock(now), lcClock(c.winLo), lcClock(c.winHi))
		}
	}
}

// lcParseSeq reads a message's number, its first frame.
func lcParseSeq(m Msg) (int, error) {
	if len(m.Frames) == 0 || len(m.Frames) > 2 {
		return 0, fmt.Errorf("%d frames", len(m.Frames))
	}
	return strconv.Atoi(string(m.Frames[0]))
}
