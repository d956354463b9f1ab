package sockets

import (
	"context"
	"sync"
)

// reqPattern: send a request (with an empty delimiter frame) to one peer,
// then receive exactly one reply from that peer; strict alternation.
type reqPattern struct {
	lb lb

	mu      sync.Mutex
	waiting *peer // the peer asked, while a reply is due
}

func (p *reqPattern) attach(*peer) bool { return true }
func (p *reqPattern) detach(*peer)      {}

// incoming keeps replies that start with the empty delimiter. Which peer
// was asked is checked in recv, not here: the reply can arrive before send
// has recorded the peer it chose.
func (p *reqPattern) incoming(from *peer, frames [][]byte) (inbound, bool) {
	if len(frames) < 2 || len(frames[0]) != 0 {
		return inbound{}, false
	}
	return inbound{p: from, frames: frames[1:]}, true
}

func (p *reqPattern) send(ctx context.Context, m Msg) error {
	p.mu.Lock()
	busy := p.waiting != nil
	p.mu.Unlock()
	if busy {
		return ErrState
	}
	frames := append(append(make([][]byte, 0, 1+len(m.Frames)), []byte{}), m.Frames...)
	to, err := p.lb.sendTo(ctx, frames)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.waiting = to
	p.mu.Unlock()
	return nil
}

func (p *reqPattern) recv(ctx context.Context) (Msg, error) {
	p.mu.Lock()
	asked := p.waiting
	p.mu.Unlock()
	if asked == nil {
		return Msg{}, ErrState
	}
	for {
		in, err := p.lb.s.recvQueue(ctx)
		if err != nil {
			return Msg{}, err
		}
		if in.p != asked { // a late reply to an earlier request
			continue
		}
		p.mu.Lock()
		p.waiting = nil
		p.mu.Unlock()
		return in.msg(), nil
	}
}
