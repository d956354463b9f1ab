package sockets

import (
	"context"
)

// lb sends each message to the next peer in turn that has room, and waits
// when none has (libzmq's load balancer: PUSH, DEALER, REQ).
type lb struct {
	s    *Socket
	next int
}

// sendTo sends frames to one peer, round-robin, and returns the peer used.
func (l *lb) sendTo(ctx context.Context, frames [][]byte) (*peer, error) {
	s := l.s
	for {
		s.mu.Lock()
		n := len(s.peers)
		var target *peer
		for i := 0; i < n; i++ {
			p := s.peers[(l.next+i)%n]
			if p.c.TrySend(frames) {
				l.next = (l.next + i + 1) % n
				s.mu.Unlock()
				return p, nil
			}
			if target == nil {
				target = p
			}
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
		// Every peer is full: wait for room on the next one, or for the set
		// of peers to change.
		ok, err := target.c.SendWait(ctx, frames, wake)
		if ok {
			return target, nil
		}
		if err != nil && ctx.Err() != nil {
			return nil, err
		}
	}
}
