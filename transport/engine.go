package transport

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zmtpgo/zmtp/fsm"
)

// MechanismNull is the NULL mechanism: no authentication (RFC 37).
const MechanismNull = "NULL"

// engine drives one fsm.Machine over real connections and implements its
// hooks. On the accepting side it lives for one connection; on the
// connecting side for the endpoint, across reconnects. Everything in it is
// owned by the goroutine that runs the machine.
type engine struct {
	cfg      *Config
	endpoint string
	m        fsm.Machine

	// The current connection, reset for each one.
	nc     net.Conn
	addr   net.Addr // the peer's, before nc exists (a raw accept)
	r      *Reader
	w      *Writer
	sig    [SignatureSize]byte
	sigLen int // bytes of sig read so far
	peer   Greeting
	meta   Metadata
	// refusal is the text of the ERROR we send when a check fails.
	refusal string
	// cause is the error behind the event being fired, for ConnError.
	cause error
	// wantDial is set by the StartDial action; the connect loop dials.
	wantDial bool
	// handshook is set when a connection reaches Ready.
	handshook bool
	// gs is the accepting side's standing with the gate: the peer's
	// address and the slots the gate's guards took for it.
	gs gateSlot
	// rx counts the reads that brought bytes, across connections: the
	// heartbeat clock's sign of life.
	rx atomic.Uint64
	// current is the ready connection, for the owner to close from its
	// goroutine: closing the socket alone would not wake a reader blocked
	// in Handler.Message.
	current atomic.Pointer[Conn]
	// auth is the greetings and the PLAIN or TOKEN-HMAC state of the
	// current handshake; nil once it has succeeded.
	auth *authState
	// hsStart is when the current handshake began.
	hsStart time.Time
	// stopping is set by the owner (listener, connector) when it closes, so
	// that the errors its closing causes read as a local Close.
	stopping *atomic.Bool
	// onEnd, set by the listener, is what it does when an accepted
	// connection has ended; with it set, the connection may park when idle
	// (idle_linux.go), and whichever goroutine ends it calls onEnd.
	onEnd func()
}

// closing reports whether the owner (listener, connector) is closing, so
// that the errors its closing causes read as a local Close.
func (e *engine) closing() bool { return e.stopping != nil && e.stopping.Load() }

func newEngine(cfg *Config, role fsm.Role, endpoint string) *engine {
	e := &engine{cfg: cfg, endpoint: endpoint}
	e.m = fsm.New(role, e)
	return e
}

// closeConn ends the connection nc from the owner's goroutine, after the
// owner set its stopping flag: a ready connection is finished (waking a
// reader blocked in Handler.Message), one still in its handshake is closed.
func (e *engine) closeConn(nc net.Conn) {
	if c := e.current.Load(); c != nil {
		c.Close()
	}
	nc.Close()
}

// attach starts work on a new TCP connection. Buffers are made lazily by
// SendGreeting, so a connection the gate refuses costs none.
func (e *engine) attach(nc net.Conn) {
	e.nc, e.r, e.w, e.addr = nc, nil, nil, nil
	e.sigLen, e.peer, e.meta, e.refusal, e.cause = 0, Greeting{}, nil, "", nil
	e.dropAuth()
	e.auth = authPool.Get().(*authState)
}

// authPool recycles handshake state: an authState is about 370 bytes, and
// a burst of connections would otherwise leave one each as garbage.
var authPool = sync.Pool{New: func() any { return new(authState) }}

// dropAuth clears the handshake state, secrets included, and returns it to
// authPool. Only the engine's goroutine reads it, and only during the
// handshake, which is over when this runs: it succeeded, failed, or was
// refused before it began.
func (e *engine) dropAuth() {
	if a := e.auth; a != nil {
		// The PLAIN password is a copy of the HELLO body: wiped here too,
		// for a HELLO refused before the credentials were checked.
		clear(a.password)
		*a = authState{}
		authPool.Put(a)
		e.auth = nil
	}
}

// fire delivers ev with the error that caused it (for the close report).
// It returns a *ConnError when the machine closed the connection.
func (e *engine) fire(ev fsm.Event, cause error) error {
	e.cause = cause
	err := e.m.Fire(ev)
	if err == nil {
		return nil
	}
	cause = e.cause // a guard may have said more
	var reason fsm.Reason
	if !errors.As(err, &reason) {
		// The state does not handle ev: the peer did something out of place.
		reason = fsm.ReasonProtocolViolation
		if ferr := e.m.Fire(fsm.EventProtocolViolation); ferr != nil && !errors.As(ferr, &reason) {
			panic(fmt.Sprintf("zmtp: spec gap: %v after %v", ferr, err)) // the spec handles ProtocolViolation in every live state
		}
		if cause != nil {
			cause = fmt.Errorf("%w (%v): %w", fsm.ErrNotHandled, err, cause)
		} else {
			cause = fmt.Errorf("%w (%v)", fsm.ErrNotHandled, err)
		}
	}
	if cause == nil && e.refusal != "" {
		cause = errors.New(e.refusal)
	}
	return &ConnError{Reason: reason, Peer: peerString(e.remote()), Err: cause}
}

// peerErrorText describes a peer's ERROR; a three-digit reason is a ZAP
// status code, as libzmq's servers send when they refuse a login.
func peerErrorText(reason string) error {
	if len(reason) == 3 && reason[0] >= '2' && reason[0] <= '5' {
		return fmt.Errorf("peer refused us: ERROR %q (ZAP status; 400 means our credentials were refused)", reason)
	}
	return fmt.Errorf("peer sent ERROR %q", reason)
}

func (e *engine) remote() net.Addr {
	if e.nc == nil {
		return e.addr
	}
	return e.nc.RemoteAddr()
}

// handshake runs the machine from Greeting to Ready over e.nc, under the
// handshake timer. It returns the ready connection or the *ConnError that
// closed it; either way e.nc is still open.
func (e *engine) handshake() (*Conn, error) {
	e.hsStart = time.Now()
	deadline, _ := e.deadline()
	e.nc.SetDeadline(deadline)
	if err := e.flush(); err != nil {
		return nil, err
	}
	// The signature is read byte by byte up to where the version shows, so
	// a ZMTP 1.0 peer or an HTTP client is refused at its first byte, and a
	// 2.0 peer at its eleventh, rather than after a timeout.
	if err := e.readSig(1); err != nil {
		return nil, err
	}
	if e.sig[0] == 0xFF {
		if err := e.readSig(SignatureSize); err != nil {
			return nil, err
		}
	}
	if err := e.fire(fsm.EventSignatureReceived, nil); err != nil {
		return nil, err
	}
	if err := e.flush(); err != nil {
		return nil, err
	}
	pg := &e.auth.peerGreeting
	copy(pg[:], e.sig[:])
	if err := e.r.ReadFull(pg[SignatureSize:]); err != nil {
		return nil, e.readFailed(err)
	}
	g, err := ParseGreeting(pg[:])
	if err != nil {
		return nil, e.fire(fsm.EventProtocolViolation, err)
	}
	e.peer = g
	if err := e.fire(fsm.EventGreetingReceived, nil); err != nil {
		return nil, err
	}
	for !e.m.State().Ready() {
		if err := e.flush(); err != nil {
			return nil, err
		}
		if e.m.State() == fsm.StateNullPeerFirst {
			if err := e.readyGrace(deadline); err != nil {
				return nil, err
			}
			continue
		}
		if err := e.handshakeCommand(); err != nil {
			return nil, err
		}
	}
	if err := e.flush(); err != nil { // the connecting side's READY goes out last
		return nil, err
	}
	e.nc.SetDeadline(time.Time{})
	c := newConn(e)
	e.dropAuth() // the greetings, nonces and proofs: nothing needs them after the handshake
	return c, nil
}

// ReadyGrace is how long the connecting side waits for the peer's READY
// before sending its own (the ReadyGrace timer of the spec).
const ReadyGrace = 200 * time.Millisecond

// readyGrace waits up to ReadyGrace for the peer's first byte after the
// greeting. It fires ReadyGraceElapsed when none comes in time, and
// otherwise reads the command, so the peer's READY is seen before ours goes
// out. Waiting does not consume bytes, so a timeout leaves the stream in
// sync.
func (e *engine) readyGrace(deadline time.Time) error {
	grace := time.Now().Add(ReadyGrace)
	if deadline.IsZero() || grace.Before(deadline) {
		e.nc.SetReadDeadline(grace)
		err := e.r.Wait()
		e.nc.SetReadDeadline(deadline)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return e.fire(fsm.EventReadyGraceElapsed, nil)
			}
			return e.readFailed(err)
		}
	}
	return e.handshakeCommand()
}

// handshakeCommand reads one command and fires the event it stands for.
func (e *engine) handshakeCommand() error {
	f, err := e.r.ReadFrame()
	if err != nil {
		return e.readFailed(err)
	}
	if !f.IsCommand() {
		return e.fire(fsm.EventProtocolViolation, fmt.Errorf("%w: a message before the handshake completed", ErrMalformedFrame))
	}
	cmd, err := ParseCommand(f.Body)
	if err != nil {
		return e.fire(fsm.EventProtocolViolation, err)
	}
	switch cmd.Name {
	case CmdReady:
		md, err := ParseMetadata(cmd.Body)
		if err != nil {
			return e.fire(fsm.EventProtocolViolation, err)
		}
		e.meta = md
		return e.fire(fsm.EventReadyReceived, nil)
	case CmdError:
		reason, err := ParseError(cmd.Body)
		if err != nil {
			return e.fire(fsm.EventProtocolViolation, err)
		}
		return e.fire(fsm.EventErrorReceived, peerErrorText(reason))
	}
	if err, ok := e.authCommand(cmd); ok {
		return err
	}
	return e.fire(fsm.EventProtocolViolation, fmt.Errorf("%w: unexpected %s command during the handshake", ErrMalformedCommand, cmd.Name))
}

func (e *engine) readSig(n int) error {
	if e.r == nil {
		e.r = newConnReader(e.nc, &e.rx, e.cfg.maxMsgSize())
	}
	if err := e.r.ReadFull(e.sig[e.sigLen:n]); err != nil {
		return e.readFailed(err)
	}
	e.sigLen = n
	return nil
}

// readFailed turns a read error into the event the spec names for it.
func (e *engine) readFailed(err error) error {
	var ne net.Error
	switch {
	case e.closing():
		return e.fire(fsm.EventClose, nil)
	case errors.Is(err, ErrFrameTooLarge):
		return e.fire(fsm.EventFrameTooLarge, err)
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded):
		return e.fire(fsm.EventHandshakeTimeout, fmt.Errorf("no complete handshake within %v", e.cfg.handshakeTimeout()))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed), isConnReset(err):
		return e.fire(fsm.EventPeerClosed, e.closedDuring(err))
	default:
		return e.fire(fsm.EventProtocolViolation, err)
	}
}

// closedDuring says where in the handshake the peer hung up. After our
// READY it is most likely a refusal: libzmq closes without ERROR when it
// rejects our socket type or identity.
func (e *engine) closedDuring(err error) error {
	if e.m.State() == fsm.StateNullReady {
		return fmt.Errorf("peer closed the connection after our READY without sending its own; "+
			"a libzmq peer does this when it refuses our socket type %s: %w", e.cfg.SocketType, err)
	}
	return fmt.Errorf("peer closed the connection during the handshake (in state %s): %w", e.m.State(), err)
}

func isConnReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe)
}

func (e *engine) flush() error {
	if e.w == nil || e.w.Buffered() == 0 {
		return nil
	}
	if err := e.w.Flush(); err != nil {
		// As readFailed: a write can also end at the handshake deadline (a
		// peer that reads nothing) or because our owner closed the
		// connection. (The connecting side's READY goes out in Ready,
		// where the handshake timer no longer applies.)
		var ne net.Error
		switch {
		case e.closing():
			return e.fire(fsm.EventClose, nil)
		case errors.As(err, &ne) && ne.Timeout() && !e.m.State().Ready():
			return e.fire(fsm.EventHandshakeTimeout, fmt.Errorf("no complete handshake within %v: %w", e.cfg.handshakeTimeout(), err))
		}
		return e.fire(fsm.EventPeerClosed, err)
	}
	return nil
}

// Guards.

func (e *engine) ACLAllows() bool                 { return e.gate(RuleACL) }
func (e *engine) PeerLimitPerIPAllows() bool      { return e.gate(RulePeersPerIP) }
func (e *engine) HandshakeLimitPerIPAllows() bool { return e.gate(RuleHandshakesPerIP) }
func (e *engine) PeerLimitAllows() bool           { return e.gate(RulePeers) }
func (e *engine) HandshakeLimitAllows() bool      { return e.gate(RuleHandshakes) }

// gate asks one rule of the gate (RFC 37 §Security Considerations); a cap
// that admits takes its slot in e.gs, and a refusal's *RejectError becomes
// the cause of the close.
func (e *engine) gate(r Rule) bool {
	if e.cfg.Gate == nil {
		return true
	}
	if err := e.cfg.Gate.admit(r, &e.gs); err != nil {
		e.cause = err
		return false
	}
	return true
}

func (e *engine) SignatureValid() bool {
	if err := CheckSignature(e.sig[:1]); err != nil {
		e.cause = err
		return false
	}
	if err := CheckSignature(e.sig[:e.sigLen]); errors.Is(err, ErrNotZMTP) {
		e.cause = err
		return false
	}
	return true
}

func (e *engine) VersionSupported() bool {
	if err := CheckSignature(e.sig[:SignatureSize]); err != nil {
		e.cause = err
		return false
	}
	return true
}

func (e *engine) MechanismMatches() bool {
	if e.peer.Mechanism == e.mechanism() {
		return true
	}
	e.cause = fmt.Errorf("peer uses mechanism %s, we use %s", e.peer.Mechanism, e.mechanism())
	return false
}

func (e *engine) SocketTypeCompatible() bool {
	v, ok := e.meta.Get(PropSocketType)
	if !ok {
		e.refusal = "missing Socket-Type"
		return false
	}
	t, err := ParseSocketType(string(v))
	if err != nil {
		e.refusal = fmt.Sprintf("unknown socket type %q", v)
		return false
	}
	if !CompatibleWith(e.cfg.SocketType, t) {
		e.refusal = fmt.Sprintf("invalid socket type %s for %s", t, e.cfg.SocketType)
		return false
	}
	return true
}

func (e *engine) IdentityValid() bool {
	id, ok := e.meta.Get(PropIdentity)
	if !ok || len(id) == 0 {
		return true
	}
	if len(id) > 255 || id[0] == 0 {
		e.refusal = "invalid identity"
		return false
	}
	return true
}

// Actions.

func (e *engine) StartDial() { e.wantDial = true }

// setConn gives an engine whose gate admitted a raw-accepted peer its
// connection: the greeting the Start arm wrote is still buffered.
func (e *engine) setConn(nc net.Conn) {
	e.nc = nc
	if e.w != nil {
		e.w.bw.dst = nc
	}
}

func (e *engine) SendGreeting() {
	if e.w == nil {
		e.w = NewWriter(e.nc) // nil after a raw accept, until setConn
	}
	e.w.Write(e.greeting()[:SignatureSize])
}

func (e *engine) SendGreetingRest() { e.w.Write(e.greeting()[SignatureSize:]) }

// greeting returns our 64 bytes, kept for the TOKEN-HMAC transcript.
func (e *engine) greeting() []byte {
	if e.auth.ourGreeting[0] == 0 {
		sec := &e.cfg.Security
		g := Greeting{Major: 3, Minor: 1, Mechanism: e.mechanism(), AsServer: sec.Server && e.mechanism() != MechanismNull}
		g.Append(e.auth.ourGreeting[:0])
	}
	return e.auth.ourGreeting[:]
}

// ourProps returns what our metadata holds: the socket type, and the
// identity when the type sends one (withID).
func (e *engine) ourProps() (typ string, id []byte, withID bool) {
	return e.cfg.SocketType.String(), e.cfg.Identity, e.cfg.SocketType.SendsIdentity()
}

// ourMetadata is the metadata of READY, INITIATE and the proofs, as bytes:
// the proofs sign it.
func (e *engine) ourMetadata() []byte {
	typ, id, withID := e.ourProps()
	md := Metadata{{Name: PropSocketType, Value: []byte(typ)}}
	if withID {
		md = append(md, Property{Name: PropIdentity, Value: id})
	}
	return md.Append(nil)
}

// writeMetadataCommand writes the command name with ourMetadata as its
// body, straight into the Writer: READY or INITIATE goes out on every
// connection, and building the bytes first would leave them as garbage.
func (e *engine) writeMetadataCommand(name string) {
	typ, id, withID := e.ourProps()
	size := propertySize(PropSocketType, len(typ))
	if withID {
		size += propertySize(PropIdentity, len(id))
	}
	w := e.w
	w.writeCommandHeader(name, size)
	w.writePropertyHeader(PropSocketType, len(typ))
	w.bw.WriteString(typ)
	if withID {
		w.writePropertyHeader(PropIdentity, len(id))
		w.bw.Write(id)
	}
}

func (e *engine) SendReady() { e.writeMetadataCommand(CmdReady) }

func (e *engine) SendError() {
	if e.MechanismIsPlainServer() { // in the form libzmq's PLAIN clients read (plain.go)
		e.w.WriteFrame(FlagCommand, AppendPlainServerError(nil, e.refusal))
	} else {
		e.w.WriteCommand(CmdError, AppendErrorData(nil, e.refusal))
	}
	e.w.Flush() // best effort: the connection closes next
}

func (e *engine) HandshakeSucceeded() {
	e.handshook = true
	if e.cfg.Gate != nil {
		e.cfg.Gate.handshakeDone(&e.gs) // the handshake slots; the peer slots stay until the close
	}
}
