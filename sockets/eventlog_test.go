package sockets

import (
	"strings"
	"testing"

	"github.com/zmtpgo/zmtp/internal/eventlog"
	"github.com/zmtpgo/zmtp/transport"
)

// monitorLog records a socket's monitor events for tests to wait on.
type monitorLog struct{ *eventlog.Log[Event] }

func newMonitorLog() *monitorLog { return &monitorLog{eventlog.New[Event]()} }

// add is the monitor callback.
func (l *monitorLog) add(e Event) { l.Add(e) }

// wait returns the first event of kind whose peer starts with peer.
func (l *monitorLog) wait(t *testing.T, kind transport.EventKind, peer string) Event {
	t.Helper()
	_, e := l.Await(t.Fatalf, gateWait, 0, func(e Event) bool { return e.Kind == kind && strings.HasPrefix(e.Peer, peer) },
		kind.String()+" event for peer "+peer)
	return e
}

// until returns every event so far once one matches last, and forgets
// them.
func (l *monitorLog) until(t *testing.T, last func(Event) bool) []seen {
	t.Helper()
	i, _ := l.Await(t.Fatalf, gateWait, 0, last, "awaited event")
	var out []seen
	for _, e := range l.Drop(i) {
		out = append(out, see(e))
	}
	return out
}
