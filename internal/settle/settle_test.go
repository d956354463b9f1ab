package settle

import (
	"testing"
	"time"
)

// TestMarker: the marker arrives after two lost sends, one copy is still
// in flight, and Marker returns with the queue drained.
func TestMarker(t *testing.T) {
	q := make(chan string, 8)
	sends := 0
	send := func() {
		sends++
		if sends >= 3 { // the subscription took at the third publish
			q <- "m"
			if sends == 3 {
				q <- "m" // a copy from the send before, arriving late
			}
		}
	}
	next := func(d time.Duration) (string, bool) {
		select {
		case m := <-q:
			return m, true
		case <-time.After(d):
			return "", false
		}
	}
	Marker(t, send, next, "m", 5*time.Second)
	if sends != 3 || len(q) != 0 {
		t.Fatalf("%d sends, %d left queued; want 3 and 0", sends, len(q))
	}
}
