package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zmtpgo/zmtp/fsm"
)

// ErrConnClosed is returned by Send on a connection that has closed.
var ErrConnClosed = errors.New("zmtp: connection closed")

// Conn is a connection that completed its handshake. Messages are written
// by its own writer goroutine, which drains the send queue into one buffer
// and flushes once the queue is empty: many small messages per syscall.
type Conn struct {
	// Immutable after the handshake.
	nc         net.Conn
	endpoint   string
	peerType   SocketType
	peerMinor  uint8
	identity   []byte
	meta       Metadata
	remoteAddr string
	tag        any
	dialled    bool
	userID     string

	// Owned by the writer goroutine.
	w  *Writer
	lw *liveWriter // what w writes to

	// Shared, safe for concurrent use.
	q       sendQueue
	done    chan struct{} // closed when the connection ends
	once    sync.Once
	errMu   sync.Mutex
	err     error // why it ended
	writerD chan struct{}
	pending atomic.Int64 // messages queued and not yet flushed

	// Liveness: the reader counts frames and records the peer's TTL; the
	// writer's heartbeat clock reads both.
	hbCfg  Heartbeat
	rx     *atomic.Uint64 // reads that returned bytes, counted under the bufio reader
	ttl    atomic.Int64   // nanoseconds; 0: the peer asked for none
	ttlSet chan struct{}
}

func newConn(e *engine) *Conn {
	c := &Conn{
		nc:         e.nc,
		endpoint:   e.endpoint,
		peerMinor:  e.peer.Minor,
		meta:       e.meta,
		remoteAddr: peerString(e.remote()),
		w:          e.w,
		q:          sendQueue{limit: e.cfg.sendQueue(), kick: make(chan struct{}, 1)},
		done:       make(chan struct{}),
		writerD:    make(chan struct{}),
		hbCfg:      e.cfg.Heartbeat,
		rx:         &e.rx,
		dialled:    e.m.Role() == fsm.RoleConnect,
		userID:     e.auth.userID,
		ttlSet:     make(chan struct{}, 1),
	}
	// The handshake flushed everything: the buffer can change writers.
	c.lw = &liveWriter{nc: e.nc}
	c.w.reset(c.lw)

	if v, ok := e.meta.Get(PropSocketType); ok {
		c.peerType, _ = ParseSocketType(string(v))
	}
	if id, ok := e.meta.Get(PropIdentity); ok {
		c.identity = id
	}
	return c
}

// SetTag attaches the socket's own record to the connection; Tag returns
// it. Set it in Handler.Attach, before any message is delivered.
func (c *Conn) SetTag(v any) { c.tag = v }

// Tag returns what SetTag stored.
func (c *Conn) Tag() any { return c.tag }

// PeerType returns the peer's socket type.
func (c *Conn) PeerType() SocketType { return c.peerType }

// PeerMinor returns the peer's ZMTP minor version: 0 for a 3.0 peer, which
// expects subscriptions as messages rather than commands.
func (c *Conn) PeerMinor() uint8 { return c.peerMinor }

// Identity returns the Identity the peer sent in READY, or nil.
func (c *Conn) Identity() []byte { return c.identity }

// Metadata returns the peer's READY metadata.
func (c *Conn) Metadata() Metadata { return c.meta }

// RemoteAddr returns the peer's address as text.
func (c *Conn) RemoteAddr() string { return c.remoteAddr }

// UserID names the authenticated peer: the user id the authenticator
// gave a PLAIN login or a TOKEN-HMAC key id (the key id, with a
// TokenTable); empty for NULL.
func (c *Conn) UserID() string { return c.userID }

// Connected reports whether we dialled this connection (false: accepted).
func (c *Conn) Connected() bool { return c.dialled }

// Endpoint returns the endpoint the connection belongs to.
func (c *Conn) Endpoint() string { return c.endpoint }

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended, or nil while it is open.
func (c *Conn) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// Send queues a message, blocking while the queue is full until ctx ends.
func (c *Conn) Send(ctx context.Context, frames [][]byte) error {
	_, err := c.SendWait(ctx, frames, nil)
	return err
}

// SendWait is Send that also gives up, returning false and no error, when
// wake closes: a socket blocked on one full connection wakes when another
// connection arrives or frees room.
func (c *Conn) SendWait(ctx context.Context, frames [][]byte, wake <-chan struct{}) (bool, error) {
	for {
		room := c.q.push(frames, &c.pending)
		if room == nil {
			return true, nil
		}
		select {
		case <-room:
		case <-c.done:
			return false, ErrConnClosed
		case <-ctx.Done():
			return false, ctx.Err()
		case <-wake:
			return false, nil
		}
	}
}

// TrySend queues a message if the queue has room, and reports whether it
// did. A PUB socket drops the message when it does not.
func (c *Conn) TrySend(frames [][]byte) bool { return c.q.push(frames, &c.pending) == nil }

// SendCommand queues a command (name and data), ahead of queued messages.
// It blocks while maxCommands commands wait, until the connection ends.
func (c *Conn) SendCommand(name string, data []byte) error {
	body := AppendCommandBody(nil, name, data)
	for {
		room := c.q.pushCommand(body, false)
		if room == nil {
			return nil
		}
		select {
		case <-room:
		case <-c.done:
			return ErrConnClosed
		}
	}
}

// Subscribe sends a subscription (or, with cancel, its cancellation) in
// the form the peer's version expects: a SUBSCRIBE or CANCEL command to a
// ZMTP 3.1 peer, a message whose first byte is 1 or 0 to a 3.0 peer.
func (c *Conn) Subscribe(ctx context.Context, topic []byte, cancel bool) error {
	name, flag := subscription(cancel)
	if c.peerMinor >= 1 {
		return c.SendCommand(name, topic)
	}
	return c.Send(ctx, [][]byte{append([]byte{flag}, topic...)})
}

// AppendSubscription appends the frame Subscribe writes to a peer of the
// given ZMTP minor version.
func AppendSubscription(dst []byte, peerMinor uint8, cancel bool, topic []byte) []byte {
	name, flag := subscription(cancel)
	if peerMinor >= 1 {
		body := AppendCommandBody(nil, name, topic)
		return append(AppendFrameHeader(dst, FlagCommand, len(body)), body...)
	}
	dst = AppendFrameHeader(dst, 0, len(topic)+1)
	return append(append(dst, flag), topic...)
}

func subscription(cancel bool) (command string, flag byte) {
	if cancel {
		return CmdCancel, 0
	}
	return CmdSubscribe, 1
}

// QueueLen returns the number of messages waiting in the send queue.
func (c *Conn) QueueLen() int { return c.q.len() }

// Drain waits until every queued message has been handed to the operating
// system, the connection has ended, or the deadline passes, and reports
// whether the queue was emptied. Close with linger uses it.
func (c *Conn) Drain(deadline time.Time) bool {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		if c.pending.Load() == 0 {
			return true
		}
		select {
		case <-c.done:
			return false
		case now := <-tick.C:
			if !deadline.IsZero() && now.After(deadline) {
				return false
			}
		}
	}
}

// Close ends the connection with reason Closed.
func (c *Conn) Close() { c.finish(&ConnError{Reason: fsm.ReasonClosed, Peer: c.remoteAddr}) }

// finish records err as the reason the connection ended, once, and closes
// the socket so both goroutines stop.
func (c *Conn) finish(err error) {
	c.once.Do(func() {
		c.errMu.Lock()
		c.err = err
		c.errMu.Unlock()
		close(c.done)
		c.nc.Close()
	})
}

// liveWriter is what a ready connection's Writer writes to. A peer whose
// host is gone reads nothing; once the network's buffers toward it are
// full, a write blocks, and with it the writer goroutine and the heartbeat
// clock it keeps, so the peer would never be found dead (a publisher
// sending to a subscriber that dropped off). So a write gives way at each
// heartbeat deadline, which writeLoop keeps as the connection's write
// deadline, lets the clock tick, and fails once the peer is dead.
type liveWriter struct {
	nc   net.Conn
	tick func(now time.Time) error // the heartbeat clock, once writeLoop runs
}

func (w *liveWriter) Write(p []byte) (int, error) {
	n := 0
	for {
		k, err := w.nc.Write(p[n:])
		n += k
		if err == nil || w.tick == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
			return n, err
		}
		if err := w.tick(time.Now()); err != nil {
			return n, err
		}
	}
}

// writeLoop drains the queues into the buffer and flushes when they are
// empty, so a burst of small messages costs one write system call. It also
// keeps the connection's heartbeat clock, with one timer set to the
// nearest deadline, which is also the write deadline (liveWriter).
func (c *Conn) writeLoop() {
	defer close(c.writerD)
	var written int64
	var hbTimer *time.Timer
	var hbC <-chan time.Time
	var writeDeadline time.Time
	// Always kept, even with our PINGs off: the peer's PINGs may ask for a
	// TTL. The timer exists only once a deadline does.
	hb := newHeartbeat(c.hbCfg, time.Now())
	rearm := func() {
		hbC = nil
		at := hb.next(c.peerTTL())
		if !at.Equal(writeDeadline) {
			writeDeadline = at
			c.nc.SetWriteDeadline(at)
		}
		if at.IsZero() {
			return
		}
		if hbTimer == nil {
			hbTimer = time.NewTimer(time.Until(at))
		} else {
			hbTimer.Reset(time.Until(at))
		}
		hbC = hbTimer.C
	}
	defer func() {
		if hbTimer != nil {
			hbTimer.Stop()
		}
	}()
	// owed is a PING that fell due while a write waited (it is timed from
	// then, as if queued behind the bytes that wait); it goes out next.
	owed := false
	beat := func(now time.Time) error {
		ping, dead := hb.tick(now, c.rx.Load(), c.peerTTL())
		if dead != nil {
			err := &ConnError{Reason: fsm.ReasonHeartbeatTimeout, Peer: c.remoteAddr, Err: dead}
			c.finish(err)
			return err
		}
		rearm()
		owed = owed || ping
		return nil
	}
	ping := func() bool {
		owed = false
		return c.write(c.w.WriteCommand(CmdPing, AppendPingData(nil, c.hbCfg.ttlDeciseconds(), nil)))
	}
	c.lw.tick = beat
	rearm()
	for {
		select {
		case <-c.done:
			return
		case <-c.ttlSet:
			rearm() // the peer's first PING set a TTL to watch
			continue
		case now := <-hbC:
			if beat(now) != nil {
				return
			}
			if owed && !ping() {
				return
			}
		case <-c.q.kick:
		}
		// Write everything queued, in batches taken under one lock, and
		// flush once the queue is empty: a burst of small messages costs
		// one write system call.
		for {
			cmds, msgs := c.q.take()
			if len(cmds) == 0 && len(msgs) == 0 {
				break
			}
			for _, cmd := range cmds {
				if !c.write(c.w.WriteFrame(FlagCommand, cmd)) {
					return
				}
			}
			done := 0
			for i, msg := range msgs {
				if !c.write(c.writeMsg(msg)) {
					return
				}
				if i-done == 63 { // free room for blocked senders as we go
					c.q.written(64)
					done = i + 1
				}
			}
			if done < len(msgs) {
				c.q.written(len(msgs) - done)
			}
			written += int64(len(msgs))
			c.q.recycle(msgs)
		}
		if !c.write(c.w.Flush()) {
			return
		}
		for owed { // a PING fell due during the flush
			if !ping() || !c.write(c.w.Flush()) {
				return
			}
		}
		c.pending.Add(-written)
		written = 0
	}
}

// peerTTL is the TTL the peer's last PING asked for.
func (c *Conn) peerTTL() time.Duration { return time.Duration(c.ttl.Load()) }

func (c *Conn) writeMsg(frames [][]byte) error {
	for i, f := range frames {
		var flags byte
		if i < len(frames)-1 {
			flags = FlagMore
		}
		if err := c.w.WriteFrame(flags, f); err != nil {
			return err
		}
	}
	return nil
}

func (c *Conn) write(err error) bool {
	if err != nil {
		c.finish(&ConnError{Reason: fsm.ReasonPeerClosed, Peer: c.remoteAddr, Err: err})
		return false
	}
	return true
}

// MaxFrames caps the frames of one received message, whatever the maximum
// message size: a peer could otherwise send empty frames flagged MORE
// without end. libzmq has no such cap; 65,536 is far beyond any real use.
const MaxFrames = 1 << 16

// readLoop reads messages and commands until the connection ends, and
// returns why it ended.
func (c *Conn) readLoop(e *engine, h Handler) error {
	var msg [][]byte
	var size int64
	max := e.cfg.maxMsgSize()
	for {
		f, err := e.r.ReadFrame()
		if err != nil {
			return err
		}
		if f.IsCommand() {
			if err := c.command(f.Body, h); err != nil {
				return err
			}
			continue
		}
		size += int64(len(f.Body))
		if max >= 0 && size > max {
			return fmt.Errorf("%w: message of more than %d bytes, limit %d", ErrFrameTooLarge, size, max)
		}
		if len(msg) >= MaxFrames {
			// Empty frames cost no bytes but a slice entry each: without a
			// cap, a stream of them would grow one message without bound.
			return fmt.Errorf("%w: message of more than %d frames", ErrFrameTooLarge, MaxFrames)
		}
		msg = append(msg, f.Body)
		if f.More() {
			continue
		}
		h.Message(c, msg)
		msg, size = nil, 0
		select {
		case <-c.done:
			return c.Err()
		default:
		}
	}
}

// command handles a command on a ready connection.
func (c *Conn) command(body []byte, h Handler) error {
	cmd, err := ParseCommand(body)
	if err != nil {
		return err
	}
	switch cmd.Name {
	case CmdPing:
		ttl, ctx, err := ParsePing(cmd.Body)
		if err != nil {
			return err
		}
		if d := int64(ttl) * int64(100*time.Millisecond); d != c.ttl.Load() {
			c.ttl.Store(d)
			select {
			case c.ttlSet <- struct{}{}:
			default:
			}
		}
		// A peer that floods PINGs faster than we write gets fewer PONGs.
		c.q.pushCommand(AppendCommandBody(nil, CmdPong, ctx), true)
	case CmdPong:
	case CmdSubscribe, CmdCancel:
		h.Command(c, cmd.Name, cmd.Body)
	case CmdError:
		reason, _ := ParseError(cmd.Body)
		return &peerError{reason}
	default:
		// RFC 37 lets unknown commands be ignored; libzmq does the same.
	}
	return nil
}

// peerError is an ERROR command received on a ready connection.
type peerError struct{ reason string }

func (p *peerError) Error() string { return fmt.Sprintf("peer sent ERROR %q", p.reason) }
