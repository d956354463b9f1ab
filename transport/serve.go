package transport

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/zmtpgo/zmtp/fsm"
)

// run takes one TCP connection, whose Start or Connected event has already
// been fired, through the handshake and then carries its messages until it
// ends. It returns the *ConnError that ended it. The machine is left in the
// state the close put it in (Closed, Backoff or Stopped). An accepted
// connection (e.onEnd set) may instead park when idle (idle_linux.go): run
// then returns errParked, and the goroutine that resumes it finishes the
// work, calling e.onEnd at the end.
func (e *engine) run(stopping *atomic.Bool) error {
	e.stopping = stopping
	c, err := e.handshake()
	if err != nil {
		e.cfg.emit(Event{Kind: EventHandshakeFailed, Endpoint: e.endpoint, Peer: peerString(e.remote()), Reason: reasonOf(err), Err: err})
		e.dropAuth()
		e.end()
		return err
	}
	e.cfg.emit(Event{Kind: EventHandshakeSucceeded, Endpoint: e.endpoint, Peer: c.remoteAddr})
	err = e.serve(c)
	if err != errParked {
		e.end()
	}
	return err
}

// end closes the connection and returns its buffers to their pools.
func (e *engine) end() {
	e.nc.Close()
	e.release()
}

// release returns the connection's buffers to their pools. Nothing uses
// them any more: the handshake has failed, or serve has returned after the
// writer goroutine ended.
func (e *engine) release() {
	e.r.Release()
	e.w.Release()
	e.r, e.w = nil, nil
}

// serve runs a ready connection: the reader here, a writer goroutine
// while there is something to write, and the heartbeat clock.
func (e *engine) serve(c *Conn) error {
	h := e.cfg.Handler
	e.current.Store(c)
	if e.closing() { // the owner closed during the handshake
		c.Close()
	}
	c.startClock()
	if h == nil || !h.Attach(c) {
		c.Close()
		c.stopWriting()
		e.current.Store(nil)
		refused := errors.New("the socket refused the connection (a PAIR that has its peer, or a closing socket)")
		if e.closing() {
			return e.fire(fsm.EventClose, refused)
		}
		// Not fatal: a connecting PAIR retries, and gets in once the
		// socket's current peer has gone.
		return e.fire(fsm.EventPeerClosed, refused)
	}
	return e.serveReads(c)
}

// serveReads runs the reader until the connection ends, and then reports
// the end; or, when the connection parks, returns errParked at once,
// touching nothing more: another goroutine may have resumed it already.
func (e *engine) serveReads(c *Conn) error {
	h := e.cfg.Handler
	var rerr error
	for {
		rerr = c.readLoop(e, h)
		if rerr != errParked {
			break
		}
		if c.park(e) {
			return errParked
		}
		// Closing, or nowhere to park: go on reading here.
		e.clearIdle()
	}
	var err error
	select {
	case <-c.done: // closed locally, or the writer failed
		err = e.closeFor(c.Err())
	default:
		err = e.readEnded(rerr)
		c.finish(err)
	}
	c.stopWriting()
	h.Detach(c, err)
	e.cfg.emit(Event{Kind: EventDisconnected, Endpoint: e.endpoint, Peer: c.remoteAddr, Reason: reasonOf(err), Err: err})
	e.current.Store(nil)
	return err
}

// resume goes on serving a connection that parked, on a new goroutine,
// and ends it as run would have.
func (e *engine) resume(c *Conn) {
	c.resumed()
	e.r.br.idleArmed = false // readLoop sets the deadline again at once
	if e.serveReads(c) == errParked {
		return
	}
	e.end()
	e.onEnd()
}

// clearIdle removes the read deadline that found the connection idle.
func (e *engine) clearIdle() {
	e.nc.SetReadDeadline(time.Time{})
	e.r.br.idleArmed = false
}

// closeFor fires the event matching why a ready connection was finished
// from outside its reader (a local Close, or a failed write).
func (e *engine) closeFor(err error) error {
	var ce *ConnError
	switch {
	case errors.Is(err, fsm.ReasonClosed):
		return e.fire(fsm.EventClose, nil)
	case errors.Is(err, fsm.ReasonHeartbeatTimeout) && errors.As(err, &ce):
		return e.fire(fsm.EventHeartbeatTimeout, ce.Err)
	case e.closing():
		// The writer failed because the owner closed the connection under
		// it (Unbind, Disconnect, Close), as the reader's error reads too.
		return e.fire(fsm.EventClose, nil)
	}
	if errors.As(err, &ce) {
		return e.fire(fsm.EventPeerClosed, ce.Err)
	}
	return e.fire(fsm.EventPeerClosed, err)
}

// readEnded fires the event that matches why the reader stopped.
func (e *engine) readEnded(err error) error {
	var pe *peerError
	switch {
	case errors.As(err, &pe):
		return e.fire(fsm.EventErrorReceived, err)
	case errors.Is(err, ErrFrameTooLarge):
		return e.fire(fsm.EventFrameTooLarge, err)
	case errors.Is(err, syscall.ETIMEDOUT):
		return e.fire(fsm.EventKeepaliveFailed, err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed), isConnReset(err):
		if e.closing() {
			return e.fire(fsm.EventClose, nil)
		}
		return e.fire(fsm.EventPeerClosed, err)
	default:
		return e.fire(fsm.EventProtocolViolation, err)
	}
}

// reasonOf extracts the typed reason from a close error.
func reasonOf(err error) fsm.Reason {
	var r fsm.Reason
	if errors.As(err, &r) {
		return r
	}
	return fsm.ReasonNone
}
