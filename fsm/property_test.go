package fsm

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	looplab "github.com/looplab/fsm"
	"pgregory.net/rapid"

	"github.com/zmtpgo/zmtp/spec"
)

// The properties here fire random event sequences, with random guard
// answers, at a Machine and check it after every step against three
// things: rules every connection must obey (readyGuards), the spec's
// vocabulary (close targets, the handled-event matrix), and an independent
// interpreter of the spec's arms driving a github.com/looplab/fsm machine.

// readyGuards are the checks a connection must pass, each answering yes,
// before it may carry messages. The list is written here on purpose rather
// than read from the spec: a spec that drops a check must fail.
var readyGuards = map[Role][]string{
	RoleAccept:  {"ACLAllows", "PeerLimitPerIPAllows", "HandshakeLimitPerIPAllows", "PeerLimitAllows", "HandshakeLimitAllows", "SignatureValid", "VersionSupported", "MechanismMatches", "SocketTypeCompatible", "IdentityValid"},
	RoleConnect: {"SignatureValid", "VersionSupported", "MechanismMatches", "SocketTypeCompatible", "IdentityValid"},
}

// mechanismGuards are the checks a mechanism adds to the path to Ready,
// keyed by the When guard that chose it: a server never reaches Ready
// without a valid proof or an accepted login, a TOKEN-HMAC client never
// without the server's proof.
var mechanismGuards = map[string][]string{
	"MechanismIsNull":        nil,
	"MechanismIsPlainClient": nil,
	"MechanismIsPlainServer": {"CredentialsAccepted"},
	"MechanismIsTokenClient": {"ServerProofValid"},
	"MechanismIsTokenServer": {"KeyKnown", "ClientProofValid", "Authorized"},
}

var expanded = func() *spec.Expanded {
	x, err := spec.Expand(&spec.Handshake)
	if err != nil {
		panic(err)
	}
	return x
}()

// call is one hook call a machine made: a guard and its answer, or an
// action.
type call struct {
	name  string
	guard bool
	ok    bool
}

// recHooks answers each guard from ask and records every call.
type recHooks struct {
	ask func(guard string) bool
	log []call
}

func (h *recHooks) guard(name string) bool {
	ok := h.ask(name)
	h.log = append(h.log, call{name: name, guard: true, ok: ok})
	return ok
}

func (h *recHooks) action(name string) { h.log = append(h.log, call{name: name}) }

func (h *recHooks) ACLAllows() bool            { return h.guard("ACLAllows") }
func (h *recHooks) PeerLimitAllows() bool      { return h.guard("PeerLimitAllows") }
func (h *recHooks) PeerLimitPerIPAllows() bool { return h.guard("PeerLimitPerIPAllows") }
func (h *recHooks) HandshakeLimitAllows() bool { return h.guard("HandshakeLimitAllows") }
func (h *recHooks) HandshakeLimitPerIPAllows() bool {
	return h.guard("HandshakeLimitPerIPAllows")
}
func (h *recHooks) SignatureValid() bool       { return h.guard("SignatureValid") }
func (h *recHooks) VersionSupported() bool     { return h.guard("VersionSupported") }
func (h *recHooks) MechanismMatches() bool     { return h.guard("MechanismMatches") }
func (h *recHooks) MechanismIsNull() bool      { return h.guard("MechanismIsNull") }
func (h *recHooks) SocketTypeCompatible() bool { return h.guard("SocketTypeCompatible") }
func (h *recHooks) IdentityValid() bool        { return h.guard("IdentityValid") }
func (h *recHooks) MechanismIsPlainClient() bool {
	return h.guard("MechanismIsPlainClient")
}
func (h *recHooks) MechanismIsPlainServer() bool {
	return h.guard("MechanismIsPlainServer")
}
func (h *recHooks) MechanismIsTokenClient() bool {
	return h.guard("MechanismIsTokenClient")
}
func (h *recHooks) MechanismIsTokenServer() bool {
	return h.guard("MechanismIsTokenServer")
}
func (h *recHooks) CredentialsAccepted() bool { return h.guard("CredentialsAccepted") }
func (h *recHooks) KeyKnown() bool            { return h.guard("KeyKnown") }
func (h *recHooks) ClientProofValid() bool    { return h.guard("ClientProofValid") }
func (h *recHooks) Authorized() bool          { return h.guard("Authorized") }
func (h *recHooks) ServerProofValid() bool    { return h.guard("ServerProofValid") }
func (h *recHooks) SendHello()                { h.action("SendHello") }
func (h *recHooks) SendWelcome()              { h.action("SendWelcome") }
func (h *recHooks) SendInitiate()             { h.action("SendInitiate") }
func (h *recHooks) SendSaltRequest()          { h.action("SendSaltRequest") }
func (h *recHooks) SendSalt()                 { h.action("SendSalt") }
func (h *recHooks) SendClientProof()          { h.action("SendClientProof") }
func (h *recHooks) SendServerProof()          { h.action("SendServerProof") }
func (h *recHooks) StartDial()                { h.action("StartDial") }
func (h *recHooks) SendGreeting()             { h.action("SendGreeting") }
func (h *recHooks) SendGreetingRest()         { h.action("SendGreetingRest") }
func (h *recHooks) SendReady()                { h.action("SendReady") }
func (h *recHooks) SendError()                { h.action("SendError") }
func (h *recHooks) HandshakeSucceeded()       { h.action("HandshakeSucceeded") }

func split(calls []call) (guards []call, acts []string) {
	for _, c := range calls {
		if c.guard {
			guards = append(guards, c)
		} else {
			acts = append(acts, c.name)
		}
	}
	return guards, acts
}

// harness drives one machine and checks every step.
type harness struct {
	x    *spec.Expanded
	role Role
	m    Machine
	h    *recHooks
	// connFrom indexes h.log where the current connection began: at New
	// for the accepting side, at the last Connected for the connecting
	// side. A close moves it past the closed connection's calls.
	connFrom int
	oracle   *oracle // nil: no differential check
	readies  int     // times a Ready state was entered
}

func newHarness(role Role, ask func(string) bool, withOracle bool) *harness {
	hs := &harness{x: expanded, role: role, h: &recHooks{ask: ask}}
	hs.m = New(role, hs.h)
	if withOracle {
		hs.oracle = newOracle(expanded, role.String())
	}
	return hs
}

// step fires e and reports the first rule the step breaks.
func (hs *harness) step(e Event) error {
	pre, preReason := hs.m.State(), hs.m.Reason()
	mark := len(hs.h.log)
	err := hs.m.Fire(e)
	post := hs.m.State()
	calls := hs.h.log[mark:]
	_, acts := split(calls)
	var te *TransitionError
	var r Reason
	switch {
	case errors.As(err, &te):
		if post != pre || hs.m.Reason() != preReason {
			return fmt.Errorf("rejected event moved the machine from %s/%s to %s/%s", pre, preReason.String(), post, hs.m.Reason().String())
		}
		if *te != (TransitionError{Role: hs.role, State: pre, Event: e}) || !errors.Is(err, ErrNotHandled) {
			return fmt.Errorf("transition error %+v does not describe the step", *te)
		}
		if len(acts) > 0 {
			return fmt.Errorf("rejected event ran actions %v", acts)
		}
	case errors.As(err, &r):
		if pre.Final() {
			return fmt.Errorf("final state %s closed again with %s", pre, r.String())
		}
		sr, ok := hs.x.Reason(r.String())
		if !ok || sr.Fatal != r.Fatal() {
			return fmt.Errorf("reason %s: Fatal() = %v, spec says %v (known %v)", r.String(), r.Fatal(), sr.Fatal, ok)
		}
		if want := hs.x.CloseTarget(hs.role.String(), r.String()); post.String() != want {
			return fmt.Errorf("closed with %s (fatal %v) into %s, want %s", r.String(), r.Fatal(), post, want)
		}
		if hs.m.Reason() != r || !errors.Is(err, r) {
			return fmt.Errorf("Fire returned %v but Reason() is %s", err, hs.m.Reason().String())
		}
		hs.connFrom = len(hs.h.log)
	case err == nil:
		if pre.Final() {
			return fmt.Errorf("final state %s moved to %s", pre, post)
		}
		if hs.m.Reason() != preReason {
			return fmt.Errorf("a non-closing step changed Reason from %s to %s", preReason.String(), hs.m.Reason().String())
		}
		if e == EventConnected {
			hs.connFrom = mark
		}
	default:
		return fmt.Errorf("Fire returned %T %v, want nil, a Reason or a *TransitionError", err, err)
	}
	if post.Ready() && !pre.Ready() {
		hs.readies++
		if err := hs.checkReadyPath(post); err != nil {
			return err
		}
	}
	if hs.oracle != nil {
		if err := hs.oracle.step(pre, e, err, calls, post); err != nil {
			return fmt.Errorf("oracle: %w", err)
		}
	}
	return hs.invariant()
}

// checkReadyPath requires every guard of readyGuards to have been asked,
// and never to have answered no, since the connection began.
func (hs *harness) checkReadyPath(post State) error {
	required := slices.Clone(readyGuards[hs.role])
	chosen := ""
	for _, c := range hs.h.log[hs.connFrom:] {
		if _, ok := mechanismGuards[c.name]; ok && c.guard && c.ok && chosen == "" {
			chosen = c.name
		}
	}
	if chosen == "" {
		return fmt.Errorf("entered %s without a mechanism guard saying yes", post)
	}
	required = append(required, mechanismGuards[chosen]...)
	asked := map[string]bool{}
	for _, c := range hs.h.log[hs.connFrom:] {
		if !c.guard || !slices.Contains(required, c.name) {
			continue
		}
		if !c.ok {
			return fmt.Errorf("entered %s although %s answered no in this connection", post, c.name)
		}
		asked[c.name] = true
	}
	var missing []string
	for _, g := range required {
		if !asked[g] {
			missing = append(missing, g)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("entered %s without asking %s in this connection", post, strings.Join(missing, ", "))
	}
	return nil
}

// invariant holds between steps: the machine is in a state its role can
// reach, and it handles exactly the events the spec gives it there.
func (hs *harness) invariant() error {
	st := hs.m.State()
	if hs.m.Role() != hs.role {
		return fmt.Errorf("role changed to %s", hs.m.Role())
	}
	if !hs.x.Reachable(hs.role.String())[st.String()] {
		return fmt.Errorf("state %s is not reachable for role %s in the spec", st, hs.role)
	}
	for e := Event(0); e <= NumEvents; e++ {
		want := e < NumEvents && len(hs.x.Cell(hs.role.String(), st.String(), e.String())) > 0
		if hs.m.Handles(e) != want {
			return fmt.Errorf("Handles(%s) in %s = %v, the spec says %v", e, st, !want, want)
		}
	}
	if hs.oracle != nil && hs.oracle.lf.Current() != st.String() {
		return fmt.Errorf("looplab machine in %s, ours in %s", hs.oracle.lf.Current(), st)
	}
	return nil
}

// advancing returns the events that move the current state on without
// closing, so random runs get through the handshake often; all events
// where there are none.
func (hs *harness) advancing() []Event {
	var out []Event
	for e := Event(0); e < NumEvents; e++ {
		if slices.ContainsFunc(hs.x.Cell(hs.role.String(), hs.m.State().String(), e.String()),
			func(a spec.Arm) bool { return a.Close == "" }) {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		for e := Event(0); e < NumEvents; e++ {
			out = append(out, e)
		}
	}
	return out
}

// oracle interprets the spec's expanded arms itself and keeps its state in
// a looplab machine whose events name each outcome of an arm:
// "<Event>[?<When>]" for the arm's way to its To state and
// "<Event>[?<When>]!<Reason>" for a failed check or a closing arm.
type oracle struct {
	x    *spec.Expanded
	role string
	lf   *looplab.FSM
}

func outcome(a spec.Arm, reason string) string {
	name := a.On
	if a.When != "" {
		name += "?" + a.When
	}
	if reason != "" {
		name += "!" + reason
	}
	return name
}

func newOracle(x *spec.Expanded, role string) *oracle {
	var evs []looplab.EventDesc
	for _, a := range x.Arms[role] {
		for _, c := range a.Check {
			evs = append(evs, looplab.EventDesc{Name: outcome(a, c.Reason), Src: []string{a.From}, Dst: x.CloseTarget(role, c.Reason)})
		}
		evs = append(evs, looplab.EventDesc{Name: outcome(a, a.Close), Src: []string{a.From}, Dst: a.To})
	}
	var initial string
	for _, r := range x.Roles {
		if r.Name == role {
			initial = r.Initial
		}
	}
	return &oracle{x: x, role: role, lf: looplab.NewFSM(initial, evs, nil)}
}

// prediction is what the spec says a step does.
type prediction struct {
	event  string   // looplab event to fire
	reject bool     // no arm applies
	acts   []string // actions run
	reason string   // close reason, if the step closes
}

// predict walks the arms of (state, e) as the spec describes them: When
// guards in order, then the chosen arm's checks in order, taking each answer
// from the guards the machine asked, which must be the same guards in the
// same order.
func (o *oracle) predict(state string, e Event, guards []call) (prediction, error) {
	i := 0
	ask := func(g string) (bool, error) {
		if i >= len(guards) {
			return false, fmt.Errorf("spec asks %s, the machine asked no more guards", g)
		}
		c := guards[i]
		i++
		if c.name != g {
			return false, fmt.Errorf("spec asks %s, the machine asked %s", g, c.name)
		}
		return c.ok, nil
	}
	p, err := func() (prediction, error) {
		if e >= NumEvents {
			return prediction{event: e.String(), reject: true}, nil
		}
		for _, a := range o.x.Cell(o.role, state, e.String()) {
			if a.When != "" {
				ok, err := ask(a.When)
				if err != nil || !ok {
					if err != nil {
						return prediction{}, err
					}
					continue
				}
			}
			for _, c := range a.Check {
				ok, err := ask(c.Guard)
				if err != nil {
					return prediction{}, err
				}
				if !ok {
					return prediction{event: outcome(a, c.Reason), acts: c.Else, reason: c.Reason}, nil
				}
			}
			return prediction{event: outcome(a, a.Close), acts: a.Do, reason: a.Close}, nil
		}
		return prediction{event: e.String(), reject: true}, nil
	}()
	if err == nil && i < len(guards) {
		err = fmt.Errorf("the machine asked %d guards, the spec %d", len(guards), i)
	}
	return p, err
}

// step replays one Fire of the machine under test on the oracle and
// compares: rejection, next state, actions and close reason.
func (o *oracle) step(pre State, e Event, err error, calls []call, post State) error {
	if o.lf.Current() != pre.String() {
		return fmt.Errorf("before %s: looplab in %s, ours in %s", e, o.lf.Current(), pre)
	}
	guards, acts := split(calls)
	p, perr := o.predict(pre.String(), e, guards)
	if perr != nil {
		return fmt.Errorf("%s in %s: %w", e, pre, perr)
	}
	lerr := o.lf.Event(context.Background(), p.event)
	var invalid looplab.InvalidEventError
	var unknown looplab.UnknownEventError
	var same looplab.NoTransitionError
	lrejected := errors.As(lerr, &invalid) || errors.As(lerr, &unknown)
	if lerr != nil && !lrejected && !errors.As(lerr, &same) {
		return fmt.Errorf("looplab %s: %v", p.event, lerr)
	}
	var te *TransitionError
	if rejected := errors.As(err, &te); rejected != lrejected || lrejected != p.reject {
		return fmt.Errorf("%s in %s: machine rejected=%v (%v), looplab rejected=%v (%v), spec rejects=%v",
			e, pre, rejected, err, lrejected, lerr, p.reject)
	}
	if o.lf.Current() != post.String() {
		return fmt.Errorf("%s in %s: looplab (%s) entered %s, ours %s", e, pre, p.event, o.lf.Current(), post)
	}
	if !slices.Equal(p.acts, acts) {
		return fmt.Errorf("%s in %s: actions %v, spec says %v", e, pre, acts, p.acts)
	}
	var r Reason
	switch {
	case p.reason == "" && errors.As(err, &r):
		return fmt.Errorf("%s in %s: closed with %s, spec says no close", e, pre, r.String())
	case p.reason != "" && (!errors.As(err, &r) || r.String() != p.reason):
		return fmt.Errorf("%s in %s: returned %v, spec closes with %s", e, pre, err, p.reason)
	}
	return nil
}

// allEvents are every event and one out of range, which every state rejects.
var allEvents = func() []Event {
	var out []Event
	for e := Event(0); e <= NumEvents; e++ {
		out = append(out, e)
	}
	return out
}()

var byName = func() map[string]Event {
	m := map[string]Event{}
	for _, e := range allEvents {
		m[e.String()] = e
	}
	return m
}()

func names(evs []Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.String()
	}
	return out
}

// answers is how guards answer in random runs: mostly yes, so that runs get
// through the handshake, and no often enough to take every failure edge.
// It shrinks towards yes.
var answers = rapid.SampledFrom([]bool{true, true, true, true, true, true, true, false})

// machineProp is the property: a random role, random events (mostly ones
// that advance the handshake, some from all events and one out of range)
// and random guard answers; every step checked by harness.step.
func machineProp(withOracle bool, readies *int) func(*rapid.T) {
	return func(t *rapid.T) {
		role := map[string]Role{"Connect": RoleConnect, "Accept": RoleAccept}[rapid.SampledFrom([]string{"Connect", "Accept"}).Draw(t, "role")]
		hs := newHarness(role, func(g string) bool { return answers.Draw(t, g) }, withOracle)
		fire := func(t *rapid.T, e Event) {
			pre := hs.m.State()
			if err := hs.step(e); err != nil {
				t.Fatalf("%s machine, Fire(%s) in %s: %v", role, e, pre, err)
			}
		}
		// Events are drawn by name so that a failing run reads as a script.
		draw := func(t *rapid.T, evs []Event) Event {
			return byName[rapid.SampledFrom(names(evs)).Draw(t, "event")]
		}
		t.Repeat(map[string]func(*rapid.T){
			"Advance": func(t *rapid.T) { fire(t, draw(t, hs.advancing())) },
			"Any":     func(t *rapid.T) { fire(t, draw(t, allEvents)) },
			"": func(t *rapid.T) {
				if err := hs.invariant(); err != nil {
					t.Fatal(err)
				}
			},
		})
		if readies != nil {
			*readies += hs.readies
		}
	}
}

// TestPropertyMachine checks random runs: a Ready state is entered only
// after every guard of readyGuards said yes in the same connection; final
// states never change; a closing Fire returns its Reason and enters the
// role's close target for Reason.Fatal(); a *TransitionError leaves the
// machine unchanged and runs no action; Handles agrees with the spec.
func TestPropertyMachine(t *testing.T) {
	readies := 0
	rapid.Check(t, machineProp(false, &readies))
	if readies == 0 && !testing.Short() {
		t.Error("no random run reached a Ready state: the Ready property was never exercised")
	}
	t.Logf("Ready entered %d times", readies)
}

// TestPropertyOracle runs the same random sequences against an
// independent interpretation of the spec on a looplab/fsm machine: both
// reject the same events and agree on every state, action and reason.
func TestPropertyOracle(t *testing.T) {
	rapid.Check(t, machineProp(true, nil))
}

// FuzzMachineOracle is TestPropertyOracle as a fuzz target:
// go test ./fsm -fuzz FuzzMachineOracle.
// rapid reads its draws from the input 8 bytes at a time and skips an input
// that runs out, so the seeds are long runs of pseudo-random bytes.
func FuzzMachineOracle(f *testing.F) {
	for seed := range uint64(4) {
		r := rand.New(rand.NewPCG(seed, 0x7a6d7470))
		b := make([]byte, 8<<10)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		f.Add(b)
	}
	f.Fuzz(rapid.MakeFuzz(machineProp(true, nil)))
}

// TestPropertyCatchesMutants breaks the generated tables the way a wrong
// spec or generator would and checks that the harness notices on a plain
// handshake: the properties above are not vacuous.
func TestPropertyCatchesMutants(t *testing.T) {
	armOf := func(r Role, s State, e Event) *arm { return &arms[table[r][s][e].lo] }
	acceptPath := []Event{EventStart, EventSignatureReceived, EventGreetingReceived, EventReadyReceived}
	connectPath := []Event{EventDial, EventConnected, EventSignatureReceived, EventGreetingReceived, EventReadyReceived}
	for _, tc := range []struct {
		name   string
		mutate func()
		role   Role
		path   []Event
		deny   string // a guard that answers no
		oracle bool
		want   string
	}{
		{"accept skips IdentityValid", func() { armOf(RoleAccept, StateNullReady, EventReadyReceived).checkHi-- },
			RoleAccept, acceptPath, "", false, "without asking IdentityValid"},
		{"accept skips the ACL gate", func() { armOf(RoleAccept, StateAccepted, EventStart).checkLo++ },
			RoleAccept, acceptPath, "", false, "without asking ACLAllows"},
		{"connect skips the greeting checks", func() {
			a := armOf(RoleConnect, StateGreeting, EventSignatureReceived)
			a.checkLo = a.checkHi
		}, RoleConnect, connectPath, "", false, "without asking SignatureValid, VersionSupported"},
		{"fatal reason treated as non-fatal", func() { reasonFatal[ReasonNotZMTP] = false },
			RoleConnect, connectPath, "SignatureValid", false, "reason NotZMTP: Fatal() = false, spec says true"},
		{"fatal close enters the wrong state", func() { fatalTo[RoleConnect] = StateBackoff },
			RoleConnect, connectPath, "SignatureValid", false, "into Backoff, want Stopped"},
		{"state handles an event the spec does not", func() { table[RoleAccept][StateReady][EventStart] = table[RoleAccept][StateAccepted][EventStart] },
			RoleAccept, acceptPath, "", false, "Handles(Start) in Ready"},
		{"oracle: Ready without HandshakeSucceeded", func() {
			a := armOf(RoleConnect, StateNullPeerFirst, EventReadyReceived)
			a.doHi = a.doLo
		}, RoleConnect, connectPath, "", true, "actions [], spec says [SendReady HandshakeSucceeded]"},
		{"oracle: wrong target", func() { armOf(RoleConnect, StateGreeting, EventSignatureReceived).to = StateNullReady },
			RoleConnect, connectPath, "", true, "entered GreetingBody, ours NullReady"},
		{"oracle: guards asked out of order", func() {
			a := armOf(RoleAccept, StateAccepted, EventStart)
			checks[a.checkLo], checks[a.checkLo+1] = checks[a.checkLo+1], checks[a.checkLo]
		}, RoleAccept, acceptPath, "", true, "spec asks ACLAllows, the machine asked PeerLimitPerIPAllows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			savedArms, savedChecks, savedTable, savedFatal, savedFatalTo := arms, checks, table, reasonFatal, fatalTo
			defer func() {
				arms, checks, table, reasonFatal, fatalTo = savedArms, savedChecks, savedTable, savedFatal, savedFatalTo
			}()
			tc.mutate()
			hs := newHarness(tc.role, func(g string) bool { return g != tc.deny }, tc.oracle)
			var err error
			for _, e := range tc.path {
				if err = hs.step(e); err != nil {
					break
				}
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("harness said %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestHarnessPassesHappyPaths runs the same harness on unmutated tables,
// so TestPropertyCatchesMutants cannot pass because the harness always
// fails.
func TestHarnessPassesHappyPaths(t *testing.T) {
	for _, role := range []Role{RoleConnect, RoleAccept} {
		hs := newHarness(role, func(string) bool { return true }, true)
		path := []Event{EventStart, EventSignatureReceived, EventGreetingReceived, EventReadyReceived, EventPeerClosed}
		if role == RoleConnect {
			path = append([]Event{EventDial, EventConnected}, path[1:]...)
			path = append(path, EventRetryElapsed, EventConnected, EventClose, EventDial)
		}
		for _, e := range path {
			if err := hs.step(e); err != nil {
				t.Fatalf("%s: Fire(%s): %v", role, e, err)
			}
		}
		if hs.readies != 1 {
			t.Errorf("%s: entered Ready %d times, want 1", role, hs.readies)
		}
	}
}
