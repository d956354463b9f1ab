package sockets

import (
	"context"
	"sync"
)

// repPattern: receive a request, keeping its envelope (every frame up to
// and including the empty delimiter) and its peer; the next send is the
// reply, sent back along that envelope.
type repPattern struct {
	s *Socket

	mu       sync.Mutex
	replying bool
	to       *peer
	envelope [][]byte
}

func (p *repPattern) attach(*peer) bool { return true }
func (p *repPattern) detach(*peer)      {}

// incoming drops requests without a delimiter, as libzmq does.
func (p *repPattern) incoming(from *peer, frames [][]byte) (inbound, bool) {
	for _, f := range frames {
		if len(f) == 0 {
			return inbound{p: from, frames: frames}, true
		}
	}
	return inbound{}, false
}

func (p *repPattern) recv(ctx context.Context) (Msg, error) {
	p.mu.Lock()
	busy := p.replying
	p.mu.Unlock()
	if busy {
		return Msg{}, ErrState
	}
	in, err := p.s.recvQueue(ctx)
	if err != nil {
		return Msg{}, err
	}
	split := 0
	for i, f := range in.frames {
		if len(f) == 0 {
			split = i + 1
			break
		}
	}
	p.mu.Lock()
	p.replying, p.to, p.envelope = true, in.p, in.frames[:split]
	p.mu.Unlock()
	in.frames = in.frames[split:]
	return in.msg(), nil
}

func (p *repPattern) send(_ context.Context, m Msg) error {
	p.mu.Lock()
	if !p.replying {
		p.mu.Unlock()
		return ErrState
	}
	to, env := p.to, p.envelope
	p.replying, p.to, p.envelope = false, nil, nil
	p.mu.Unlock()
	frames := append(append(make([][]byte, 0, len(env)+len(m.Frames)), env...), m.Frames...)
	// A requester that has gone, or that is at its high-water mark, loses
	// its reply, as in libzmq (whose REP routes replies as a ROUTER does,
	// dropping them at the mark): a peer that sends requests and never
	// reads the replies cannot block the server.
	to.c.TrySend(frames)
	return nil
}
