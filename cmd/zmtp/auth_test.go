package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	cliToken = "0123456789abcdef-cli-token"
	cliWrong = "0123456789abcdef-cli-wrong"
)

// syncWriter serialises writes: with -events, monitor events are printed
// from connection goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// writeFile writes content to a new file in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAuthFlagErrors: missing or bad secrets are usage errors (exit 2)
// whose message says what is wrong and never shows a secret.
func TestAuthFlagErrors(t *testing.T) {
	dir := t.TempDir()
	short := writeFile(t, dir, "short", "tiny-secret\n")
	good := writeFile(t, dir, "good", cliToken+"\n")
	empty := writeFile(t, dir, "empty", "\n")
	oneField := writeFile(t, dir, "one-field", "# comment\nalice "+cliToken+"\nbob-"+cliWrong+"\n")
	threeFields := writeFile(t, dir, "three-fields", "alice "+cliToken+" "+cliWrong+"\n")
	shortTok := writeFile(t, dir, "short-token", "alice tiny-secret\n")
	dup := writeFile(t, dir, "dup", "alice "+cliToken+"\nalice "+cliWrong+"\n")
	noLines := writeFile(t, dir, "no-lines", "# nothing\n\n")
	t.Setenv("ZMTP_TEST_EMPTY", "")
	pull := []string{"-type", "PULL", "-bind", "tcp://127.0.0.1:0"}
	push := []string{"-type", "PUSH", "-connect", "tcp://127.0.0.1:1"}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{append(push, "-token-key-id", "k", "-token-file", filepath.Join(dir, "missing")), "-token-file: open " + filepath.Join(dir, "missing") + ": no such file or directory"},
		{append(push, "-token-key-id", "k"), "give -token-file or -token-env"},
		{append(push, "-token-file", good), "-token-file and -token-env need -token-key-id"},
		{append(push, "-token-key-id", "k", "-token-env", "ZMTP_TEST_UNSET_VARIABLE"), "-token-env ZMTP_TEST_UNSET_VARIABLE: the environment variable is not set or empty"},
		{append(push, "-token-key-id", "k", "-token-env", "ZMTP_TEST_EMPTY"), "-token-env ZMTP_TEST_EMPTY: the environment variable is not set or empty"},
		{append(push, "-token-key-id", "k", "-token-file", good, "-token-env", "HOME"), "give -token-file or -token-env, not both"},
		{append(push, "-token-key-id", "k", "-token-file", short), "the token is 11 bytes; TOKEN-HMAC tokens are at least 16"},
		{append(push, "-token-key-id", "k", "-token-file", empty), "-token-file " + empty + ": the file is empty"},
		{append(push, "-plain-user", "alice"), "give -plain-password-file or -plain-password-env"},
		{append(push, "-plain-password-env", "HOME"), "-plain-password-file and -plain-password-env need -plain-user"},
		{append(pull, "-token-server-tokens", oneField), oneField + `:3: want "keyid token" (two fields), got 1 fields`},
		{append(pull, "-token-server-tokens", threeFields), threeFields + `:1: want "keyid token" (two fields), got 3 fields`},
		{append(pull, "-plain-server-tokens", shortTok), `token for key id "alice" is 11 bytes, need at least 16`},
		{append(pull, "-token-server-tokens", dup), `key id "alice" appears twice`},
		{append(pull, "-token-server-tokens", noLines), `no "keyid token" lines`},
		{append(pull, "-token-server-tokens", filepath.Join(dir, "missing")), "-token-server-tokens: open "},
		{append(pull, "-token-server-tokens", good, "-plain-user", "alice", "-plain-password-file", good), "one security mechanism per socket"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), tt.args, strings.NewReader(""), &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, errb.String(), tt.want)
		}
		for _, secret := range []string{cliToken, cliWrong, "tiny-secret"} {
			if strings.Contains(errb.String(), secret) {
				t.Errorf("%v: stderr shows a secret: %q", tt.args, errb.String())
			}
		}
	}
}

// TestAuthFlagsEndToEnd runs a bound PULL with a token file and two PUSHes
// as a user would, for TOKEN-HMAC and PLAIN: the one with the wrong secret
// exits 1 at once, refused for good, and the server's events say
// AuthFailed; the one with the right secret (from an environment
// variable) delivers. No output shows a secret.
func TestAuthFlagsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	table := writeFile(t, dir, "tokens", "# key id, token\nalice "+cliToken+"\n")
	wrong := writeFile(t, dir, "wrong", cliWrong+"\n")
	t.Setenv("ZMTP_TEST_TOKEN", cliToken)
	for _, m := range []struct {
		name               string
		server, bad, right []string
	}{
		{"TOKEN-HMAC", []string{"-token-server-tokens", table},
			[]string{"-token-key-id", "alice", "-token-file", wrong}, []string{"-token-key-id", "alice", "-token-env", "ZMTP_TEST_TOKEN"}},
		{"PLAIN", []string{"-plain-server-tokens", table},
			[]string{"-plain-user", "alice", "-plain-password-file", wrong}, []string{"-plain-user", "alice", "-plain-password-env", "ZMTP_TEST_TOKEN"}},
	} {
		t.Run(m.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			pull := startBound(ctx, t, append([]string{"-type", "PULL", "-bind", "tcp://127.0.0.1:0", "-count", "1", "-events"}, m.server...)...)
			ep := pull.ep
			var out, errb bytes.Buffer
			start := time.Now()
			code := run(ctx, append(append([]string{"-type", "PUSH", "-connect", ep, "-reconnect-ivl", "20ms"}, m.bad...), "secret?"), nil, &out, &errb)
			if code != 1 || !strings.Contains(errb.String(), "refused: "+ep+": reason ErrorReceived, not retrying") || !strings.Contains(errb.String(), `ERROR "400"`) {
				t.Fatalf("wrong secret: exit %d, stderr %q", code, errb.String())
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("the refused PUSH took %v to give up", d)
			}
			out.Reset()
			errb.Reset()
			if code := run(ctx, append(append([]string{"-type", "PUSH", "-connect", ep}, m.right...), "hi"), nil, &out, &errb); code != 0 {
				t.Fatalf("right secret: exit %d, stderr %q", code, errb.String())
			}
			if code := <-pull.done; code != 0 {
				t.Fatalf("pull exit %d: %s", code, pull.errb.String())
			}
			if got := pull.out.String(); got != "hi\n" {
				t.Errorf("pull printed %q", got)
			}
			if !strings.Contains(pull.errb.String(), "reason=AuthFailed") {
				t.Errorf("the server's events lack the refusal:\n%s", pull.errb.String())
			}
			for _, s := range []string{pull.out.String(), pull.errb.String(), out.String(), errb.String()} {
				if strings.Contains(s, cliToken) || strings.Contains(s, cliWrong) {
					t.Errorf("output shows a secret:\n%s", s)
				}
			}
		})
	}
}
