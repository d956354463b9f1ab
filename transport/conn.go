package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zmtpgo/zmtp/fsm"
)

// ErrConnClosed is returned by Send on a connection that has closed.
var ErrConnClosed = errors.New("zmtp: connection closed")

// Conn is a connection that completed its handshake. Messages are written
// by a writer goroutine that runs while there is something to write: it
// drains the send queue into one buffer, flushes once the queue is empty
// (many small messages per system call) and ends. An idle connection has
// no writer and no buffer.
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
	w *Writer

	// Shared, safe for concurrent use.
	q       sendQueue
	done    chan struct{} // closed when the connection ends
	once    sync.Once
	errMu   sync.Mutex
	err     error        // why it ended
	pending atomic.Int64 // messages queued and not yet flushed

	// Liveness: the reader counts reads and records the peer's TTL; the
	// heartbeat clock, a timer, reads both and queues PINGs.
	hbCfg   Heartbeat
	rx      *atomic.Uint64 // reads that returned bytes
	ttl     atomic.Int64   // nanoseconds; 0: the peer asked for none
	hbMu    sync.Mutex
	hb      *heartbeat // nil until there is something to time
	hbTimer *time.Timer
	hbOff   bool // the clock has stopped

	// Parking (idle_linux.go): whether the reader has handed the
	// descriptor to the idle poller and ended, and what resumes it.
	parkMu   sync.Mutex
	parked   bool
	parkFD   int
	eng      *engine
	parkedAt time.Time
	parks    int // times parked, for tests
	// idleWait is how long this connection's reader waits before parking
	// (reader-owned): idleAfter, doubled (to maxIdleWait) each time the
	// connection is woken soon after parking, as a peer that sends every
	// few tens of milliseconds would otherwise pay a park and a wake per
	// message; back to idleAfter after a long park.
	idleWait time.Duration
}

// errParked is what readLoop, serveReads and run return when the
// connection has parked; errIdle what a read returns when the idle
// deadline passes at a message boundary.
var (
	errParked = errors.New("zmtp: connection parked")
	errIdle   = errors.New("zmtp: idle at a message boundary")
)

// park hands the connection to the idle poller and reports whether it did;
// the caller's goroutine must then end without touching the connection, the
// engine or the handler again. It does not park a connection that has
// finished.
func (c *Conn) park(e *engine) bool {
	fd := -1
	if e.r.br.raw == nil || e.r.br.raw.control(func(f uintptr) { fd = int(f) }) != nil {
		return false
	}
	c.parkMu.Lock()
	defer c.parkMu.Unlock()
	select {
	case <-c.done: // finish ran, or runs and waits for parkMu: it will not wake us
		return false
	default:
	}
	if idle.add(fd, c) != nil {
		c.idleWait = maxIdleWait // try again only much later
		return false
	}
	e.r.br.releaseIfEmpty() // a read cut by the deadline before it ran kept the buffer
	e.r.DropArena()         // kept if a command came after the last message
	c.parked, c.parkFD, c.eng, c.parkedAt = true, fd, e, time.Now()
	c.parks++
	return true
}

// resumed adapts the connection's wait to how long it stayed parked.
func (c *Conn) resumed() {
	c.parkMu.Lock()
	parkedFor := time.Since(c.parkedAt)
	c.parkMu.Unlock()
	if parkedFor < 4*c.idleWait {
		c.idleWait = min(2*c.idleWait, maxIdleWait)
	} else {
		c.idleWait = idleAfter
	}
}

// wake resumes a parked connection on a new goroutine: when its
// descriptor is ready (the poller, which has stopped watching it), or when
// it finishes (so that its end is reported and its slot freed).
func (c *Conn) wake(fromPoller bool) {
	c.parkMu.Lock()
	if !c.parked {
		c.parkMu.Unlock()
		return
	}
	c.parked = false
	fd, e := c.parkFD, c.eng
	c.parkMu.Unlock()
	if !fromPoller {
		idle.remove(fd, c)
	}
	go e.resume(c)
}

func newConn(e *engine) *Conn {
	c := &Conn{
		nc:         e.nc,
		endpoint:   e.endpoint,
		peerMinor:  e.peer.Minor,
		meta:       e.meta,
		remoteAddr: peerString(e.remote()),
		w:          e.w,
		q:          sendQueue{limit: e.cfg.sendQueue()},
		done:       make(chan struct{}),
		hbCfg:      e.cfg.Heartbeat,
		rx:         &e.rx,
		dialled:    e.m.Role() == fsm.RoleConnect,
		userID:     e.auth.userID,
	}

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
		room, start := c.q.push(frames, &c.pending)
		if start {
			go c.writeLoop()
		}
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
func (c *Conn) TrySend(frames [][]byte) bool {
	room, start := c.q.push(frames, &c.pending)
	if start {
		go c.writeLoop()
	}
	return room == nil
}

// SendCommand queues a command (name and data), ahead of queued messages.
// It blocks while maxCommands commands wait, until the connection ends.
func (c *Conn) SendCommand(name string, data []byte) error {
	body := AppendCommandBody(nil, name, data)
	for {
		room := c.queueCommand(body, cmdWait)
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
		c.wake(false) // before the close: the poller must let go of the descriptor first
		c.nc.Close()
	})
}

// queueCommand queues a command body, starting a writer if none runs;
// see sendQueue.pushCommand.
func (c *Conn) queueCommand(body []byte, mode cmdMode) <-chan struct{} {
	room, start := c.q.pushCommand(body, mode)
	if start {
		go c.writeLoop()
	}
	return room
}

// freeEvery is how many written messages writeLoop frees room for at a
// time while it works through a batch.
const freeEvery = 64

// writeLoop writes everything queued, in batches taken under one lock,
// flushes once the queue is empty, and ends when it stays empty: a burst
// of small messages costs one write system call, and an idle connection
// keeps no goroutine and no buffer. sendQueue starts it.
func (c *Conn) writeLoop() {
	var written int64
	for {
		cmds, msgs := c.q.take()
		if len(cmds) == 0 && len(msgs) == 0 {
			if !c.write(c.w.Flush()) {
				c.q.exit(false)
				return
			}
			c.pending.Add(-written)
			written = 0
			if c.q.idle() {
				return
			}
			continue
		}
		for _, cmd := range cmds {
			if !c.write(c.w.WriteFrame(FlagCommand, cmd)) {
				c.q.exit(false)
				return
			}
		}
		done := 0
		for i, msg := range msgs {
			if !c.write(c.writeMsg(msg)) {
				c.q.exit(false)
				return
			}
			if i+1-done == freeEvery { // free room for blocked senders as we go
				c.q.written(freeEvery)
				done = i + 1
			}
		}
		if done < len(msgs) {
			c.q.written(len(msgs) - done)
		}
		written += int64(len(msgs))
		putBatch(msgs)
	}
}

// stopWriting stops the heartbeat clock, lets no writer start, and waits
// for a running one to end; the connection has finished, so a writer
// blocked on the socket fails at once.
func (c *Conn) stopWriting() {
	c.hbMu.Lock()
	c.hbOff = true
	if c.hbTimer != nil {
		c.hbTimer.Stop()
	}
	c.hbMu.Unlock()
	c.q.stop()
}

// startClock starts the heartbeat clock. It runs even with our PINGs off,
// since the peer's PINGs may ask for a TTL; its timer exists only once a
// deadline does. The clock runs beside the writer, not in it: a write
// blocked on a peer whose host is gone (its buffers toward us full) does
// not stop the clock from finding the peer dead, and closing the
// connection then fails the write.
func (c *Conn) startClock() {
	c.hbMu.Lock()
	defer c.hbMu.Unlock()
	if c.hbCfg.Interval > 0 {
		c.hb = newHeartbeat(c.hbCfg, time.Now())
	}
	c.rearmLocked()
}

// rearmLocked sets the timer to the clock's next deadline.
func (c *Conn) rearmLocked() {
	if c.hbOff {
		return
	}
	if c.hb == nil {
		// No PINGs of ours: the clock starts with the peer's first TTL, so
		// that the many connections without either hold none.
		if c.peerTTL() == 0 {
			return
		}
		c.hb = newHeartbeat(c.hbCfg, time.Now())
	}
	at := c.hb.next(c.peerTTL())
	if at.IsZero() {
		if c.hbTimer != nil {
			c.hbTimer.Stop()
		}
		return
	}
	if c.hbTimer == nil {
		c.hbTimer = time.AfterFunc(time.Until(at), c.beat)
	} else {
		c.hbTimer.Reset(time.Until(at))
	}
}

// beat runs the clock when its timer fires: it queues a PING when one is
// due (timed from now, as if the bytes ahead of it had gone), and ends the
// connection when the peer is dead.
func (c *Conn) beat() {
	c.hbMu.Lock()
	if c.hbOff {
		c.hbMu.Unlock()
		return
	}
	ping, dead := c.hb.tick(time.Now(), c.rx.Load(), c.peerTTL())
	if dead != nil {
		c.hbOff = true
		c.hbMu.Unlock()
		c.finish(&ConnError{Reason: fsm.ReasonHeartbeatTimeout, Peer: c.remoteAddr, Err: dead})
		return
	}
	c.rearmLocked()
	c.hbMu.Unlock()
	if ping {
		c.queueCommand(AppendCommandBody(nil, CmdPing, AppendPingData(nil, c.hbCfg.ttlDeciseconds(), nil)), cmdForce)
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

// The frame-list slab of readLoop: its entries at first and at most, and
// the largest first frame that takes one. A slab doubles while messages
// keep coming without a wait, so a connection that says one thing and falls
// idle, the common case on a busy listener, costs a small slab.
const (
	slabFirst = 2
	slabSize  = 16
	slabBody  = 256
)

// BatchHandler is a Handler that also takes several messages at once:
// those a read brought whole, up to maxBatch, handed over in order before
// the reader reads again or handles a command. One call for many lets the
// handler take its locks once for all of them (sockets' receive queue).
type BatchHandler interface {
	Handler
	// Messages is Message for each of msgs, in order. msgs is reused
	// after the call: keep its elements, not the slice.
	Messages(c *Conn, msgs [][][]byte)
}

// maxBatch is the most messages readLoop hands a BatchHandler at once.
const maxBatch = 64

// deliver hands *batch to bh, if it holds anything, leaving it empty for
// reuse. It empties *batch before the call, so that a handler that panics
// does not get the same messages again from readLoop's deferred delivery.
func deliver(c *Conn, bh BatchHandler, batch *[][][]byte) {
	b := *batch
	if len(b) == 0 {
		return
	}
	*batch = b[:0]
	bh.Messages(c, b)
	clear(b)
}

// MaxFrames caps the frames of one received message, whatever the maximum
// message size: a peer could otherwise send empty frames flagged MORE
// without end. libzmq has no such cap; 65,536 is far beyond any real use.
const MaxFrames = 1 << 16

// readLoop reads messages and commands until the connection ends, and
// returns why it ended.
func (c *Conn) readLoop(e *engine, h Handler) error {
	var msg, slab [][]byte
	slabN := slabFirst
	var size int64
	max := e.cfg.maxMsgSize()
	// An accepted connection over a socket parks when its reader has waited
	// idleAfter at a message boundary with nothing buffered. The deadline
	// that tells is set once and, when it passes after reads, set again:
	// one SetReadDeadline per idleAfter on a busy connection. A read it
	// cuts inside a frame is retried (rawReader.do).
	parking := canPark && e.onEnd != nil && e.r.br.raw != nil
	if c.idleWait == 0 {
		c.idleWait = idleAfter
	}
	var armedRx uint64
	bh, _ := h.(BatchHandler)
	var batch [][][]byte // from getBatch while messages are being batched
	if bh != nil {
		// Whatever ends the loop, the messages read before it are
		// delivered, as they would have been one by one.
		defer func() {
			deliver(c, bh, &batch)
			putBatch(batch)
		}()
	}
	for {
		if parking && msg == nil && !e.r.br.idleArmed && e.r.Buffered() == 0 {
			armedRx = c.rx.Load()
			e.nc.SetReadDeadline(time.Now().Add(c.idleWait))
			e.r.br.idleArmed = true
		}
		e.r.idleWait = parking && msg == nil
		// The messages batched so far go before any read that could wait,
		// such as the rest of a message whose first frames were whole.
		if len(batch) > 0 && !e.r.shortFrameBuffered() {
			deliver(c, bh, &batch)
		}
		f, err := e.r.ReadFrame()
		if err == errIdle {
			if rx := c.rx.Load(); rx != armedRx || e.r.Buffered() > 0 {
				armedRx = rx
				e.nc.SetReadDeadline(time.Now().Add(c.idleWait))
				continue
			}
			return errParked
		}
		if err != nil {
			return err
		}
		if f.IsCommand() {
			deliver(c, bh, &batch) // in order with the command
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
		if msg == nil && len(f.Body) <= slabBody {
			// A small message's frame list comes from a shared slab: one
			// allocation per slabSize messages instead of one each. The
			// window's capacity is 1, so a further frame, or a user's
			// append, moves the list out rather than into its neighbour.
			// A message kept keeps its slab, and the slab its neighbours'
			// first frames: hence small bodies only, at most slabSize ×
			// slabBody bytes.
			if len(slab) == 0 {
				slab = make([][]byte, slabN)
				slabN = min(2*slabN, slabSize)
			}
			msg, slab = slab[:1:1], slab[1:]
			msg[0] = f.Body
		} else {
			msg = append(msg, f.Body)
		}
		if f.More() {
			continue
		}
		// Batched while the next frame is whole in the buffer; handed over
		// when it is not, and again at the top of the loop before any read
		// that could wait, so that a batch never waits for bytes still to
		// come. A message alone goes as it is, with no batch made for it.
		switch more := bh != nil && e.r.shortFrameBuffered(); {
		case more || len(batch) > 0:
			if batch == nil {
				batch = getBatch()
			}
			batch = append(batch, msg)
			if !more || len(batch) == maxBatch {
				deliver(c, bh, &batch)
			}
		default:
			h.Message(c, msg)
		}
		msg, size = nil, 0
		if e.r.Buffered() == 0 {
			slab = nil // about to wait: an idle connection keeps no slab alive
			slabN = slabFirst
			e.r.DropArena()
			putBatch(batch) // delivered, as nothing more is buffered
			batch = nil
		}
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
			c.hbMu.Lock()
			c.rearmLocked() // the TTL is a deadline to watch
			c.hbMu.Unlock()
		}
		// A peer that floods PINGs faster than we write gets fewer PONGs.
		c.queueCommand(AppendCommandBody(nil, CmdPong, ctx), cmdDrop)
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
