// Package eventlog records events, typically from a monitor callback, for
// tests to wait on: every event is kept in order, and a waiter is woken at
// each new one instead of polling. It knows nothing of the events' type, so
// that the tests of package transport, whose events they are, can use it
// without an import cycle.
package eventlog

import (
	"fmt"
	"sync"
	"time"
)

// Log is an ordered record of events of type E, safe for concurrent use.
// Its zero value is not ready: use New.
type Log[E any] struct {
	mu   sync.Mutex
	evs  []E
	more chan struct{} // closed and replaced at each event
	next int           // where Next looks from
}

// New returns an empty log.
func New[E any]() *Log[E] { return &Log[E]{more: make(chan struct{})} }

// Add records e and wakes the waiters.
func (l *Log[E]) Add(e E) {
	l.mu.Lock()
	l.evs = append(l.evs, e)
	close(l.more)
	l.more = make(chan struct{})
	l.mu.Unlock()
}

// All returns a copy of the events so far.
func (l *Log[E]) All() []E {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]E(nil), l.evs...)
}

// Len returns how many events have been recorded: a mark for Await's from.
func (l *Log[E]) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.evs)
}

// Count returns how many events so far match.
func (l *Log[E]) Count(match func(E) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.evs {
		if match(e) {
			n++
		}
	}
	return n
}

// Await waits up to d for an event at index from or later that matches,
// and returns its index and the event. Past d it calls fatal (a test's
// Fatalf, which must not return) with what and the events so far.
func (l *Log[E]) Await(fatal func(string, ...any), d time.Duration, from int, match func(E) bool, what string) (int, E) {
	deadline := time.After(d)
	for {
		l.mu.Lock()
		for i := from; i < len(l.evs); i++ {
			if match(l.evs[i]) {
				e := l.evs[i]
				l.mu.Unlock()
				return i, e
			}
		}
		more := l.more
		l.mu.Unlock()
		select {
		case <-more:
		case <-deadline:
			fatal("%s", l.timeout(d, what))
			panic("eventlog: fatal returned")
		}
	}
}

// AwaitCount waits up to d until at least n events match.
func (l *Log[E]) AwaitCount(fatal func(string, ...any), d time.Duration, n int, match func(E) bool, what string) {
	deadline := time.After(d)
	for {
		l.mu.Lock()
		more := l.more
		l.mu.Unlock()
		if got := l.Count(match); got >= n {
			return
		}
		select {
		case <-more:
		case <-deadline:
			fatal("%d of %d %s; %s", l.Count(match), n, what, l.timeout(d, "more"))
			panic("eventlog: fatal returned")
		}
	}
}

// Next is Await from where the last Next or Drop left off, and leaves off
// after the event it returns: a test that consumes events in order.
func (l *Log[E]) Next(fatal func(string, ...any), d time.Duration, match func(E) bool, what string) E {
	l.mu.Lock()
	from := l.next
	l.mu.Unlock()
	i, e := l.Await(fatal, d, from, match, what)
	l.mu.Lock()
	l.next = i + 1
	l.mu.Unlock()
	return e
}

// Drop forgets the events up to and including index i (from Await), and
// returns them.
func (l *Log[E]) Drop(i int) []E {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]E(nil), l.evs[:i+1]...)
	l.evs = append(l.evs[:0:0], l.evs[i+1:]...)
	l.next = max(0, l.next-(i+1))
	return out
}

func (l *Log[E]) timeout(d time.Duration, what string) string {
	return fmt.Sprintf("no %s within %v; have %v", what, d, l.All())
}
