package sockets

import (
	"context"
	"sync"

	"github.com/zmtpgo/zmtp/transport"
)

// subPattern is SUB and XSUB. Subscriptions are counted: the first
// subscribe of a topic and every later one are sent to the publishers
// (libzmq's XSUB forwards each), the cancel only when the count returns to
// zero. New publishers get every current topic. SUB filters what arrives
// against its own subscriptions too, since a publisher may not have applied
// a cancel yet; XSUB passes everything.
//
// Subscriptions never wait for a publisher: each has a queue of its own
// (subQueue), written by a goroutine of its own while it holds anything,
// so a publisher that stops reading holds up only its own subscriptions.
type subPattern struct {
	s    *Socket
	xsub bool

	mu    sync.Mutex // guards subs, queues and every subQueue
	subs  prefixSet
	queue map[*peer]*subQueue
}

func newSub(s *Socket, xsub bool) *subPattern {
	return &subPattern{s: s, xsub: xsub, queue: map[*peer]*subQueue{}}
}

func (p *subPattern) attach(x *peer) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	q := &subQueue{c: x.c}
	p.queue[x] = q
	for _, t := range p.subs.topics() {
		p.enqueueLocked(q, subOp{topic: t})
	}
	return true
}

// detach waits for the peer's queue writer, which returns at once: the
// connection has ended before Detach.
func (p *subPattern) detach(x *peer) {
	p.mu.Lock()
	q := p.queue[x]
	delete(p.queue, x)
	p.mu.Unlock()
	if q != nil {
		q.wg.Wait()
	}
}

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
// cancel; anything else goes to every publisher as is, dropped for one
// over its high-water mark (libzmq's XSUB distributes it the same way).
func (p *subPattern) send(_ context.Context, m Msg) error {
	if !p.xsub {
		return ErrNotSupported
	}
	f := m.Frames[0]
	if len(m.Frames) == 1 && len(f) > 0 && f[0] <= 1 {
		p.subscribe(f[0] == 1, f[1:])
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for x := range p.queue {
		x.c.TrySend(m.Frames)
	}
	return nil
}

// subscribe counts the topic up or down and queues what the publishers
// need to hear, under one lock, so that concurrent calls reach every
// publisher in the order they changed the count.
func (p *subPattern) subscribe(on bool, topic []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	send := on
	if on {
		p.subs.add(topic)
	} else {
		send = p.subs.remove(topic)
	}
	if !send {
		return
	}
	op := subOp{topic: append([]byte(nil), topic...), cancel: !on}
	for _, q := range p.queue {
		p.enqueueLocked(q, op)
	}
}

// subOp is a subscription or a cancel to send.
type subOp struct {
	topic  []byte
	cancel bool
}

// subQueue holds what one publisher has yet to be sent, in order.
type subQueue struct {
	c       *transport.Conn
	ops     []subOp
	running bool           // a writer goroutine is draining ops
	wg      sync.WaitGroup // the writer goroutine
	compact int            // length above which ops is compacted
}

// subQueueCompact is where a queue starts to be compacted: a publisher
// that does not read while its subscriber keeps changing subscriptions
// would otherwise grow the queue without bound.
const subQueueCompact = 1024

// enqueueLocked adds op to q and starts q's writer if it is idle. Past
// the compaction length, only the last operation on each topic is kept:
// the publisher ends up with the same subscriptions, and the queue with
// at most one entry per topic.
func (p *subPattern) enqueueLocked(q *subQueue, op subOp) {
	q.ops = append(q.ops, op)
	if len(q.ops) > max(q.compact, subQueueCompact) {
		q.ops = compactOps(q.ops)
		q.compact = 2 * len(q.ops) // amortised: compact again only after doubling
	}
	if !q.running {
		q.running = true
		q.wg.Add(1)
		go p.write(q)
	}
}

// compactOps keeps the last operation on each topic, in their order.
func compactOps(ops []subOp) []subOp {
	last := make(map[string]int, len(ops))
	for i, op := range ops {
		last[string(op.topic)] = i
	}
	out := make([]subOp, 0, len(last))
	for i, op := range ops {
		if last[string(op.topic)] == i {
			out = append(out, op)
		}
	}
	return out
}

// write sends q's operations until it is empty or the connection ends.
func (p *subPattern) write(q *subQueue) {
	defer q.wg.Done()
	for {
		p.mu.Lock()
		if len(q.ops) == 0 {
			q.running = false
			q.ops = nil
			p.mu.Unlock()
			return
		}
		op := q.ops[0]
		q.ops[0] = subOp{}
		q.ops = q.ops[1:]
		p.mu.Unlock()
		// A SUBSCRIBE or CANCEL command to a ZMTP 3.1 peer, a message to a
		// 3.0 one; either returns once the connection has ended.
		if err := q.c.Subscribe(context.Background(), op.topic, op.cancel); err != nil {
			p.mu.Lock()
			q.ops, q.running = nil, false
			p.mu.Unlock()
			return
		}
	}
}

// Subscribe adds a subscription to topic (a prefix; empty matches every
// message) on a SUB or XSUB socket, like ZMQ_SUBSCRIBE. Subscriptions are
// counted: each needs its own Unsubscribe. It never waits for a publisher.
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
