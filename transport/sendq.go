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
	inflight int           // messages taken by the writer and not yet written
	limit    int           // messages queued plus in flight
	room     chan struct{} // made by a sender that found no room; closed when room frees
	running  bool          // a writer goroutine is at work
	closed   bool          // no writer may start: the connection is ending
	exited   chan struct{} // made by stop while a writer runs; closed when it ends
}

// cmdMode says what pushCommand does when maxCommands already wait.
type cmdMode uint8

const (
	cmdWait  cmdMode = iota // queue nothing; return a channel to wait on
	cmdDrop                 // drop the command (a PONG)
	cmdForce                // queue it anyway (a PING: the clock counts on it)
)

// push queues a message, counting it in pending, and reports whether the
// caller must start a writer. With no room it queues nothing and returns a
// channel that closes when room may have freed.
func (q *sendQueue) push(frames [][]byte, pending *atomic.Int64) (room <-chan struct{}, start bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.msgs)+q.inflight >= q.limit {
		return q.roomLocked(), false
	}
	if q.msgs == nil {
		q.msgs = getBatch()
	}
	q.msgs = append(q.msgs, frames)
	pending.Add(1)
	return nil, q.startLocked()
}

// pushCommand queues a command body and reports whether the caller must
// start a writer. With maxCommands already waiting, mode says what to do.
func (q *sendQueue) pushCommand(body []byte, mode cmdMode) (room <-chan struct{}, start bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.cmds) >= maxCommands {
		switch mode {
		case cmdWait:
			return q.roomLocked(), false
		case cmdDrop:
			return nil, false
		}
	}
	q.cmds = append(q.cmds, body)
	return nil, q.startLocked()
}

func (q *sendQueue) startLocked() bool {
	if q.running || q.closed {
		return false
	}
	q.running = true
	return true
}

// idle ends the writer if nothing is queued, and reports whether it did.
func (q *sendQueue) idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.msgs) > 0 || len(q.cmds) > 0 {
		return false
	}
	q.exitLocked(true)
	return true
}

// exit ends the writer; after a failed write (ok false) none starts again.
func (q *sendQueue) exit(ok bool) {
	q.mu.Lock()
	q.exitLocked(ok)
	q.mu.Unlock()
}

func (q *sendQueue) exitLocked(ok bool) {
	q.running = false
	q.closed = q.closed || !ok
	if q.exited != nil {
		close(q.exited)
		q.exited = nil
	}
}

// stop lets no writer start and waits for a running one to end.
func (q *sendQueue) stop() {
	q.mu.Lock()
	q.closed = true
	var wait chan struct{}
	if q.running {
		if q.exited == nil {
			q.exited = make(chan struct{})
		}
		wait = q.exited
	}
	q.mu.Unlock()
	if wait != nil {
		<-wait
	}
}

func (q *sendQueue) roomLocked() chan struct{} {
	if q.room == nil {
		q.room = make(chan struct{})
	}
	return q.room
}

// take hands the writer everything queued. The messages count against the
// limit until the writer reports them written.
func (q *sendQueue) take() (cmds [][]byte, msgs [][][]byte) {
	q.mu.Lock()
	cmds, msgs = q.cmds, q.msgs
	q.cmds, q.msgs = nil, nil
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

// Batches of messages, queued to send or read to deliver, are pooled
// across connections: a busy connection takes one per burst without
// growing it from nothing each time, and an idle one holds none.
var batchPool = sync.Pool{New: func() any { return new([][][]byte) }}

func getBatch() [][][]byte {
	b := batchPool.Get().(*[][][]byte)
	msgs := *b
	*b = nil
	batchHolders.Put(b)
	if msgs == nil {
		msgs = make([][][]byte, 0, 64)
	}
	return msgs
}

// batchHolders keeps the pointers that carry batches through batchPool, so
// that putting one back does not allocate.
var batchHolders = sync.Pool{New: func() any { return new([][][]byte) }}

// putBatch gives a batch (of the writer, or of readLoop's deliveries) back
// to the pool; one grown past the high-water mark's usual size is left to
// the collector.
func putBatch(msgs [][][]byte) {
	if msgs == nil || cap(msgs) > 4096 {
		return
	}
	clear(msgs) // the frames are the caller's
	b := batchHolders.Get().(*[][][]byte)
	*b = msgs[:0]
	batchPool.Put(b)
}

// len returns the number of messages queued or in flight.
func (q *sendQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs) + q.inflight
}
