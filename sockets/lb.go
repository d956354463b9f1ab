package sockets

import (
	"context"
	"time"
)

// lb sends each message to the next peer in turn that has room, and waits
// when none has (libzmq's load balancer: PUSH, DEALER, REQ, PAIR). Idle
// peers take strict turns; a peer over its high-water mark is skipped, as
// libzmq skips a pipe that is not writable.
type lb struct {
	s    *Socket
	next int
}

// Bounds of the wait on one full peer before every peer is tried again.
// The transport tells when one given connection has room, not when any of
// several has, so with several full peers the sender waits on the next in
// turn and looks at the others every so often: a peer that has stopped
// reading cannot hold up a send that another peer has room for.
const (
	lbRecheckMin = time.Millisecond
	lbRecheckMax = 16 * time.Millisecond
)

// sendTo sends frames to one peer, round-robin, and returns the peer used.
func (l *lb) sendTo(ctx context.Context, frames [][]byte) (*peer, error) {
	s := l.s
	recheck := lbRecheckMin
	for {
		s.mu.Lock()
		n := len(s.peers)
		for i := 0; i < n; i++ {
			p := s.peers[(l.next+i)%n]
			if p.c.TrySend(frames) {
				l.next = (l.next + i + 1) % n
				s.mu.Unlock()
				return p, nil
			}
		}
		var target *peer
		if n > 0 {
			target = s.peers[l.next%n]
		}
		wake := s.changed
		s.mu.Unlock()
		if target == nil { // no peer yet: wait for one
			select {
			case <-wake:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-s.closed:
				return nil, ErrClosed
			}
		}
		// Every peer is full: wait for room on the next one in turn, or for
		// the set of peers to change, and with several peers for no longer
		// than the recheck interval.
		wctx, cancel := ctx, context.CancelFunc(nil)
		if n > 1 {
			wctx, cancel = context.WithTimeout(ctx, recheck)
			recheck = min(2*recheck, lbRecheckMax)
		}
		ok, err := target.c.SendWait(wctx, frames, wake)
		if cancel != nil {
			cancel()
		}
		if ok {
			s.mu.Lock()
			if n := len(s.peers); n > 0 {
				l.next = (l.next + 1) % n
			}
			s.mu.Unlock()
			return target, nil
		}
		if err != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		select {
		case <-s.closed:
			return nil, ErrClosed
		default:
		}
	}
}
