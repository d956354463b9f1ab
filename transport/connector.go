package transport

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zmtpgo/zmtp/fsm"
)

// Connector keeps one connected endpoint alive: it dials, runs the
// handshake, carries messages, and after a non-fatal close waits the
// reconnect interval (with exponential backoff and jitter) and dials again,
// as the Connect role of the spec says. One goroutine owns its machine.
type Connector struct {
	cfg      *Config
	ep       Endpoint
	endpoint string

	stopping atomic.Bool
	cancel   context.CancelFunc
	done     chan struct{}
	mu       sync.Mutex
	cur      net.Conn
	eng      *engine // set once by the loop, under mu
	// LocalAddr, when set before the first dial, is the address dialled from.
	local net.Addr
}

// Connect starts connecting to endpoint in the background; like libzmq's
// zmq_connect it succeeds before the peer is reachable.
func Connect(endpoint string, cfg *Config) (*Connector, error) {
	return ConnectFrom(endpoint, nil, cfg)
}

// ConnectFrom is Connect dialling from a given local address (nil: any).
func ConnectFrom(endpoint string, local net.Addr, cfg *Config) (*Connector, error) {
	ep, err := ParseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	if ep.Transport == TransportTCP {
		if host, _, _ := net.SplitHostPort(ep.Address); host == "" {
			return nil, errors.New("zmtp: connect " + endpoint + ": a host is required")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Connector{cfg: cfg, ep: ep, endpoint: ep.String(), cancel: cancel, done: make(chan struct{}), local: local}
	go c.loop(ctx)
	return c, nil
}

// Endpoint returns the endpoint being connected.
func (c *Connector) Endpoint() string { return c.endpoint }

// Done is closed when the connector has stopped for good: after Close, or
// after a fatal close (socket-type mismatch, ERROR from the peer…).
func (c *Connector) Done() <-chan struct{} { return c.done }

// Close stops reconnecting, closes the current connection and waits for
// the connector's goroutine to end.
func (c *Connector) Close() {
	c.stopping.Store(true)
	c.cancel()
	c.mu.Lock()
	if c.cur != nil {
		c.eng.closeConn(c.cur)
	}
	c.mu.Unlock()
	<-c.done
}

func (c *Connector) loop(ctx context.Context) {
	defer close(c.done)
	e := newEngine(c.cfg, fsm.RoleConnect, c.endpoint)
	c.mu.Lock()
	c.eng = e
	c.mu.Unlock()
	e.fire(fsm.EventDial, nil)
	ivl := c.cfg.ReconnectIvl
	if ivl == 0 {
		ivl = DefaultReconnectIvl
	}
	backoff := ivl
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		switch {
		case e.wantDial: // the StartDial action asked for a dial (the machine is in Dialing)
			e.wantDial = false
			nc, err := c.dial(ctx)
			if ctx.Err() != nil {
				if nc != nil {
					nc.Close()
				}
				e.fire(fsm.EventClose, nil)
				continue
			}
			if err != nil {
				e.fire(fsm.EventConnectFailed, err)
				c.cfg.emit(Event{Kind: EventConnectDelayed, Endpoint: c.endpoint, Err: err})
				continue
			}
			c.mu.Lock()
			c.cur = nc
			c.mu.Unlock()
			if c.stopping.Load() { // Close ran between the dial and the store
				nc.Close()
			}
			c.cfg.KeepAlive.apply(nc)
			e.attach(nc)
			c.cfg.emit(Event{Kind: EventConnected, Endpoint: c.endpoint, Peer: peerString(nc.RemoteAddr())})
			e.fire(fsm.EventConnected, nil)
			e.handshook = false
			e.run(&c.stopping)
			if e.handshook {
				backoff = ivl // a connection that got through resets the backoff
			}
			c.mu.Lock()
			c.cur = nil
			c.mu.Unlock()
		case e.m.State() == fsm.StateBackoff:
			if ivl < 0 {
				e.fire(fsm.EventClose, nil)
				continue
			}
			wait := jitter(backoff)
			if max := c.cfg.ReconnectIvlMax; max > 0 {
				backoff = min(2*backoff, max)
			}
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			select {
			case <-ctx.Done():
				e.fire(fsm.EventClose, nil)
			case <-timer.C:
				c.cfg.emit(Event{Kind: EventConnectRetried, Endpoint: c.endpoint})
				e.fire(fsm.EventRetryElapsed, nil)
			}
		case e.m.State().Final(): // Stopped
			return
		default:
			panic("zmtp: connect loop in state " + e.m.State().String() + " with nothing to do") // a spec change the loop does not know
		}
	}
}

// jitter spreads reconnects of many peers over [d, 1.5d), so a restarted
// server is not hit by all of them at once.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Int64N(int64(d)/2+1))
}

// dial opens one connection, through Config.Dial when set.
func (c *Connector) dial(ctx context.Context) (net.Conn, error) {
	if c.cfg.Dial != nil {
		return c.cfg.Dial(ctx, c.ep.network(), c.ep.Address)
	}
	d := net.Dialer{LocalAddr: c.local}
	d.KeepAlive, d.KeepAliveConfig = c.cfg.KeepAlive.keepAliveFor()
	return d.DialContext(ctx, c.ep.network(), c.ep.Address)
}
