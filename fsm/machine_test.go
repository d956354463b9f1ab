package fsm

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// okHooks answers every guard with yes, except the ones named in deny, and
// counts the actions it is asked to run.
type okHooks struct {
	deny map[string]bool
	ran  []string
	mech string // "", or the mechanism arm to take: PlainClient, TokenServer, …
}

func (h *okHooks) g(name string) bool    { return !h.deny[name] }
func (h *okHooks) ACLAllows() bool       { return h.g("ACLAllows") }
func (h *okHooks) PeerLimitAllows() bool { return h.g("PeerLimitAllows") }
func (h *okHooks) PeerLimitPerIPAllows() bool {
	return h.g("PeerLimitPerIPAllows")
}
func (h *okHooks) HandshakeLimitAllows() bool { return h.g("HandshakeLimitAllows") }
func (h *okHooks) HandshakeLimitPerIPAllows() bool {
	return h.g("HandshakeLimitPerIPAllows")
}
func (h *okHooks) SignatureValid() bool { return h.g("SignatureValid") }
func (h *okHooks) VersionSupported() bool {
	return h.g("VersionSupported")
}
func (h *okHooks) MechanismMatches() bool       { return h.g("MechanismMatches") }
func (h *okHooks) MechanismIsNull() bool        { return h.mech == "" && h.g("MechanismIsNull") }
func (h *okHooks) SocketTypeCompatible() bool   { return h.g("SocketTypeCompatible") }
func (h *okHooks) IdentityValid() bool          { return h.g("IdentityValid") }
func (h *okHooks) MechanismIsPlainClient() bool { return h.mech == "PlainClient" }
func (h *okHooks) MechanismIsPlainServer() bool { return h.mech == "PlainServer" }
func (h *okHooks) MechanismIsTokenClient() bool { return h.mech == "TokenClient" }
func (h *okHooks) MechanismIsTokenServer() bool { return h.mech == "TokenServer" }
func (h *okHooks) CredentialsAccepted() bool    { return h.g("CredentialsAccepted") }
func (h *okHooks) KeyKnown() bool               { return h.g("KeyKnown") }
func (h *okHooks) ClientProofValid() bool       { return h.g("ClientProofValid") }
func (h *okHooks) Authorized() bool             { return h.g("Authorized") }
func (h *okHooks) ServerProofValid() bool       { return h.g("ServerProofValid") }
func (h *okHooks) SendHello()                   { h.ran = append(h.ran, "SendHello") }
func (h *okHooks) SendWelcome()                 { h.ran = append(h.ran, "SendWelcome") }
func (h *okHooks) SendInitiate()                { h.ran = append(h.ran, "SendInitiate") }
func (h *okHooks) SendSaltRequest()             { h.ran = append(h.ran, "SendSaltRequest") }
func (h *okHooks) SendSalt()                    { h.ran = append(h.ran, "SendSalt") }
func (h *okHooks) SendClientProof()             { h.ran = append(h.ran, "SendClientProof") }
func (h *okHooks) SendServerProof()             { h.ran = append(h.ran, "SendServerProof") }
func (h *okHooks) StartDial()                   { h.ran = append(h.ran, "StartDial") }
func (h *okHooks) SendGreeting()                { h.ran = append(h.ran, "SendGreeting") }
func (h *okHooks) SendGreetingRest()            { h.ran = append(h.ran, "SendGreetingRest") }
func (h *okHooks) SendReady()                   { h.ran = append(h.ran, "SendReady") }
func (h *okHooks) SendError()                   { h.ran = append(h.ran, "SendError") }
func (h *okHooks) HandshakeSucceeded()          { h.ran = append(h.ran, "HandshakeSucceeded") }

func fireAll(t *testing.T, m *Machine, evs ...Event) {
	t.Helper()
	for _, e := range evs {
		if err := m.Fire(e); err != nil {
			t.Fatalf("Fire(%s) in %s: %v", e, m.State(), err)
		}
	}
}

func TestNullHappyPaths(t *testing.T) {
	h := &okHooks{}
	m := New(RoleAccept, h)
	fireAll(t, &m, EventStart, EventSignatureReceived, EventGreetingReceived, EventReadyReceived)
	if m.State() != StateReady || !m.State().Ready() {
		t.Fatalf("accept side ended in %s, want Ready", m.State())
	}
	h = &okHooks{}
	m = New(RoleConnect, h)
	fireAll(t, &m, EventDial, EventConnected, EventSignatureReceived, EventGreetingReceived, EventReadyReceived)
	if m.State() != StateReady {
		t.Fatalf("connect side ended in %s, want Ready", m.State())
	}
}

func TestFailedCheckClosesWithReason(t *testing.T) {
	h := &okHooks{deny: map[string]bool{"SocketTypeCompatible": true}}
	m := New(RoleConnect, h)
	fireAll(t, &m, EventDial, EventConnected, EventSignatureReceived, EventGreetingReceived)
	err := m.Fire(EventReadyReceived)
	if !errors.Is(err, ReasonSocketTypeMismatch) {
		t.Fatalf("got %v, want %v", err, ReasonSocketTypeMismatch)
	}
	if m.State() != StateStopped || !m.Reason().Fatal() {
		t.Fatalf("state %s reason %s: a socket-type mismatch must stop reconnecting", m.State(), m.Reason())
	}
	if last := h.ran[len(h.ran)-1]; last != "SendError" {
		t.Fatalf("last action %s, want SendError before closing", last)
	}
}

func TestNonFatalCloseBacksOffThenRedials(t *testing.T) {
	m := New(RoleConnect, &okHooks{})
	fireAll(t, &m, EventDial)
	if err := m.Fire(EventConnectFailed); !errors.Is(err, ReasonConnectFailed) {
		t.Fatalf("got %v", err)
	}
	if m.State() != StateBackoff {
		t.Fatalf("state %s, want Backoff", m.State())
	}
	fireAll(t, &m, EventRetryElapsed)
	if m.State() != StateDialing {
		t.Fatalf("state %s, want Dialing", m.State())
	}
}

func TestUnhandledEventIsTypedError(t *testing.T) {
	m := New(RoleAccept, &okHooks{})
	err := m.Fire(EventReadyReceived)
	var te *TransitionError
	if !errors.As(err, &te) || !errors.Is(err, ErrNotHandled) || te.State != StateAccepted {
		t.Fatalf("got %v", err)
	}
	if m.State() != StateAccepted {
		t.Fatalf("an unhandled event changed the state to %s", m.State())
	}
}

// nopHooks allows everything and records nothing, for measuring Fire.
type nopHooks struct{}

func (nopHooks) ACLAllows() bool                 { return true }
func (nopHooks) PeerLimitAllows() bool           { return true }
func (nopHooks) PeerLimitPerIPAllows() bool      { return true }
func (nopHooks) HandshakeLimitAllows() bool      { return true }
func (nopHooks) HandshakeLimitPerIPAllows() bool { return true }
func (nopHooks) SignatureValid() bool            { return true }
func (nopHooks) VersionSupported() bool          { return true }
func (nopHooks) MechanismMatches() bool          { return true }
func (nopHooks) MechanismIsNull() bool           { return true }
func (nopHooks) SocketTypeCompatible() bool      { return true }
func (nopHooks) IdentityValid() bool             { return true }
func (nopHooks) MechanismIsPlainClient() bool    { return false }
func (nopHooks) MechanismIsPlainServer() bool    { return false }
func (nopHooks) MechanismIsTokenClient() bool    { return false }
func (nopHooks) MechanismIsTokenServer() bool    { return false }
func (nopHooks) CredentialsAccepted() bool       { return true }
func (nopHooks) KeyKnown() bool                  { return true }
func (nopHooks) ClientProofValid() bool          { return true }
func (nopHooks) Authorized() bool                { return true }
func (nopHooks) ServerProofValid() bool          { return true }
func (nopHooks) SendHello()                      {}
func (nopHooks) SendWelcome()                    {}
func (nopHooks) SendInitiate()                   {}
func (nopHooks) SendSaltRequest()                {}
func (nopHooks) SendSalt()                       {}
func (nopHooks) SendClientProof()                {}
func (nopHooks) SendServerProof()                {}
func (nopHooks) StartDial()                      {}
func (nopHooks) SendGreeting()                   {}
func (nopHooks) SendGreetingRest()               {}
func (nopHooks) SendReady()                      {}
func (nopHooks) SendError()                      {}
func (nopHooks) HandshakeSucceeded()             {}

var handshake = []Event{EventStart, EventSignatureReceived, EventGreetingReceived, EventReadyReceived, EventPeerClosed}

func TestFireDoesNotAllocate(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		m := New(RoleAccept, nopHooks{})
		for _, e := range handshake {
			_ = m.Fire(e)
		}
	})
	if allocs != 0 {
		t.Fatalf("a whole handshake and close allocated %.0f times, want 0", allocs)
	}
}

// BenchmarkFire reports the cost of one event: a whole accept-side NULL
// handshake plus the close, divided by its five events.
func BenchmarkFire(b *testing.B) {
	b.ReportAllocs()
	var h Hooks = nopHooks{}
	for i := 0; i < b.N; i += len(handshake) {
		m := New(RoleAccept, h)
		for _, e := range handshake {
			_ = m.Fire(e)
		}
	}
}

// TestEveryFailedCheckCloses denies one guard at a time on a NULL
// handshake and checks where each role ends, why, and what it sent last.
func TestEveryFailedCheckCloses(t *testing.T) {
	type result struct {
		Reason  string
		State   string
		Actions []string
	}
	paths := map[Role][]Event{
		RoleAccept:  {EventStart, EventSignatureReceived, EventGreetingReceived, EventReadyReceived},
		RoleConnect: {EventDial, EventConnected, EventSignatureReceived, EventGreetingReceived, EventReadyReceived},
	}
	for _, tc := range []struct {
		role Role
		deny string
		want result
	}{
		{RoleAccept, "ACLAllows", result{"ACLDenied", "Closed", nil}},
		{RoleAccept, "PeerLimitAllows", result{"PeerLimit", "Closed", nil}},
		{RoleAccept, "PeerLimitPerIPAllows", result{"PeerLimitPerIP", "Closed", nil}},
		{RoleAccept, "HandshakeLimitAllows", result{"HandshakeLimit", "Closed", nil}},
		{RoleAccept, "HandshakeLimitPerIPAllows", result{"HandshakeLimitPerIP", "Closed", nil}},
		{RoleAccept, "SignatureValid", result{"NotZMTP", "Closed", []string{"SendGreeting"}}},
		{RoleAccept, "VersionSupported", result{"UnsupportedVersion", "Closed", []string{"SendGreeting"}}},
		{RoleAccept, "MechanismIsNull", result{"MechanismMismatch", "Closed", []string{"SendGreeting", "SendGreetingRest"}}},
		{RoleAccept, "MechanismMatches", result{"MechanismMismatch", "Closed", []string{"SendGreeting", "SendGreetingRest"}}},
		{RoleAccept, "SocketTypeCompatible", result{"SocketTypeMismatch", "Closed", []string{"SendGreeting", "SendGreetingRest", "SendReady", "SendError"}}},
		{RoleAccept, "IdentityValid", result{"BadIdentity", "Closed", []string{"SendGreeting", "SendGreetingRest", "SendReady", "SendError"}}},
		{RoleConnect, "SignatureValid", result{"NotZMTP", "Stopped", []string{"StartDial", "SendGreeting"}}},
		{RoleConnect, "VersionSupported", result{"UnsupportedVersion", "Stopped", []string{"StartDial", "SendGreeting"}}},
		{RoleConnect, "MechanismIsNull", result{"MechanismMismatch", "Stopped", []string{"StartDial", "SendGreeting", "SendGreetingRest"}}},
		{RoleConnect, "MechanismMatches", result{"MechanismMismatch", "Stopped", []string{"StartDial", "SendGreeting", "SendGreetingRest"}}},
		{RoleConnect, "SocketTypeCompatible", result{"SocketTypeMismatch", "Stopped", []string{"StartDial", "SendGreeting", "SendGreetingRest", "SendError"}}},
		{RoleConnect, "IdentityValid", result{"BadIdentity", "Stopped", []string{"StartDial", "SendGreeting", "SendGreetingRest", "SendError"}}},
	} {
		h := &okHooks{deny: map[string]bool{tc.deny: true}}
		m := New(tc.role, h)
		var got result
		for _, e := range paths[tc.role] {
			err := m.Fire(e)
			if r, ok := err.(Reason); ok {
				got.Reason = r.String()
				break
			}
			if err != nil {
				t.Fatalf("%s, deny %s: Fire(%s) in %s: %v", tc.role, tc.deny, e, m.State(), err)
			}
		}
		got.State, got.Actions = m.State().String(), h.ran
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s, deny %s (-want +got):\n%s", tc.role, tc.deny, diff)
		}
	}
}

func TestMechanismPaths(t *testing.T) {
	connect := []Event{EventDial, EventConnected, EventSignatureReceived, EventGreetingReceived}
	accept := []Event{EventStart, EventSignatureReceived, EventGreetingReceived}
	tests := []struct {
		role   Role
		mech   string
		events []Event
		deny   string
		want   Reason // ReasonNone: reaches Ready
		acts   []string
	}{
		{RoleConnect, "PlainClient", append(connect, EventWelcomeReceived, EventReadyReceived), "", ReasonNone,
			[]string{"StartDial", "SendGreeting", "SendGreetingRest", "SendHello", "SendInitiate", "HandshakeSucceeded"}},
		{RoleAccept, "PlainServer", append(accept, EventHelloReceived, EventInitiateReceived), "", ReasonNone,
			[]string{"SendGreeting", "SendGreetingRest", "SendWelcome", "SendReady", "HandshakeSucceeded"}},
		{RoleAccept, "PlainServer", append(accept, EventHelloReceived), "CredentialsAccepted", ReasonAuthFailed,
			[]string{"SendGreeting", "SendGreetingRest", "SendError"}},
		{RoleConnect, "TokenClient", append(connect, EventSaltReceived, EventServerProofReceived), "", ReasonNone,
			[]string{"StartDial", "SendGreeting", "SendGreetingRest", "SendSaltRequest", "SendClientProof", "HandshakeSucceeded"}},
		{RoleConnect, "TokenClient", append(connect, EventSaltReceived, EventServerProofReceived), "ServerProofValid", ReasonServerNotAuthentic,
			[]string{"StartDial", "SendGreeting", "SendGreetingRest", "SendSaltRequest", "SendClientProof", "SendError"}},
		{RoleAccept, "TokenServer", append(accept, EventSaltRequestReceived, EventClientProofReceived), "", ReasonNone,
			[]string{"SendGreeting", "SendGreetingRest", "SendSalt", "SendServerProof", "HandshakeSucceeded"}},
		{RoleAccept, "TokenServer", append(accept, EventSaltRequestReceived), "KeyKnown", ReasonAuthFailed,
			[]string{"SendGreeting", "SendGreetingRest", "SendError"}},
		{RoleAccept, "TokenServer", append(accept, EventSaltRequestReceived, EventClientProofReceived), "ClientProofValid", ReasonAuthFailed,
			[]string{"SendGreeting", "SendGreetingRest", "SendSalt", "SendError"}},
		{RoleAccept, "TokenServer", append(accept, EventSaltRequestReceived, EventClientProofReceived), "Authorized", ReasonAuthFailed,
			[]string{"SendGreeting", "SendGreetingRest", "SendSalt", "SendError"}},
	}
	for _, tt := range tests {
		h := &okHooks{mech: tt.mech, deny: map[string]bool{tt.deny: true}}
		m := New(tt.role, h)
		var err error
		for _, e := range tt.events {
			if err = m.Fire(e); err != nil {
				break
			}
		}
		name := fmt.Sprintf("%s %s deny %q", tt.role, tt.mech, tt.deny)
		if tt.want == ReasonNone {
			if err != nil || m.State() != StateReady {
				t.Errorf("%s: ended in %s with %v, want Ready", name, m.State(), err)
			}
		} else if !errors.Is(err, tt.want) || !m.Reason().Fatal() {
			t.Errorf("%s: got %v in %s, want fatal %s", name, err, m.State(), tt.want.String())
		}
		if diff := cmp.Diff(tt.acts, h.ran); diff != "" {
			t.Errorf("%s: actions (-want +got):\n%s", name, diff)
		}
	}
}
