package sockets

import "context"

// pairPattern: exactly one peer; a second connection is refused.
type pairPattern struct {
	s   *Socket
	cur *peer
	lb  lb
}

func (p *pairPattern) attach(x *peer) bool {
	if p.cur != nil {
		return false
	}
	p.cur = x
	return true
}
func (p *pairPattern) detach(x *peer) {
	if p.cur == x {
		p.cur = nil
	}
}
func (p *pairPattern) incoming(from *peer, frames [][]byte) (inbound, bool) {
	return inbound{p: from, frames: frames}, true
}
func (p *pairPattern) send(ctx context.Context, m Msg) error {
	_, err := p.lb.sendTo(ctx, m.Frames) // at most one peer: waits for it
	return err
}
func (p *pairPattern) recv(ctx context.Context) (Msg, error) {
	in, err := p.s.recvQueue(ctx)
	return in.msg(), err
}
