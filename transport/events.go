package transport

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/zmtpgo/zmtp/fsm"
)

// EventKind names a monitor event; the names follow libzmq's ZMQ_EVENT_*.
type EventKind uint8

// Monitor event kinds.
const (
	EventListening EventKind = iota + 1
	EventBindFailed
	EventAccepted
	EventAcceptFailed
	EventRejected // refused by the gate (accept-from lists, caps) right after accept, or a live connection dropped after an accept-from change; Reason names the rule
	EventConnected
	EventConnectDelayed
	EventConnectRetried
	EventHandshakeSucceeded
	EventHandshakeFailed
	EventDisconnected
	EventClosed
)

var eventKindNames = [...]string{
	EventListening:          "listening",
	EventBindFailed:         "bind-failed",
	EventAccepted:           "accepted",
	EventAcceptFailed:       "accept-failed",
	EventRejected:           "rejected",
	EventConnected:          "connected",
	EventConnectDelayed:     "connect-delayed",
	EventConnectRetried:     "connect-retried",
	EventHandshakeSucceeded: "handshake-succeeded",
	EventHandshakeFailed:    "handshake-failed",
	EventDisconnected:       "disconnected",
	EventClosed:             "closed",
}

// String returns the kind's name, as the command-line tool prints it.
func (k EventKind) String() string {
	if int(k) < len(eventKindNames) && eventKindNames[k] != "" {
		return eventKindNames[k]
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is one monitor event: what happened, on which endpoint, with which
// peer, and for closes and failures the typed reason and the error.
type Event struct {
	Kind     EventKind
	Endpoint string // the bound or connected endpoint
	Peer     string // the peer's address, when there is a connection
	Reason   fsm.Reason
	Err      error
}

func (e Event) String() string {
	s := e.Kind.String() + " " + e.Endpoint
	if e.Peer != "" {
		s += " peer=" + e.Peer
	}
	if e.Reason != fsm.ReasonNone {
		s += " reason=" + e.Reason.String()
	}
	if e.Err != nil {
		s += " err=" + strconv.Quote(e.Err.Error())
	}
	return s
}

// ConnError says why a connection closed: the typed reason from the state
// machine, the peer, and the underlying error. errors.Is matches both the
// reason (fsm.ReasonSocketTypeMismatch) and the cause (ErrNotZMTP).
type ConnError struct {
	Reason fsm.Reason
	Peer   string
	Err    error
}

func (e *ConnError) Error() string {
	msg := fmt.Sprintf("zmtp: connection with %s closed: %s", e.Peer, e.Reason.Text())
	if e.Err != nil && !errors.Is(e.Err, e.Reason) {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the reason and the cause.
func (e *ConnError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Reason}
	}
	return []error{e.Reason, e.Err}
}

func peerString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}
