package sockets

import (
	"context"
	"testing"
	"time"
)

// TestPushAllWaitsForRoom: a batch larger than the room left goes in as
// far as it fits, then waits for the receiver one message at a time; all
// arrive, in order, and the queue never holds more than its limit.
func TestPushAllWaitsForRoom(t *testing.T) {
	q := &inQueue{limit: 3}
	ins := make([]inbound, 10)
	for i := range ins {
		ins[i] = inbound{frames: [][]byte{{byte(i)}}}
	}
	done := make(chan bool, 1)
	go func() { done <- q.pushAll(ins, nil, nil) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range ins {
		if n := q.len(); n > q.limit {
			t.Fatalf("%d queued, limit %d", n, q.limit)
		}
		in, ok, err := q.pop(ctx, nil, nil)
		if err != nil || !ok {
			t.Fatalf("pop %d: %v", i, err)
		}
		if got := in.frames[0][0]; int(got) != i {
			t.Fatalf("message %d arrived as number %d", i, got)
		}
	}
	if !<-done {
		t.Fatal("pushAll reported that it did not queue them all")
	}
	// A closed socket ends the wait for room.
	closed := make(chan struct{})
	close(closed)
	if q.pushAll(ins, nil, closed) {
		t.Fatal("pushAll into a full queue of a closed socket reported success")
	}
}
