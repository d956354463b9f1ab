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
// loses its last (every subscribe with WithXPubVerbose, every cancel too
// with WithXPubVerboser).
type pubPattern struct {
	s    *Socket
	xpub bool

	mu    sync.RWMutex
	subs  map[*peer]*prefixSet
	total prefixSet // XPUB: how many peers hold each topic

	// XPUB's subscription notifications wait here, not on the socket's
	// receive queue: a subscriber that leaves must be able to report its
	// topics gone without waiting for the user to call Recv (an XPUB used
	// only to publish never does), while Detach holds the socket's lock.
	nmu   sync.Mutex
	notes noteQueue
	nwake chan struct{} // closed and replaced whenever notes changes
}

func newPub(s *Socket, xpub bool) *pubPattern {
	return &pubPattern{s: s, xpub: xpub, subs: map[*peer]*prefixSet{}, nwake: make(chan struct{}),
		notes: noteQueue{coalesce: !s.opts.xpubVerbose && !s.opts.xpubVerboser, limit: max(s.opts.recvHWM, 1)}}
}

func (p *pubPattern) attach(x *peer) bool {
	p.mu.Lock()
	p.subs[x] = &prefixSet{}
	p.mu.Unlock()
	return true
}

// detach forgets the peer's subscriptions; XPUB reports the topics that
// lost their last subscriber with it (all of the peer's, with verboser).
func (p *pubPattern) detach(x *peer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	set := p.subs[x]
	delete(p.subs, x)
	if set == nil || !p.xpub {
		return
	}
	for _, t := range set.topics() {
		if p.total.remove(t) || p.s.opts.xpubVerboser {
			p.noteLocked(x, 0, t)
		}
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

// subscribe applies one peer's subscription or cancel. A peer holds a topic
// once, however often it subscribes (libzmq's mtrie keeps a set of pipes
// per prefix), and a cancel of a topic it does not hold is ignored.
func (p *pubPattern) subscribe(from *peer, on bool, topic []byte) {
	if p.xpub {
		p.waitNoteRoom(from)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	set := p.subs[from]
	if set == nil {
		return
	}
	notify := false
	if on {
		if set.add(topic) {
			notify = p.xpub && p.total.add(topic)
		} else {
			set.remove(topic) // back to one
		}
		notify = notify || p.s.opts.xpubVerbose || p.s.opts.xpubVerboser
	} else if set.remove(topic) {
		notify = p.xpub && p.total.remove(topic) || p.s.opts.xpubVerboser
	}
	if p.xpub && notify {
		flag := byte(0)
		if on {
			flag = 1
		}
		p.noteLocked(from, flag, topic)
	}
}

// waitNoteRoom holds up a verbose XPUB's subscriber while the user has
// the receive high-water mark's worth of notifications to catch up on: a
// peer repeating one subscription is slowed down, not buffered without
// bound. Without verbose, notifications need no such limit (past the mark
// noteQueue keeps at most one more per topic), so that an XPUB used only
// to publish keeps taking subscriptions. It never waits for a peer whose
// connection has ended, nor on a closed socket.
func (p *pubPattern) waitNoteRoom(from *peer) {
	if p.notes.coalesce {
		return
	}
	for {
		p.nmu.Lock()
		full, wake := p.notes.len() >= p.notes.limit, p.nwake
		p.nmu.Unlock()
		if !full {
			return
		}
		select {
		case <-wake:
		case <-from.c.Done():
			return
		case <-p.s.closed:
			return
		}
	}
}

// noteLocked queues a notification for XPUB's Recv without waiting.
func (p *pubPattern) noteLocked(from *peer, flag byte, topic []byte) {
	p.nmu.Lock()
	defer p.nmu.Unlock()
	p.notes.push(from, flag, topic)
	p.wakeLocked()
}

func (p *pubPattern) wakeLocked() {
	close(p.nwake)
	p.nwake = make(chan struct{})
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

// recv is XPUB's: queued notifications first, then messages from the
// subscribers.
func (p *pubPattern) recv(ctx context.Context) (Msg, error) {
	if !p.xpub {
		return Msg{}, ErrNotSupported
	}
	for {
		p.nmu.Lock()
		if in, ok := p.notes.pop(); ok {
			p.wakeLocked()
			p.nmu.Unlock()
			return in.msg(), nil
		}
		wake := p.nwake
		p.nmu.Unlock()
		in, ok, err := p.s.in.pop(ctx, p.s.closed, wake)
		if err != nil {
			return Msg{}, err
		}
		if ok {
			return in.msg(), nil
		}
	}
}

// WithXPubVerbose makes an XPUB report every subscribe to its Recv, not
// only a topic's first (ZMQ_XPUB_VERBOSE); cancels are still reported
// when a topic loses its last subscriber.
func WithXPubVerbose() Option { return func(o *options) { o.xpubVerbose = true } }

// WithXPubVerboser makes an XPUB report every subscribe and every cancel,
// including the topics of a subscriber that leaves (ZMQ_XPUB_VERBOSER).
func WithXPubVerboser() Option { return func(o *options) { o.xpubVerboser = true } }

// noteQueue is XPUB's queue of subscription notifications (1+topic,
// 0+topic). With coalesce (XPUB without verbose, where notifications are a
// topic's first subscribe and last cancel, so they alternate), once the
// queue holds limit (the receive high-water mark) notifications, one that
// undoes a notification still queued for the same topic (1t then 0t, or 0t
// then 1t) removes it instead of being added: the user sees the same
// subscriptions in the end, and the queue cannot grow past the mark by
// more than one entry per topic. Below the mark every notification is
// kept, as libzmq keeps them all.
type noteQueue struct {
	coalesce bool
	limit    int
	q        []*note
	head     int              // q[:head] has been taken
	dead     int              // entries of q[head:] removed by coalescing
	last     map[string]*note // coalesce: the queued note of each topic
}

type note struct {
	in   inbound
	dead bool
}

func (n *noteQueue) len() int { return len(n.q) - n.head - n.dead }

func (n *noteQueue) push(from *peer, flag byte, topic []byte) {
	if n.coalesce && n.len() >= n.limit {
		if prev := n.last[string(topic)]; prev != nil {
			if prev.in.frames[0][0] != flag {
				prev.dead = true
				n.dead++
				delete(n.last, string(topic))
				n.compact()
				return
			}
		}
	}
	x := &note{in: inbound{p: from, frames: [][]byte{append([]byte{flag}, topic...)}}}
	n.q = append(n.q, x)
	if n.coalesce {
		if n.last == nil {
			n.last = map[string]*note{}
		}
		n.last[string(topic)] = x
	}
}

func (n *noteQueue) pop() (inbound, bool) {
	for n.head < len(n.q) {
		x := n.q[n.head]
		n.q[n.head] = nil
		n.head++
		if x.dead {
			n.dead--
			continue
		}
		if n.coalesce && n.last[string(x.in.frames[0][1:])] == x {
			delete(n.last, string(x.in.frames[0][1:]))
		}
		n.compact()
		return x.in, true
	}
	n.q, n.head, n.dead = n.q[:0], 0, 0
	return inbound{}, false
}

// compact drops taken and removed entries once they are most of the slice.
func (n *noteQueue) compact() {
	if n.head+n.dead < 64 || n.head+n.dead < len(n.q)/2 {
		return
	}
	live := n.q[:0]
	for _, x := range n.q[n.head:] {
		if !x.dead {
			live = append(live, x)
		}
	}
	clear(n.q[len(live):])
	n.q, n.head, n.dead = live, 0, 0
}
