package spec

import (
	"errors"
	"fmt"
	"slices"
)

// Arm is a transition resolved for one role and one source state: wildcards
// expanded, and a closing arm's target state filled in from the role.
type Arm struct {
	Role  string
	From  string
	On    string
	When  string
	Check []Check
	Do    []string
	// To is the state entered: the transition's To, or for a closing arm
	// the role's CloseTo or FatalTo state.
	To string
	// Close is the reason, for a closing arm.
	Close string
	Ref   string
	// Wildcard tells that the arm came from a From "*" transition.
	Wildcard bool
}

// Expanded is a validated spec with every role's arms resolved.
type Expanded struct {
	*Spec
	// Arms by role name, grouped by (From, On) in state order, then event
	// order, then spec order within a group.
	Arms map[string][]Arm
}

// Cell returns the arms of role that handle event on in state from, in
// the order they are tried.
func (x *Expanded) Cell(role, from, on string) []Arm {
	var out []Arm
	for _, a := range x.Arms[role] {
		if a.From == from && a.On == on {
			out = append(out, a)
		}
	}
	return out
}

// State returns the named state.
func (s *Spec) State(name string) (State, bool) {
	i := slices.IndexFunc(s.States, func(x State) bool { return x.Name == name })
	if i < 0 {
		return State{}, false
	}
	return s.States[i], true
}

// Reason returns the named reason.
func (s *Spec) Reason(name string) (Reason, bool) {
	i := slices.IndexFunc(s.Reasons, func(x Reason) bool { return x.Name == name })
	if i < 0 {
		return Reason{}, false
	}
	return s.Reasons[i], true
}

// Expand validates s and resolves every role's arms. The error lists every
// problem found, not just the first.
func Expand(s *Spec) (*Expanded, error) {
	v := validator{s: s}
	v.check()
	if len(v.errs) > 0 {
		return nil, errors.Join(v.errs...)
	}
	x := &Expanded{Spec: s, Arms: map[string][]Arm{}}
	for _, r := range s.Roles {
		x.Arms[r.Name] = expandRole(s, r)
	}
	v.checkCells(x)
	if len(v.errs) > 0 {
		return nil, errors.Join(v.errs...)
	}
	return x, nil
}

func hasRole(t Transition, role string) bool {
	return len(t.Roles) == 0 || slices.Contains(t.Roles, role)
}

// expandRole resolves a role's arms. Every arm, explicit or wildcard,
// starts in a state the role can reach, so a state of the other role does
// not gain arms here; reachability and expansion are iterated to a fixed point since
// wildcard arms can reach further states.
func expandRole(s *Spec, r Role) []Arm {
	explicit := map[[2]string]bool{}
	for _, t := range s.Transitions {
		if hasRole(t, r.Name) && t.From != "*" {
			explicit[[2]string{t.From, t.On}] = true
		}
	}
	reach := map[string]bool{r.Initial: true}
	for {
		arms := armsFor(s, r, explicit, reach)
		next := reachable(s, r.Name, r.Initial, arms)
		if len(next) == len(reach) {
			// Arms from states the role never reaches (the other role's
			// states) are not part of its machine.
			return slices.DeleteFunc(arms, func(a Arm) bool { return !reach[a.From] })
		}
		reach = next
	}
}

func armsFor(s *Spec, r Role, explicit map[[2]string]bool, reach map[string]bool) []Arm {
	var arms []Arm
	for _, st := range s.States {
		for _, ev := range s.Events {
			for _, t := range s.Transitions {
				if !hasRole(t, r.Name) || t.On != ev.Name {
					continue
				}
				wild := t.From == "*"
				switch {
				case wild && (st.Final || !st.Conn || !reach[st.Name] || explicit[[2]string{st.Name, ev.Name}] || slices.Contains(t.Except, st.Name)):
					continue
				case !wild && t.From != st.Name:
					continue
				}
				to := t.To
				if t.Close != "" {
					to = closeTarget(s, r.Name, t.Close)
				}
				arms = append(arms, Arm{Role: r.Name, From: st.Name, On: ev.Name, When: t.When,
					Check: t.Checks, Do: t.Do, To: to, Close: t.Close, Ref: t.Ref, Wildcard: wild})
			}
		}
	}
	return arms
}

type validator struct {
	s    *Spec
	errs []error
}

func (v *validator) errorf(format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("spec: "+format, args...))
}

func (v *validator) unique(kind string, xs []string) map[string]bool {
	m := map[string]bool{}
	for _, n := range xs {
		if n == "" || !isIdent(n) {
			v.errorf("%s name %q is not a Go identifier", kind, n)
		}
		if m[n] {
			v.errorf("%s %q declared twice", kind, n)
		}
		m[n] = true
	}
	return m
}

func isIdent(s string) bool {
	for i, c := range s {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c == '_':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != "" && s[0] >= 'A' && s[0] <= 'Z'
}

func collect[T any](xs []T, name func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = name(x)
	}
	return out
}

func (v *validator) check() {
	s := v.s
	states := v.unique("state", collect(s.States, func(x State) string { return x.Name }))
	events := v.unique("event", collect(s.Events, func(x Event) string { return x.Name }))
	guards := v.unique("guard", collect(s.Guards, func(x Guard) string { return x.Name }))
	actions := v.unique("action", collect(s.Actions, func(x Action) string { return x.Name }))
	reasons := v.unique("reason", collect(s.Reasons, func(x Reason) string { return x.Name }))
	roles := v.unique("role", collect(s.Roles, func(x Role) string { return x.Name }))
	v.unique("timer", collect(s.Timers, func(x Timer) string { return x.Name }))
	if len(s.States) > 250 || len(s.Events) > 250 || len(s.Reasons) > 250 {
		v.errorf("more than 250 states, events or reasons do not fit the uint8 enums")
	}
	for _, r := range s.Roles {
		for _, n := range []string{r.Initial, r.CloseTo, r.FatalTo} {
			if !states[n] {
				v.errorf("role %s names unknown state %q", r.Name, n)
			}
		}
	}
	used := map[string]bool{}
	for i, t := range s.Transitions {
		at := fmt.Sprintf("transition %d (%s on %s)", i, t.From, t.On)
		for _, r := range t.Roles {
			if !roles[r] {
				v.errorf("%s: unknown role %q", at, r)
			}
		}
		if t.From != "*" && !states[t.From] {
			v.errorf("%s: unknown state %q", at, t.From)
		}
		if st, ok := s.State(t.From); ok && st.Final {
			v.errorf("%s: final state %s cannot have transitions", at, t.From)
		}
		if !events[t.On] {
			v.errorf("%s: unknown event %q", at, t.On)
		}
		if len(t.Except) > 0 && t.From != "*" {
			v.errorf("%s: Except is for wildcard arms only", at)
		}
		for _, st := range t.Except {
			if !states[st] {
				v.errorf("%s: Except names unknown state %q", at, st)
			}
		}
		if (t.To == "") == (t.Close == "") {
			v.errorf("%s: exactly one of To and Close must be set", at)
		}
		if t.To != "" && !states[t.To] {
			v.errorf("%s: unknown target state %q", at, t.To)
		}
		if t.Close != "" && !reasons[t.Close] {
			v.errorf("%s: unknown reason %q", at, t.Close)
		}
		if t.When != "" {
			used[t.When] = true
			if !guards[t.When] {
				v.errorf("%s: unknown guard %q", at, t.When)
			}
		}
		for _, c := range t.Checks {
			used[c.Guard] = true
			if !guards[c.Guard] {
				v.errorf("%s: unknown guard %q", at, c.Guard)
			}
			if !reasons[c.Reason] {
				v.errorf("%s: unknown reason %q", at, c.Reason)
			}
			for _, a := range c.Else {
				used[a] = true
				if !actions[a] {
					v.errorf("%s: unknown action %q", at, a)
				}
			}
		}
		for _, a := range t.Do {
			used[a] = true
			if !actions[a] {
				v.errorf("%s: unknown action %q", at, a)
			}
		}
	}
	for n := range guards {
		if !used[n] {
			v.errorf("guard %s is never used", n)
		}
	}
	for n := range actions {
		if !used[n] {
			v.errorf("action %s is never used", n)
		}
	}
	for _, tm := range s.Timers {
		if !events[tm.Fires] {
			v.errorf("timer %s fires unknown event %q", tm.Name, tm.Fires)
		}
		for _, st := range append(slices.Clone(tm.Armed), tm.Disarmed...) {
			if !states[st] {
				v.errorf("timer %s names unknown state %q", tm.Name, st)
			}
		}
	}
}

// checkCells rejects ambiguous cells: within one (role, state, event) only
// the last arm may lack a When guard, since later arms could never be taken.
func (v *validator) checkCells(x *Expanded) {
	for _, r := range x.Roles {
		arms := x.Arms[r.Name]
		for i := 0; i < len(arms); i++ {
			a := arms[i]
			if a.When == "" && i+1 < len(arms) && arms[i+1].From == a.From && arms[i+1].On == a.On {
				v.errorf("role %s: state %s on %s has an arm after an unguarded one; it can never be taken", r.Name, a.From, a.On)
			}
		}
		if len(arms) > 250 {
			v.errorf("role %s has more than 250 arms", r.Name)
		}
		// Every non-final state a role can reach must handle something.
		reach := x.Reachable(r.Name)
		for _, st := range x.States {
			if !reach[st.Name] || st.Final {
				continue
			}
			if !slices.ContainsFunc(arms, func(a Arm) bool { return a.From == st.Name }) {
				v.errorf("role %s: state %s is reachable but handles no event", r.Name, st.Name)
			}
		}
	}
}

// Reachable returns the states a role can reach from its initial state.
func (x *Expanded) Reachable(role string) map[string]bool {
	for _, r := range x.Roles {
		if r.Name == role {
			return reachable(x.Spec, role, r.Initial, x.Arms[role])
		}
	}
	return nil
}

func reachable(s *Spec, role, init string, arms []Arm) map[string]bool {
	seen := map[string]bool{init: true}
	queue := []string{init}
	for len(queue) > 0 {
		st := queue[0]
		queue = queue[1:]
		for _, a := range arms {
			if a.From != st {
				continue
			}
			next := []string{a.To}
			for _, c := range a.Check {
				next = append(next, closeTarget(s, role, c.Reason))
			}
			for _, n := range next {
				if !seen[n] {
					seen[n] = true
					queue = append(queue, n)
				}
			}
		}
	}
	return seen
}

// CloseTarget is the state role enters when it closes for reason.
func (x *Expanded) CloseTarget(role, reason string) string { return closeTarget(x.Spec, role, reason) }

func closeTarget(s *Spec, role, reason string) string {
	for _, r := range s.Roles {
		if r.Name != role {
			continue
		}
		if rs, _ := s.Reason(reason); rs.Fatal {
			return r.FatalTo
		}
		return r.CloseTo
	}
	return ""
}
