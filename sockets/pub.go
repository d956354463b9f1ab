package sockets

import (
	"context"
	"sync"

	"github.com/zmtpgo/zmtp/transport"
)

// pubPattern is PUB and XPUB: each message goes to every peer subscribed
// to a prefix of its first frame, and is dropped for a peer whose queue is
// full (a publisher never blocks). XPUB also receives subscriptions: a
// message 1+topic when a topic gains its first subscriber, 0+topic when it
// loses its last (every one with verbose).
type pubPattern struct {
	s    *Socket
	xpub bool

	mu    sync.RWMutex
	subs  map[*peer]*prefixSet
	total prefixSet // XPUB: how many peers hold each topic
}

func newPub(s *Socket, xpub bool) *pubPattern {
	return &pubPattern{s: s, xpub: xpub, subs: map[*peer]*prefixSet{}}
}

func (p *pubPattern) attach(x *peer) bool {
	p.mu.Lock()
	p.subs[x] = &prefixSet{}
	p.mu.Unlock()
	return true
}

// detach forgets the peer's subscriptions; XPUB reports the topics that
// lost their last subscriber with it.
func (p *pubPattern) detach(x *peer) {
	p.mu.Lock()
	set := p.subs[x]
	delete(p.subs, x)
	var gone [][]byte
	if set != nil && p.xpub {
		for _, t := range set.topics() {
			if p.total.remove(t) {
				gone = append(gone, t)
			}
		}
	}
	p.mu.Unlock()
	for _, t := range gone {
		p.notify(x, 0, t)
	}
}

// incoming takes subscriptions sent as messages (first byte 1 or 0), as
// ZMTP 3.0 peers send them. Other messages from subscribers reach XPUB's
// Recv, as in libzmq; PUB drops them.
func (p *pubPattern) incoming(from *peer, frames [][]byte) (inbound, bool) {
	if len(frames) == 1 && len(frames[0]) > 0 && frames[0][0] <= 1 {
		p.subscribe(from, frames[0][0] == 1, frames[0][1:])
		return inbound{}, false
	}
	return inbound{p: from, frames: frames}, p.xpub
}

// command takes ZMTP 3.1 SUBSCRIBE and CANCEL.
func (p *pubPattern) command(from *peer, name string, topic []byte) {
	p.subscribe(from, name == transport.CmdSubscribe, topic)
}

func (p *pubPattern) subscribe(from *peer, on bool, topic []byte) {
	p.mu.Lock()
	set := p.subs[from]
	if set == nil {
		p.mu.Unlock()
		return
	}
	changed := false
	if on {
		if set.add(topic) {
			changed = !p.xpub || p.total.add(topic)
		} else {
			set.remove(topic) // a peer's topic counts once
		}
	} else if set.remove(topic) {
		changed = !p.xpub || p.total.remove(topic)
	}
	p.mu.Unlock()
	if p.xpub && changed {
		flag := byte(0)
		if on {
			flag = 1
		}
		p.notify(from, flag, topic)
	}
}

// notify queues a subscription message for XPUB's Recv.
func (p *pubPattern) notify(from *peer, flag byte, topic []byte) {
	msg := append([]byte{flag}, topic...)
	select {
	case p.s.in <- inbound{p: from, frames: [][]byte{msg}}:
	case <-p.s.closed:
	}
}

func (p *pubPattern) send(_ context.Context, m Msg) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	for x, set := range p.subs {
		if set.match(m.Frames[0]) {
			x.c.TrySend(m.Frames) // dropped at the high-water mark, as in libzmq
		}
	}
	return nil
}

func (p *pubPattern) recv(ctx context.Context) (Msg, error) {
	if !p.xpub {
		return Msg{}, ErrNotSupported
	}
	in, err := p.s.recvQueue(ctx)
	return in.msg(), err
}
