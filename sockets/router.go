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
// a zero byte then four bytes, as libzmq does. A duplicate Identity gets a
// generated id too (libzmq's default without ZMQ_ROUTER_HANDOVER).
func (r *routerPattern) attach(p *peer) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := p.c.Identity()
	if len(id) == 0 || r.byID[string(id)] != nil {
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
	return inbound{p: from, frames: append([][]byte{from.id}, frames...)}, true
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
	// libzmq's ROUTER drops rather than blocks at the high-water mark.
	if !p.c.TrySend(m.Frames[1:]) && r.s.opts.routerMandatory {
		return fmt.Errorf("%w: %q is over its high-water mark", ErrUnroutable, m.Frames[0])
	}
	return nil
}
