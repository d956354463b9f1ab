package sockets

import (
	"context"
	"sync"
)

// inQueue is a socket's receive queue, bounded by the receive high-water
// mark. Connections' readers append under a lock; a receiver takes all
// that is queued in one step and then pops from its own batch without
// touching that lock or any word the readers write, so the two sides
// share one lock per batch, not a channel hand-off per message (each side
// also has its own: readers' batches, receivers' pops).
// Nothing is allocated up front: an idle socket's queue costs a few words.
type inQueue struct {
	limit int

	mu    sync.Mutex
	items []inbound
	held  int           // messages left in the receiver's batch when it took it
	waitR chan struct{} // made by a receiver that found nothing; closed at the next push
	waitW chan struct{} // made by a producer that found no room; closed when the receiver takes more

	// The receivers' side, on cache lines of its own: the producers and
	// the receiver run on different cores, and sharing a line would make
	// each side's lock and index writes evict the other's.
	_     [128]byte
	rmu   sync.Mutex
	batch []inbound
	next  int
}

// push queues in, waiting for room until done or closed closes; it
// reports whether it queued. A batch the receiver has taken counts
// against the limit until it has all been popped, so the queue never
// holds more than the limit.
func (q *inQueue) push(in inbound, done, closed <-chan struct{}) bool {
	for {
		q.mu.Lock()
		if len(q.items)+q.held >= q.limit {
			if q.waitW == nil {
				q.waitW = make(chan struct{})
			}
			w := q.waitW
			q.mu.Unlock()
			select {
			case <-w:
				continue
			case <-done:
				return false
			case <-closed:
				return false
			}
		}
		q.appendLocked(in)
		q.mu.Unlock()
		return true
	}
}

// appendLocked, under mu, queues ins and wakes a waiting receiver.
func (q *inQueue) appendLocked(ins ...inbound) {
	if q.items == nil {
		q.items = getInbound()
	}
	q.items = append(q.items, ins...)
	if q.waitR != nil {
		close(q.waitR)
		q.waitR = nil
	}
}

// pushAll is push for several messages, in order: as many as there is
// room for under one lock, then one by one while there is none. It
// reports whether it queued them all.
func (q *inQueue) pushAll(ins []inbound, done, closed <-chan struct{}) bool {
	for len(ins) > 0 {
		q.mu.Lock()
		room := q.limit - len(q.items) - q.held
		if room <= 0 {
			q.mu.Unlock()
			if !q.push(ins[0], done, closed) {
				return false
			}
			ins = ins[1:]
			continue
		}
		n := min(room, len(ins))
		q.appendLocked(ins[:n]...)
		ins = ins[n:]
		q.mu.Unlock()
	}
	return true
}

// pop returns the oldest message, waiting until ctx ends or the socket
// closes (ErrClosed), or until wake closes (ok false, no error).
func (q *inQueue) pop(ctx context.Context, closed, wake <-chan struct{}) (in inbound, ok bool, err error) {
	for {
		q.rmu.Lock()
		if q.next < len(q.batch) {
			in = q.batch[q.next]
			q.batch[q.next] = inbound{} // the message is the caller's now
			q.next++
			if q.next == len(q.batch) {
				q.refill(nil) // the batch is spent: free its room now
			}
			q.rmu.Unlock()
			return in, true, nil
		}
		var w chan struct{}
		q.refill(&w)
		q.rmu.Unlock()
		if w == nil {
			continue // the refill brought messages
		}
		select {
		case <-w:
		case <-wake:
			return inbound{}, false, nil
		case <-ctx.Done():
			return inbound{}, false, ctx.Err()
		case <-closed:
			return inbound{}, false, ErrClosed
		}
	}
}

// refill, under rmu with the batch spent, takes what producers queued as
// the new batch and wakes producers waiting for room. If nothing was
// queued and wait is not nil, it sets *wait to a channel that closes at
// the next push. The spent batch goes back to the producers' side when
// that is empty, or to a pool shared by all sockets, so a busy queue
// does not grow its slices from nothing at each turn and an idle one
// keeps none.
func (q *inQueue) refill(wait *chan struct{}) {
	spent := q.batch[:0]
	var idle []inbound
	q.mu.Lock()
	q.batch, q.items = q.items, nil
	if len(q.batch) > 0 {
		if cap(spent) > 0 {
			q.items, spent = spent, nil // the producers fill the spent one next
		}
	} else {
		idle, q.batch = q.batch, nil // nothing queued: hold no slice while idle
	}
	q.next, q.held = 0, len(q.batch)
	if q.waitW != nil {
		close(q.waitW)
		q.waitW = nil
	}
	if len(q.batch) == 0 && wait != nil {
		if q.waitR == nil {
			q.waitR = make(chan struct{})
		}
		*wait = q.waitR
	}
	q.mu.Unlock()
	putInbound(spent)
	putInbound(idle)
}

var inboundPool = sync.Pool{New: func() any { return new([]inbound) }}

// putInbound pools a spent batch (emptied by pop); one grown far past
// the default high-water mark is left to the collector.
func putInbound(b []inbound) {
	if cap(b) == 0 || cap(b) > 4096 {
		return
	}
	p := inboundHolders.Get().(*[]inbound)
	*p = b[:0]
	inboundPool.Put(p)
}

// getInbound returns a pooled batch, or nil.
func getInbound() []inbound {
	p := inboundPool.Get().(*[]inbound)
	b := *p
	*p = nil
	inboundHolders.Put(p)
	return b
}

// inboundHolders keeps the pointers that carry batches through
// inboundPool, so putting one back does not allocate.
var inboundHolders = sync.Pool{New: func() any { return new([]inbound) }}

// len returns the number of messages queued, for tests.
func (q *inQueue) len() int {
	q.rmu.Lock()
	defer q.rmu.Unlock()
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) + q.held - q.next
}
