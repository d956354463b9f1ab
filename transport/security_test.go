package transport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/zmtpgo/zmtp/fsm"
)

// TestSecretNeverPrints: a Secret, alone or inside Security, shows as
// "[redacted]" with every fmt verb (fmt applies %d, %c, %b… to each byte
// of a plain []byte), in log/slog's text and JSON records (slog prints a
// []byte as text), and in encoding/json (base64 of the bytes otherwise).
func TestSecretNeverPrints(t *testing.T) {
	const pw = "hunter2-0123456789"
	sec := Security{Mechanism: MechanismPlain, Username: "alice", Password: Secret(pw), Token: Secret(pw)}
	var out bytes.Buffer
	for _, verb := range []string{"%s", "%v", "%+v", "%#v", "%q", "%x", "%X", "%d", "%c", "%U", "%b", "%o", "%08b"} {
		fmt.Fprintf(&out, verb+" "+verb+"\n", Secret(pw), sec)
	}
	fmt.Fprintln(&out, Secret(pw), sec, &sec)
	slog.New(slog.NewTextHandler(&out, nil)).Info("login", "password", Secret(pw), "security", sec)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("login", "password", Secret(pw), "security", sec)
	b, err := json.Marshal(sec)
	if err != nil {
		t.Fatal(err)
	}
	out.Write(b)
	for _, leak := range []string{pw, "aHVudGVy", "68756e746572", "104 117 110"} { // text, base64, hex, decimal
		if strings.Contains(out.String(), leak) {
			t.Fatalf("a secret leaked (%q):\n%s", leak, out.String())
		}
	}
	if !strings.Contains(out.String(), "[redacted]") {
		t.Fatalf("no [redacted] in:\n%s", out.String())
	}
}

// shortSource is a TokenSource of a user's own that knows every key id
// but answers with an empty token: a proof made with the empty key would
// match it.
type shortSource struct{}

func (shortSource) Token(string) (Secret, bool) { return nil, true }

// TestTokenSourceShortTokenRefused: the server refuses a key id whose token
// is shorter than MinTokenSize, so such a TokenSource does not admit
// anyone who computes a proof with the empty key. The refusal is status
// 500 (the server's fault), with the reason in our log only.
func TestTokenSourceShortTokenRefused(t *testing.T) {
	evs := newEvLog()
	l := authListener(t, Security{Mechanism: MechanismToken, Server: true, Tokens: shortSource{}}, nil, evs.add)
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	p := newRawPeer(nc)
	if err := p.greet(MechanismToken, false); err != nil {
		t.Fatal(err)
	}
	var nonce [NonceSize]byte
	p.command(CmdSaltRequest, SaltRequest{KeyID: "anyone", Nonce: nonce}.Append(nil))
	f, err := p.r.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	cmd, _ := ParseCommand(f.Body)
	status := ""
	switch cmd.Name {
	case CmdSalt: // were a salt sent, prove with the empty token
		salt, _ := ParseSalt(cmd.Body)
		tr := &Transcript{ClientGreeting: p.ours, ServerGreeting: p.theirs, KeyID: "anyone", ClientNonce: nonce, ServerSalt: salt}
		md := metadataOf("PUSH")
		p.command(CmdClientProof, AppendProof(nil, ClientMAC(nil, tr, md), md))
		status, _ = p.closedAfter()
	case CmdError:
		status, _ = ParseError(cmd.Body)
	}
	e := waitFailure(t, evs, nc.LocalAddr().String())
	if e.Reason != fsm.ReasonAuthFailed || !errors.Is(e.Err, ErrAuthRefused) || !strings.Contains(e.Err.Error(), "a token of 0 bytes") || status != "500" {
		t.Fatalf("%v, ERROR %q; want AuthFailed, the short token named, ERROR 500", e, status)
	}
	if n := evs.count(EventHandshakeSucceeded, fsm.ReasonNone, ""); n != 0 {
		t.Fatal("the empty token was accepted")
	}
}
