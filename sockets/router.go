package sockets

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
)

// routerPattern: every received message is prefixed with the routing id of
// its peer; a sent message's first frame names the peer to send to.
type routerPattern struct {
	s *Socket

	mu     sync.Mutex
	byID   map[string]*peer
	nextID uint32
}

func newRouter(s *Socket) *routerPattern {
	return &routerPattern{s: s, byID: map[string]*peer{}, nextID: 0x6b8b4567} // libzmq starts from a random value
}

// attach gives the peer its Identity as routing id, or a generated one:
// a zero byte then four bytes, as libzmq does. A peer whose Identity is
// already taken is ignored, libzmq's default without ZMQ_ROUTER_HANDOVER
// (router.cpp, identify_peer: "Ignore peers with duplicate ID"): its
// connection stays up, but what it sends is dropped and nothing can be
// routed to it, so the first peer keeps its id and an impostor gains
// nothing. It gets the id if it reconnects after the first has gone.
func (r *routerPattern) attach(p *peer) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := p.c.Identity()
	if len(id) > 0 && r.byID[string(id)] != nil {
		return true // p.id stays nil: ignored
	}
	if len(id) == 0 {
		var b [5]byte
		r.nextID++
		binary.BigEndian.PutUint32(b[1:], r.nextID)
		id = b[:]
	}
	p.id = append([]byte(nil), id...)
	r.byID[string(p.id)] = p
	return true
}

func (r *routerPattern) detach(p *peer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byID[string(p.id)] == p {
		delete(r.byID, string(p.id))
	}
}

func (r *routerPattern) incoming(from *peer, frames [][]byte) (inbound, bool) {
	if from.id == nil { // a duplicate Identity, ignored
		return inbound{}, false
	}
	return inbound{p: from, frames: append(append(make([][]byte, 0, 1+len(frames)), from.id), frames...)}, true
}

func (r *routerPattern) recv(ctx context.Context) (Msg, error) {
	in, err := r.s.recvQueue(ctx)
	return in.msg(), err
}

func (r *routerPattern) send(ctx context.Context, m Msg) error {
	if len(m.Frames) < 2 {
		return fmt.Errorf("%w: a ROUTER message starts with the routing id, then the body", ErrBadRoutingID)
	}
	r.mu.Lock()
	p := r.byID[string(m.Frames[0])]
	r.mu.Unlock()
	if p == nil {
		if r.s.opts.routerMandatory {
			return fmt.Errorf("%w: %q", ErrUnroutable, m.Frames[0])
		}
		return nil // dropped, as libzmq does by default
	}
	if p.c.TrySend(m.Frames[1:]) || !r.s.opts.routerMandatory {
		return nil // dropped at the high-water mark, as libzmq does by default
	}
	// With ZMQ_ROUTER_MANDATORY, libzmq's send returns EAGAIN at the mark,
	// and a blocking send waits for room until ZMQ_SNDTIMEO: here, until
	// ctx ends. A peer that goes meanwhile is unroutable.
	if err := p.c.Send(ctx, m.Frames[1:]); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("%w: %q disconnected", ErrUnroutable, m.Frames[0])
	}
	return nil
}
