// Package spec holds the extended ZMTP 3.1 connection handshake as plain
// data: states, events, guards, actions, close reasons, timers and the wire
// layout of every command. It is the single source of truth; package gen
// turns it into the state machine in package fsm and into the Markdown
// documents under docs/.
//
// The data has no function fields on purpose: the logic of a guard or an
// action lives in the transport that implements the generated Hooks
// interface, so the spec can only name it. A misspelled name is caught by
// Validate and, after generation, by the Go compiler.
package spec

// Spec is a complete handshake description.
type Spec struct {
	// Name is used in generated headers and document titles.
	Name string
	// Doc introduces the generated document.
	Doc string
	// Roles are the sides of a connection (connect, accept). Each role has
	// its own transition table over the shared states and events.
	Roles []Role
	// States in the order the generated enum and diagrams use.
	States []State
	// Events that the transport fires into a machine.
	Events []Event
	// Guards are yes/no questions a transition asks the transport.
	Guards []Guard
	// Actions are effects a transition asks the transport to perform.
	// Actions cannot fail: they queue bytes or record facts, and the
	// transport reports an I/O failure later as an event.
	Actions []Action
	// Reasons are the typed reasons a connection closes for.
	Reasons []Reason
	// Transitions, in priority order where several share a state and event.
	Transitions []Transition
	// Timers the transport runs on behalf of the machine.
	Timers []Timer
	// Commands documents the wire layout of each ZMTP command the
	// handshake exchanges.
	Commands []Command
	// Sections are prose for the document's end: threat models, notes.
	Sections []Section
}

// Section is a titled paragraph of the generated document.
type Section struct {
	Title string
	Text  string
}

// Role is one side of a connection.
type Role struct {
	Name string
	Doc  string
	// Initial is the state a new machine of this role starts in.
	Initial string
	// CloseTo is the state a closing transition enters when its reason is
	// not fatal (for the connecting side: wait and reconnect).
	CloseTo string
	// FatalTo is the state a closing transition enters when its reason is
	// fatal (libzmq does not reconnect after a protocol error).
	FatalTo string
}

// State is a node of the machine.
type State struct {
	Name string
	Doc  string
	// Final states accept no events; wildcard transitions skip them.
	Final bool
	// Ready marks the state in which the connection carries messages.
	Ready bool
	// Conn marks states in which a TCP connection exists; wildcard
	// transitions ("*") cover exactly the non-final Conn states.
	Conn bool
}

// Event is something the transport observed.
type Event struct {
	Name string
	Doc  string
}

// Guard is a question; the transport answers it.
type Guard struct {
	Name string
	Doc  string
}

// Action is an effect; the transport performs it.
type Action struct {
	Name string
	Doc  string
}

// Reason says why a connection closed.
type Reason struct {
	Name string
	Doc  string
	// Fatal reasons stop the connecting side from reconnecting.
	Fatal bool
}

// Check is a guard that must hold for a transition to proceed. When it
// does not, the connection closes with Reason after running Else.
type Check struct {
	Guard  string
	Reason string
	// Else are actions run before closing, e.g. sending an ERROR command.
	Else []string
}

// Transition is one arm of the machine. Several arms may share Roles, From
// and On; they are tried in spec order and the first whose When guard holds
// (or that has none) is taken. Exactly one of To and Close is set.
type Transition struct {
	// Roles the arm belongs to; empty means every role.
	Roles []string
	// From is a state name, or "*" for every non-final state with a
	// connection (Conn) that has no explicit arm for the same event.
	From string
	// Except lists states a wildcard arm skips.
	Except []string
	On     string
	// When selects this arm among several sharing From and On.
	When string
	// Checks must all hold, in order.
	Checks []Check
	// Do are run, in order, once the checks pass.
	Do []string
	// To is the next state.
	To string
	// Close ends the connection with this reason instead of entering To;
	// the role's CloseTo or FatalTo state is entered.
	Close string
	// Ref cites the RFC section the arm implements.
	Ref string
}

// Timer is a deadline the transport keeps for the machine.
type Timer struct {
	Name string
	Doc  string
	// Default is the libzmq-compatible default, as text ("30s").
	Default string
	// Fires is the event fired when the timer expires.
	Fires string
	// Armed and Disarmed name the states entering which starts and stops
	// the timer.
	Armed    []string
	Disarmed []string
}

// Command is the wire layout of one ZMTP command, for the documents.
type Command struct {
	Name   string
	Doc    string
	Ref    string
	Fields []Field
}

// Field is one part of a command body.
type Field struct {
	Name string
	// Size is the length in bytes as text: "1", "4", "0–16", "n".
	Size string
	Doc  string
}
