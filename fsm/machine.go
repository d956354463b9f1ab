// Package fsm is the connection state machine of the ZMTP handshake,
// generated from package spec (see docs/handshake.md for the diagrams and
// tables). It does no I/O and reads no clock: the transport fires events
// into a Machine and implements its Hooks, so every transition can be
// tested in memory, exhaustively.
//
// A Machine is owned by one goroutine and has no lock. Fire does not
// allocate on any path that the spec allows.
package fsm

// Machine is one connection's (or, on the connecting side, one endpoint's)
// handshake state machine. The zero Machine is not usable; call New.
type Machine struct {
	hooks  Hooks
	role   Role
	state  State
	reason Reason
}

// New returns a machine of role in its initial state, driving hooks.
func New(role Role, hooks Hooks) Machine {
	return Machine{hooks: hooks, role: role, state: initial[role]}
}

// Role returns the machine's role.
func (m *Machine) Role() Role { return m.role }

// State returns the current state.
func (m *Machine) State() State { return m.state }

// Reason returns why the machine last closed, or ReasonNone. A connecting
// machine keeps the reason of its last close while it waits in backoff.
func (m *Machine) Reason() Reason { return m.reason }

// Handles reports whether Fire(e) is allowed in the current state.
func (m *Machine) Handles(e Event) bool {
	if e >= NumEvents {
		return false
	}
	c := table[m.role][m.state][e]
	return c.lo < c.hi
}

// Fire delivers e. It returns nil when the machine moved to another state
// without closing, the Reason (which is an error) when the transition
// closed the connection, and a *TransitionError when the current state
// does not handle e; then the machine is unchanged.
//
// Within the cell for (role, state, e) the first arm whose When guard holds
// is taken; its checks run in order, and the first that fails runs its Else
// actions and closes with its reason. Otherwise the arm's actions run and
// the machine enters its target state, or closes with its reason.
func (m *Machine) Fire(e Event) error {
	if e >= NumEvents {
		return &TransitionError{Role: m.role, State: m.state, Event: e}
	}
	c := table[m.role][m.state][e]
	for i := c.lo; i < c.hi; i++ {
		a := &arms[i]
		if !a.when.eval(m.hooks) {
			continue
		}
		for _, ck := range checks[a.checkLo:a.checkHi] {
			if !ck.guard.eval(m.hooks) {
				m.run(ck.elseLo, ck.elseHi)
				return m.close(ck.reason)
			}
		}
		m.run(a.doLo, a.doHi)
		if a.close != ReasonNone {
			return m.close(a.close)
		}
		m.state = a.to
		return nil
	}
	return &TransitionError{Role: m.role, State: m.state, Event: e}
}

func (m *Machine) run(lo, hi uint8) {
	for _, id := range actions[lo:hi] {
		id.run(m.hooks)
	}
}

func (m *Machine) close(r Reason) error {
	m.reason = r
	if r.Fatal() {
		m.state = fatalTo[m.role]
	} else {
		m.state = closeTo[m.role]
	}
	return r
}
