package transport

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testdata/tokenhmac holds one real TOKEN-HMAC handshake between our client
// and our server, recorded through a TCP proxy: client.bin is every byte
// the client sent (greeting, SALTREQUEST, CLIENTPROOF, one message),
// server.bin every byte the server sent (greeting, SALT, SERVERPROOF). The
// token was recordedToken. The fuzz targets take their seeds from it, and
// TestTokenRecordedTranscript recomputes both proofs from it: a change to
// the wire layout or to what the MACs cover breaks that test, and makes old
// peers unable to talk to new ones.
var updateToken = flag.Bool("update-token-transcript", false, "record testdata/tokenhmac/*.bin again from a live handshake")

const recordedKeyID = "recorded-key"

var recordedToken = Secret("zmtp testdata token, not secret")

func tokenRecording(t testing.TB) (client, server []byte) {
	t.Helper()
	dir := filepath.Join("testdata", "tokenhmac")
	client, err := os.ReadFile(filepath.Join(dir, "client.bin"))
	if err != nil {
		t.Fatal(err)
	}
	server, err = os.ReadFile(filepath.Join(dir, "server.bin"))
	if err != nil {
		t.Fatal(err)
	}
	return client, server
}

// recordTokenHandshake runs a real handshake and one message through a
// recording proxy and writes testdata/tokenhmac.
func recordTokenHandshake(t *testing.T) {
	tt := NewTokenTable()
	if err := tt.Add(recordedKeyID, recordedToken); err != nil {
		t.Fatal(err)
	}
	sh := newChanHandler()
	l := authListener(t, tokenServerSecurity(tt), sh, nil)
	proxy := newRecordingProxy(t, l.Addr().String())
	ch := newChanHandler()
	cn, err := Connect(proxy.endpoint(), &Config{SocketType: PUSH, Security: tokenClientSecurity(recordedKeyID, recordedToken), Handler: ch})
	if err != nil {
		t.Fatal(err)
	}
	c := recv(t, ch.attached)
	if err := c.Send(context.Background(), [][]byte{[]byte("recorded message")}); err != nil {
		t.Fatal(err)
	}
	recv(t, sh.msgs)
	cn.Close()
	l.Close()
	proxy.close()
	c2s, s2c := proxy.recorded(0)
	dir := filepath.Join("testdata", "tokenhmac")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"client.bin": c2s, "server.bin": s2c} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTokenRecordedTranscript parses the recorded handshake and recomputes
// both MACs with the recorded token: a known-answer test of the wire
// layout and of the transcript the proofs cover.
func TestTokenRecordedTranscript(t *testing.T) {
	if *updateToken {
		recordTokenHandshake(t)
	}
	client, server := tokenRecording(t)
	cg, cframes := splitStream(t, client)
	sg, sframes := splitStream(t, server)
	for _, g := range [][]byte{cg, sg} {
		pg, err := ParseGreeting(g)
		if err != nil || pg.Mechanism != MechanismToken {
			t.Fatalf("greeting %+v, %v", pg, err)
		}
	}
	if pg, _ := ParseGreeting(sg); !pg.AsServer {
		t.Error("the server's greeting does not say as-server")
	}
	req, err := ParseSaltRequest(mustCommand(t, cframes[0], CmdSaltRequest))
	if err != nil || req.KeyID != recordedKeyID {
		t.Fatalf("SALTREQUEST %+v, %v", req, err)
	}
	salt, err := ParseSalt(mustCommand(t, sframes[0], CmdSalt))
	if err != nil {
		t.Fatal(err)
	}
	cproof := mustCommand(t, cframes[1], CmdClientProof)
	sproof := mustCommand(t, sframes[1], CmdServerProof)
	cmac, cmd, err := ParseProof(cproof)
	if err != nil {
		t.Fatal(err)
	}
	smac, smd, err := ParseProof(sproof)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"PUSH", "PULL"}, []string{string(must(cmd.Get(PropSocketType))), string(must(smd.Get(PropSocketType)))}); diff != "" {
		t.Errorf("socket types (-want +got):\n%s", diff)
	}
	tr := &Transcript{ClientGreeting: cg, ServerGreeting: sg, KeyID: req.KeyID, ClientNonce: req.Nonce, ServerSalt: salt}
	if want := ClientMAC(recordedToken, tr, cproof[MACSize:]); !VerifyMAC(cmac, want) {
		t.Errorf("the recorded client proof does not verify: the client MAC's input changed")
	}
	if want := ServerMAC(recordedToken, tr, cmac, sproof[MACSize:]); !VerifyMAC(smac, want) {
		t.Errorf("the recorded server proof does not verify: the server MAC's input changed")
	}
	if got := ClientMAC(Secret("another token, also 16+ bytes"), tr, cproof[MACSize:]); VerifyMAC(cmac, got) {
		t.Error("another token verifies the recorded proof")
	}
	if len(cframes) < 3 || cframes[2].IsCommand() || string(cframes[2].Body) != "recorded message" {
		t.Errorf("after the proof the client sent %v, want the message", cframes[2:])
	}
	if len(sframes) != 2 {
		t.Errorf("the server sent %d frames, want SALT and SERVERPROOF", len(sframes))
	}
}

func must[T any](v T, ok bool) T {
	if !ok {
		panic("missing")
	}
	return v
}

// TestTranscriptFieldsAreSeparated: moving bytes between adjacent
// transcript fields (a key id "ab" with metadata "c…" against "a" with
// "bc…") gives different MACs, because each field is length-prefixed.
func TestTranscriptFieldsAreSeparated(t *testing.T) {
	g := bytes.Repeat([]byte{1}, GreetingSize)
	a := &Transcript{ClientGreeting: g, ServerGreeting: g, KeyID: "ab"}
	b := &Transcript{ClientGreeting: g, ServerGreeting: g, KeyID: "a"}
	if ClientMAC(testToken, a, []byte("c")) == ClientMAC(testToken, b, []byte("bc")) {
		t.Fatal("length prefixes do not separate the fields")
	}
	var mac [MACSize]byte
	if ClientMAC(testToken, a, nil) == ServerMAC(testToken, a, mac, nil) {
		t.Fatal("client and server proofs coincide")
	}
}
