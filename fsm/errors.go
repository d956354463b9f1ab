package fsm

import (
	"errors"
	"fmt"
)

// ErrNotHandled matches every *TransitionError with errors.Is.
var ErrNotHandled = errors.New("zmtp: event not handled in this state")

// TransitionError reports an event that the current state does not handle.
// The transport treats it as a protocol violation by the peer, or as a bug
// in the spec when the event came from the local side.
type TransitionError struct {
	Role  Role
	State State
	Event Event
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("zmtp: %s machine in state %s does not handle event %s", e.Role, e.State, e.Event)
}

// Is makes errors.Is(err, ErrNotHandled) true.
func (e *TransitionError) Is(target error) bool { return target == ErrNotHandled }

// Error makes a Reason an error, so a closing Fire can return it without
// allocating and callers can test it with errors.Is(err, ReasonPeerClosed).
func (r Reason) Error() string { return "zmtp: connection closed: " + r.Text() }
