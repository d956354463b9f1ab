// Package settle makes tests wait until a subscription has reached its
// publisher: subscriptions travel to the publisher asynchronously, so a
// test publishes a marker until the subscriber receives it; everything the
// subscriber sent before the marker's subscription has then arrived too,
// as both travel in order on the connection.
package settle

import (
	"testing"
	"time"
)

// Poll is how long each try waits for the marker.
const Poll = 20 * time.Millisecond

// Marker calls send, which publishes marker once, until next returns it;
// next waits up to its argument for the subscriber's next message and
// returns it as text, or reports that nothing came. Marker then reads the
// copies of marker still in flight, until nothing comes for Poll, so that
// the test's next message is not a stray marker; anything else fails the
// test, as does a marker that has not arrived within timeout.
func Marker(tb testing.TB, send func(), next func(time.Duration) (string, bool), marker string, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if time.Now().After(deadline) {
			tb.Fatalf("%q never reached the subscriber within %v", marker, timeout)
		}
		send()
		if m, ok := next(Poll); ok && m == marker {
			break
		}
	}
	for {
		m, ok := next(Poll)
		if !ok {
			return
		}
		if m != marker {
			tb.Fatalf("received %q while settling on %q", m, marker)
		}
	}
}
