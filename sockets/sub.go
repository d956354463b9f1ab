package sockets

import (
	"context"
	"sync"
)

// subPattern is SUB and XSUB. Subscriptions are counted: the first
// subscribe of a topic and every later one are sent to the publishers
// (libzmq's XSUB forwards each), the cancel only when the count returns to
// zero. New publishers get every current topic. SUB filters what arrives
// against its own subscriptions too, since a publisher may not have applied
// a cancel yet; XSUB passes everything.
type subPattern struct {
	s    *Socket
	xsub bool

	mu   sync.Mutex
	subs prefixSet
}

func (p *subPattern) attach(x *peer) bool {
	p.mu.Lock()
	topics := p.subs.topics()
	p.mu.Unlock()
	for _, t := range topics {
		x.c.Subscribe(context.Background(), t, false)
	}
	return true
}

func (p *subPattern) detach(*peer) {}

func (p *subPattern) incoming(from *peer, frames [][]byte) (inbound, bool) {
	if !p.xsub {
		p.mu.Lock()
		ok := p.subs.match(frames[0])
		p.mu.Unlock()
		if !ok {
			return inbound{}, false
		}
	}
	return inbound{p: from, frames: frames}, true
}

func (p *subPattern) recv(ctx context.Context) (Msg, error) {
	in, err := p.s.recvQueue(ctx)
	return in.msg(), err
}

// send is XSUB's: a message starting with 1 or 0 is a subscription or a
// cancel; anything else goes to every publisher as is.
func (p *subPattern) send(ctx context.Context, m Msg) error {
	if !p.xsub {
		return ErrNotSupported
	}
	f := m.Frames[0]
	if len(m.Frames) == 1 && len(f) > 0 && f[0] <= 1 {
		p.subscribe(f[0] == 1, f[1:])
		return nil
	}
	p.s.mu.Lock()
	peers := append([]*peer(nil), p.s.peers...)
	p.s.mu.Unlock()
	for _, x := range peers {
		x.c.TrySend(m.Frames)
	}
	return nil
}

func (p *subPattern) subscribe(on bool, topic []byte) {
	p.mu.Lock()
	send := on
	if on {
		p.subs.add(topic)
	} else {
		send = p.subs.remove(topic)
	}
	p.mu.Unlock()
	if !send {
		return
	}
	p.s.mu.Lock()
	peers := append([]*peer(nil), p.s.peers...)
	p.s.mu.Unlock()
	for _, x := range peers {
		x.c.Subscribe(context.Background(), topic, !on)
	}
}

// Subscribe adds a subscription to topic (a prefix; empty matches every
// message) on a SUB or XSUB socket, like ZMQ_SUBSCRIBE. Subscriptions are
// counted: each needs its own Unsubscribe.
func (s *Socket) Subscribe(topic []byte) error {
	p, ok := s.pat.(*subPattern)
	if !ok {
		return ErrNotSupported
	}
	p.subscribe(true, topic)
	return nil
}

// Unsubscribe removes one subscription to topic, like ZMQ_UNSUBSCRIBE.
func (s *Socket) Unsubscribe(topic []byte) error {
	p, ok := s.pat.(*subPattern)
	if !ok {
		return ErrNotSupported
	}
	p.subscribe(false, topic)
	return nil
}
