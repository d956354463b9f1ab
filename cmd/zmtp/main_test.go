package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(perfChildEnv) == "1" {
		main() // the test binary as the command, for tests that need a process of its own
		return
	}
	goleak.VerifyTestMain(m)
}

func TestBadFlagsExitTwoWithAMessage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-bind", "tcp://127.0.0.1:0"}, "-type is required"},
		{[]string{"-type", "PUSH"}, "at least one -bind or -connect"},
		{[]string{"-type", "PUSH", "-connect", "udp://127.0.0.1:1"}, "udp"},
		{[]string{"-type", "PUSH", "-connect", "tcp://127.0.0.1:99999"}, "port"},
		{[]string{"-nosuchflag"}, "nosuchflag"},
		{[]string{"-type", "PULL", "-bind", "tcp://127.0.0.1:0", "-allow", "10.0.0/8"}, `-allow: zmtp: invalid accept-from prefix "10.0.0/8"`},
		{[]string{"-type", "PULL", "-bind", "tcp://127.0.0.1:0", "-deny", "::1/129"}, `-deny: zmtp: invalid accept-from prefix "::1/129"`},
		{[]string{"-type", "PULL", "-bind", "tcp://127.0.0.1:0", "-max-peers-per-ip", "-1"}, "-max-peers-per-ip -1"},
		{[]string{"-type", "PULL", "-bind", "tcp://127.0.0.1:0", "-per-ip-v6-prefix", "0"}, "-per-ip-v6-prefix 0"},
		{[]string{"-type", "PULL", "-bind", "tcp://127.0.0.1:0", "-defer-accept", "-1s"}, "-defer-accept -1s"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), tt.args, strings.NewReader(""), &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, errb.String(), tt.want)
		}
	}
}

func TestUnknownSocketTypeFails(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"-type", "FOO", "-bind", "tcp://127.0.0.1:0"}, nil, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "FOO") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

// TestPushToPull runs the tool twice as a user would: a PULL that binds and
// prints two messages, and a PUSH that sends them from standard input.
func TestPushToPull(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Bind a fixed free port chosen by the OS through the tool's own ":0" report.
	pull := startBound(ctx, t, "-type", "PULL", "-bind", "tcp://127.0.0.1:0", "-count", "2", "-multipart", "/")
	var pushOut, pushErr bytes.Buffer
	code := run(ctx, []string{"-type", "PUSH", "-connect", pull.ep, "-stdin", "-multipart", "/"}, strings.NewReader("one\ntwo/parts\n"), &pushOut, &pushErr)
	if code != 0 {
		t.Fatalf("push exit %d: %s", code, pushErr.String())
	}
	if code := <-pull.done; code != 0 {
		t.Fatalf("pull exit %d: %s", code, pull.errb.String())
	}
	if got, want := pull.out.String(), "one\ntwo/parts\n"; got != want {
		t.Fatalf("pull printed %q, want %q", got, want)
	}
}

// boundTool is the tool running in the background on a bound socket, as
// a user would start it in another terminal.
type boundTool struct {
	ep        string       // the endpoint it reported ("bound …")
	out, errb bytes.Buffer // its standard output and error: read them once done has delivered
	done      chan int     // its exit status
}

// startBound runs the tool with args, which bind to a port-0 endpoint, and
// returns once it has reported the endpoint it bound.
func startBound(ctx context.Context, t *testing.T, args ...string) *boundTool {
	t.Helper()
	b := &boundTool{done: make(chan int, 1)}
	bound := make(chan string, 1)
	errw := &syncWriter{w: &lineTap{w: &b.errb, prefix: "bound ", ch: bound}}
	go func() { b.done <- run(ctx, args, nil, &b.out, errw) }()
	select {
	case b.ep = <-bound:
	case code := <-b.done:
		t.Fatalf("%q exited %d without reporting its endpoint: %s", args, code, b.errb.String())
	case <-ctx.Done():
		t.Fatalf("%q never reported its endpoint", args)
	}
	return b
}

// lineTap passes writes through and reports the rest of the first line
// that starts with prefix.
type lineTap struct {
	w      *bytes.Buffer
	prefix string
	ch     chan string
	sent   bool
}

func (l *lineTap) Write(p []byte) (int, error) {
	for _, line := range strings.Split(string(p), "\n") {
		if !l.sent && strings.HasPrefix(line, l.prefix) {
			l.ch <- strings.TrimPrefix(line, l.prefix)
			l.sent = true
		}
	}
	return l.w.Write(p)
}

func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"demo"}, nil, &out, &out); code != 0 {
		t.Fatalf("demo failed:\n%s", out.String())
	}
	for _, want := range []string{"SocketTypeMismatch", "NotZMTP", "UnsupportedVersion", "MechanismMismatch", "FrameTooLarge", "ProtocolViolation", "HandshakeTimeout",
		"reason ACLDenied", "127.0.0.2 is denied by 127.0.0.2/32", "reason PeerLimitPerIP", "max-peers-per-ip 1 reached for 127.0.0.1",
		"accepted=1 rejected-acl=1", "live connection dropped", "(reason HeartbeatTimeout) and reconnects",
		`from user id "demo-client"`, "reason AuthFailed", `reason ErrorReceived (fatal`, `ERROR "400"`, "did not reconnect with the same token",
		"demo finished"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}

func TestLivenessFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-type", "SUB", "-connect", "tcp://127.0.0.1:1", "-tcp-keepalive", "maybe"}, "want on, off or default"},
		{[]string{"-type", "SUB", "-connect", "tcp://127.0.0.1:1", "-tcp-keepalive-idle", "5s"}, "need -tcp-keepalive on"},
		{[]string{"-type", "SUB", "-connect", "tcp://127.0.0.1:1", "-heartbeat-ivl", "-1s"}, "cannot be negative"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), tt.args, nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, errb.String(), tt.want)
		}
	}
	c, err := parse([]string{"-type", "SUB", "-connect", "tcp://127.0.0.1:1", "-heartbeat-ivl", "100ms", "-heartbeat-timeout", "300ms",
		"-tcp-keepalive", "on", "-tcp-keepalive-idle", "10s", "-tcp-keepalive-cnt", "3"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(c.live.options()); got != 2 {
		t.Fatalf("%d liveness options, want heartbeat and keepalive", got)
	}
}
