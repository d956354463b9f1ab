package transport

import (
	"sync"
	"sync/atomic"
)

// maxCommands is how many commands (subscriptions, PONGs) may wait to be
// written before SendCommand blocks.
const maxCommands = 16

// sendQueue is a connection's outgoing queue: messages up to the high-water
// mark and a few commands, which go out first. The writer takes everything
// queued in one step, under one lock, rather than one channel receive per
// message. An empty queue holds no memory worth counting; a channel sized
// to the high-water mark would hold 24 KB per connection from the start.
type sendQueue struct {
	mu       sync.Mutex
	msgs     [][][]byte
	cmds     [][]byte
	spare    [][][]byte    // the writer's last batch, emptied, for reuse
	inflight int           // messages taken by the writer and not yet written
	limit    int           // messages queued plus in flight
	room     chan struct{} // made by a sender that found no room; closed when room frees
	kick     chan struct{} // capacity 1: wakes the writer
}

// push queues a message, counting it in pending. With no room it queues
// nothing and returns a channel that closes when room may have freed.
func (q *sendQueue) push(frames [][]byte, pending *atomic.Int64) <-chan struct{} {
	q.mu.Lock()
	if len(q.msgs)+q.inflight >= q.limit {
		r := q.roomLocked()
		q.mu.Unlock()
		return r
	}
	q.msgs = append(q.msgs, frames)
	pending.Add(1)
	wake := len(q.msgs) == 1 && len(q.cmds) == 0
	q.mu.Unlock()
	if wake {
		q.wake()
	}
	return nil
}

// pushCommand queues a command body. With maxCommands already waiting it
// drops the command if drop is set, and otherwise queues nothing and
// returns a channel that closes when room may have freed.
func (q *sendQueue) pushCommand(body []byte, drop bool) <-chan struct{} {
	q.mu.Lock()
	if len(q.cmds) >= maxCommands {
		var r chan struct{}
		if !drop {
			r = q.roomLocked()
		}
		q.mu.Unlock()
		return r
	}
	q.cmds = append(q.cmds, body)
	wake := len(q.cmds) == 1 && len(q.msgs) == 0
	q.mu.Unlock()
	if wake {
		q.wake()
	}
	return nil
}

func (q *sendQueue) roomLocked() chan struct{} {
	if q.room == nil {
		q.room = make(chan struct{})
	}
	return q.room
}

func (q *sendQueue) wake() {
	select {
	case q.kick <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// take hands the writer everything queued. The messages count against the
// limit until the writer reports them written.
func (q *sendQueue) take() (cmds [][]byte, msgs [][][]byte) {
	q.mu.Lock()
	cmds, msgs = q.cmds, q.msgs
	q.cmds, q.msgs, q.spare = nil, q.spare, nil
	q.inflight += len(msgs)
	if len(cmds) > 0 {
		q.freeLocked()
	}
	q.mu.Unlock()
	return cmds, msgs
}

// written frees the room of n messages the writer has written.
func (q *sendQueue) written(n int) {
	q.mu.Lock()
	q.inflight -= n
	q.freeLocked()
	q.mu.Unlock()
}

func (q *sendQueue) freeLocked() {
	if q.room != nil {
		close(q.room)
		q.room = nil
	}
}

// recycle takes back a batch the writer is done with. A large one is left
// to the collector, so a connection that was busy once does not keep a
// batch-sized slice while idle.
func (q *sendQueue) recycle(msgs [][][]byte) {
	if cap(msgs) > 256 {
		return
	}
	clear(msgs) // the frames are the caller's
	q.mu.Lock()
	if q.spare == nil {
		q.spare = msgs[:0]
	}
	q.mu.Unlock()
}

// len returns the number of messages queued or in flight.
func (q *sendQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs) + q.inflight
}
