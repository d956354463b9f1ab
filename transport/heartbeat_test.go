package transport

import (
	"errors"
	"testing"
	"time"
)

// step drives a heartbeat through time in 10 ms steps, with frames
// arriving whenever alive(t) says so, and returns when it sent PINGs and
// when (if ever) it declared the peer dead.
func step(cfg Heartbeat, peerTTL time.Duration, until time.Duration, alive func(time.Duration) bool) (pings []time.Duration, deadAt time.Duration, err error) {
	t0 := time.Unix(0, 0)
	h := newHeartbeat(cfg, t0)
	var rx uint64
	for d := time.Duration(0); d <= until; d += 10 * time.Millisecond {
		if alive(d) {
			rx++
		}
		ping, dead := h.tick(t0.Add(d), rx, peerTTL)
		if ping {
			pings = append(pings, d)
		}
		if dead != nil {
			return pings, d, dead
		}
	}
	return pings, -1, nil
}

func TestHeartbeatPingsEveryInterval(t *testing.T) {
	pings, deadAt, _ := step(Heartbeat{Interval: 100 * time.Millisecond}, 0, time.Second, func(time.Duration) bool { return true })
	if deadAt >= 0 || len(pings) != 10 || pings[0] != 100*time.Millisecond {
		t.Fatalf("pings %v dead at %v; want 10 PINGs from 100ms and a live peer", pings, deadAt)
	}
}

func TestHeartbeatTimeoutAfterSilence(t *testing.T) {
	// Traffic until 450 ms, then nothing: the PING at 500 ms gets no
	// answer, and 300 ms later the peer is dead.
	_, deadAt, err := step(Heartbeat{Interval: 100 * time.Millisecond, Timeout: 300 * time.Millisecond}, 0, 5*time.Second,
		func(d time.Duration) bool { return d < 450*time.Millisecond })
	var dp *deadPeerError
	if !errors.As(err, &dp) || deadAt != 800*time.Millisecond {
		t.Fatalf("dead at %v (%v), want 800ms with a heartbeat timeout", deadAt, err)
	}
}

func TestHeartbeatAnyTrafficIsLife(t *testing.T) {
	// One frame every 250 ms answers every PING within its 300 ms timeout.
	_, deadAt, err := step(Heartbeat{Interval: 100 * time.Millisecond, Timeout: 300 * time.Millisecond}, 0, 5*time.Second,
		func(d time.Duration) bool { return d%(250*time.Millisecond) == 0 })
	if deadAt >= 0 {
		t.Fatalf("declared dead at %v: %v", deadAt, err)
	}
}

func TestHeartbeatHonoursPeerTTL(t *testing.T) {
	// We send no PINGs, but the peer asked for a 1 s TTL and went silent
	// at 2 s.
	_, deadAt, err := step(Heartbeat{}, time.Second, 10*time.Second, func(d time.Duration) bool { return d < 2*time.Second })
	if err == nil || deadAt < 2900*time.Millisecond || deadAt > 3100*time.Millisecond {
		t.Fatalf("dead at %v (%v), want about 3s", deadAt, err)
	}
}

func TestHeartbeatOffDoesNothing(t *testing.T) {
	pings, deadAt, _ := step(Heartbeat{}, 0, 10*time.Second, func(time.Duration) bool { return false })
	if len(pings) != 0 || deadAt >= 0 {
		t.Fatalf("pings %v dead %v with heartbeats off", pings, deadAt)
	}
}

func TestHeartbeatNext(t *testing.T) {
	t0 := time.Unix(0, 0)
	h := newHeartbeat(Heartbeat{Interval: time.Second, Timeout: 200 * time.Millisecond}, t0)
	if got := h.next(0); !got.Equal(t0.Add(time.Second)) {
		t.Fatalf("first deadline %v", got.Sub(t0))
	}
	h.tick(t0.Add(time.Second), 0, 0) // PING sent, answer awaited
	if got := h.next(0); !got.Equal(t0.Add(1200 * time.Millisecond)) {
		t.Fatalf("deadline after PING %v, want the 200ms timeout", got.Sub(t0))
	}
	if got := h.next(100 * time.Millisecond); !got.Equal(t0.Add(100 * time.Millisecond)) {
		t.Fatalf("deadline with a 100ms peer TTL %v", got.Sub(t0))
	}
}

func TestTTLDeciseconds(t *testing.T) {
	for _, tt := range []struct {
		ttl  time.Duration
		want uint16
	}{{0, 0}, {250 * time.Millisecond, 2}, {time.Second, 10}, {time.Hour * 10, 0xFFFF}} {
		if got := (Heartbeat{TTL: tt.ttl}).ttlDeciseconds(); got != tt.want {
			t.Errorf("TTL %v: %d, want %d", tt.ttl, got, tt.want)
		}
	}
}
