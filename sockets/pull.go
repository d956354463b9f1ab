package sockets

import "context"

// pullPattern: fair-queued receive, never send.
type pullPattern struct{ s *Socket }

func (p *pullPattern) attach(*peer) bool { return true }
func (p *pullPattern) detach(*peer)      {}
func (p *pullPattern) incoming(from *peer, frames [][]byte) (inbound, bool) {
	return inbound{p: from, frames: frames}, true
}
func (p *pullPattern) send(context.Context, Msg) error { return ErrNotSupported }
func (p *pullPattern) recv(ctx context.Context) (Msg, error) {
	in, err := p.s.recvQueue(ctx)
	return in.msg(), err
}
