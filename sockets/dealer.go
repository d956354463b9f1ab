package sockets

import "context"

// dealerPattern: round-robin send, fair-queued receive, no envelopes.
type dealerPattern struct{ lb lb }

func (p *dealerPattern) attach(*peer) bool { return true }
func (p *dealerPattern) detach(*peer)      {}
func (p *dealerPattern) incoming(from *peer, frames [][]byte) (inbound, bool) {
	return inbound{p: from, frames: frames}, true
}
func (p *dealerPattern) send(ctx context.Context, m Msg) error {
	_, err := p.lb.sendTo(ctx, m.Frames)
	return err
}
func (p *dealerPattern) recv(ctx context.Context) (Msg, error) {
	in, err := p.lb.s.recvQueue(ctx)
	return in.msg(), err
}
