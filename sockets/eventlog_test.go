package sockets

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zmtpgo/zmtp/transport"
)

// monitorLog records a socket's monitor events for tests to wait on.
type monitorLog struct {
	mu   sync.Mutex
	evs  []Event
	more chan struct{} // closed and replaced at each event
}

func newMonitorLog() *monitorLog { return &monitorLog{more: make(chan struct{})} }

func (l *monitorLog) add(e Event) {
	l.mu.Lock()
	l.evs = append(l.evs, e)
	close(l.more)
	l.more = make(chan struct{})
	l.mu.Unlock()
}

// await waits up to gateWait for an event at index from or later that
// matches, and returns its index; past the deadline it calls fatal with
// what was awaited and the events so far. It is called with l.mu not held
// and returns with it held, so that the caller can act on the events.
func (l *monitorLog) await(fatal func(string, ...any), from int, match func(Event) bool, what string) int {
	deadline := time.After(gateWait)
	for {
		l.mu.Lock()
		for i := from; i < len(l.evs); i++ {
			if match(l.evs[i]) {
				return i
			}
		}
		more := l.more
		l.mu.Unlock()
		select {
		case <-more:
		case <-deadline:
			l.mu.Lock()
			evs := append([]Event(nil), l.evs...)
			l.mu.Unlock()
			fatal("no %s within %v; have %v", what, gateWait, evs)
		}
	}
}

// wait returns the first event of kind whose peer starts with peer.
func (l *monitorLog) wait(t *testing.T, kind transport.EventKind, peer string) Event {
	t.Helper()
	i := l.await(t.Fatalf, 0, func(e Event) bool { return e.Kind == kind && strings.HasPrefix(e.Peer, peer) },
		kind.String()+" event for peer "+peer)
	defer l.mu.Unlock()
	return l.evs[i]
}

// until returns every event so far once one matches last, and forgets
// them.
func (l *monitorLog) until(t *testing.T, last func(Event) bool) []seen {
	t.Helper()
	i := l.await(t.Fatalf, 0, last, "awaited event")
	defer l.mu.Unlock()
	var out []seen
	for _, e := range l.evs[:i+1] {
		out = append(out, see(e))
	}
	l.evs = append([]Event(nil), l.evs[i+1:]...)
	return out
}

// mark returns how many events have been seen, for waitPeer.
func (l *monitorLog) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.evs)
}
