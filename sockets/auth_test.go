package sockets

import (
	"errors"
	"strings"
	"testing"

	"github.com/zmtpgo/zmtp/fsm"
	"github.com/zmtpgo/zmtp/transport"
)

var (
	tokenA = []byte("0123456789abcdef-token-A")
	tokenB = []byte("0123456789abcdef-token-B")
)

func table(t *testing.T, kv ...any) *transport.TokenTable {
	t.Helper()
	tt := transport.NewTokenTable()
	for i := 0; i < len(kv); i += 2 {
		if err := tt.Add(kv[i].(string), kv[i+1].([]byte)); err != nil {
			t.Fatal(err)
		}
	}
	return tt
}

func handshakeFailed(ev Event) bool { return ev.Kind == transport.EventHandshakeFailed }

func TestTokenAuthentication(t *testing.T) {
	tests := []struct {
		name         string
		server, cli  Option
		serverReason fsm.Reason // ReasonNone: the handshake succeeds
		clientReason fsm.Reason
	}{
		{"right token", WithTokenServer(table(t, "alice", tokenA)), WithTokenClient("alice", tokenA), fsm.ReasonNone, fsm.ReasonNone},
		{"wrong token", WithTokenServer(table(t, "alice", tokenA)), WithTokenClient("alice", tokenB), fsm.ReasonAuthFailed, fsm.ReasonErrorReceived},
		{"unknown key id", WithTokenServer(table(t, "alice", tokenA)), WithTokenClient("bob", tokenA), fsm.ReasonAuthFailed, fsm.ReasonErrorReceived},
		{"server without the token", WithTokenServer(table(t, "alice", tokenB)), WithTokenClient("alice", tokenA), fsm.ReasonAuthFailed, fsm.ReasonErrorReceived},
		{"PLAIN right password", WithPlainServer(table(t, "alice", tokenA)), WithPlainClient("alice", tokenA), fsm.ReasonNone, fsm.ReasonNone},
		{"PLAIN wrong password", WithPlainServer(table(t, "alice", tokenA)), WithPlainClient("alice", tokenB), fsm.ReasonAuthFailed, fsm.ReasonErrorReceived},
		{"PLAIN client to TOKEN server", WithTokenServer(table(t, "alice", tokenA)), WithPlainClient("alice", tokenA), fsm.ReasonMechanismMismatch, fsm.ReasonMechanismMismatch},
		{"NULL client to TOKEN server", WithTokenServer(table(t, "alice", tokenA)), WithLinger(0), fsm.ReasonMechanismMismatch, fsm.ReasonMechanismMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sev, cev := make(eventLog, 256), make(eventLog, 256)
			pull := newSock(t, PULL, tt.server, WithMonitor(sev.add))
			if err := pull.Bind("tcp://127.0.0.1:0"); err != nil {
				t.Fatal(err)
			}
			push := newSock(t, PUSH, tt.cli, WithMonitor(cev.add), WithLinger(0))
			if err := push.Connect(pull.LastEndpoint()); err != nil {
				t.Fatal(err)
			}
			if tt.serverReason == fsm.ReasonNone {
				mustSend(t, push, "hello")
				m, err := pull.Recv(ctxT(t))
				if err != nil || m.UserID != "alice" {
					t.Fatalf("received %v (user id %q), %v; want user id alice", m, m.UserID, err)
				}
				return
			}
			sf := sev.waitFor(t, "server handshake failure", handshakeFailed)
			cf := cev.waitFor(t, "client handshake failure", handshakeFailed)
			if sf.Reason != tt.serverReason || cf.Reason != tt.clientReason {
				t.Fatalf("server %v\nclient %v\nwant reasons %s and %s", sf, cf, tt.serverReason.String(), tt.clientReason.String())
			}
			if !cf.Reason.Fatal() {
				t.Fatalf("client reason %s would reconnect with the same credentials", cf.Reason.String())
			}
			for _, ev := range []Event{sf, cf} {
				if s := ev.String(); strings.Contains(s, string(tokenA)) || strings.Contains(s, string(tokenB)) {
					t.Fatalf("an event shows the token: %s", s)
				}
			}
		})
	}
}

// TestSecurityOptionsValidated: bad security settings fail at New, with an
// error that does not echo the secret.
func TestSecurityOptionsValidated(t *testing.T) {
	for _, tt := range []struct {
		name string
		opt  Option
	}{
		{"PLAIN server without authenticator", WithPlainServer(nil)},
		{"short token", WithTokenClient("alice", []byte("short"))},
		{"TOKEN server without tokens", WithTokenServer(nil)},
	} {
		if _, err := New(PULL, tt.opt); !errors.Is(err, transport.ErrBadSecurity) {
			t.Errorf("%s: New gave %v, want ErrBadSecurity", tt.name, err)
		}
	}
}
