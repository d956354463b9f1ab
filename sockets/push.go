package sockets

import "context"

// pushPattern: send round-robin, never receive.
type pushPattern struct{ lb lb }

func (p *pushPattern) attach(*peer) bool { return true }
func (p *pushPattern) detach(*peer)      {}
func (p *pushPattern) incoming(*peer, [][]byte) (inbound, bool) {
	return inbound{}, false // a PULL peer never sends; drop anything that comes
}
func (p *pushPattern) send(ctx context.Context, m Msg) error {
	_, err := p.lb.sendTo(ctx, m.Frames)
	return err
}
func (p *pushPattern) recv(context.Context) (Msg, error) { return Msg{}, ErrNotSupported }
