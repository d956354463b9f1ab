package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// perfChildEnv makes the test binary run main instead of the tests (see
// TestMain), so a test can start "zmtp perf" as a process of its own, with
// its own resident set, exit status and watchdog.
const perfChildEnv = "ZMTP_TEST_RUN_MAIN"

// TestPerfPairs runs every pair of modes ours→ours, each side a process,
// with tiny arguments, and checks the RESULT lines.
func TestPerfPairs(t *testing.T) {
	token := t.TempDir() + "/token"
	if err := os.WriteFile(token, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		flags    []string // before the mode, on both sides
		srv, cli []string // after the mode's endpoint
		srvTest  string   // "" when the side prints no RESULT line
		srvKeys  []string
		cliTest  string
		cliKeys  []string
	}{
		{
			name: "thr", srv: []string{"thr-recv"}, cli: []string{"thr-send", "100", "0.2"},
			srvTest: "thr-recv", srvKeys: []string{"size", "msgs", "secs", "msgs_per_s", "MB_per_s"},
			cliTest: "thr-send", cliKeys: []string{"size", "msgs", "secs", "msgs_per_s"},
		},
		{
			name: "lat", srv: []string{"lat-srv", "220"}, cli: []string{"lat-cli", "1", "200", "20"},
			cliTest: "lat", cliKeys: []string{"size", "n", "mean_us", "p50_us", "p99_us", "max_us"},
		},
		{
			name: "lat-tcp", srv: []string{"lat-tcp-srv"}, cli: []string{"lat-tcp-cli", "3", "200", "20"},
			cliTest: "lat-tcp", cliKeys: []string{"size", "n", "mean_us", "p50_us", "p99_us", "max_us"},
		},
		{
			name: "conn", srv: []string{"conn-srv"}, cli: []string{"conn-cli", "100000000", "4", "0.3"},
			srvTest: "conn-srv", srvKeys: []string{"echoed"},
			cliTest: "conn", cliKeys: []string{"window", "cycles", "secs", "per_s"},
		},
		{
			// Every mode takes TOKEN-HMAC; conn is where it costs most.
			name: "conn-token", flags: []string{"-token-file", token},
			srv: []string{"conn-srv"}, cli: []string{"conn-cli", "100000000", "4", "0.3"},
			srvTest: "conn-srv", srvKeys: []string{"echoed"},
			cliTest: "conn", cliKeys: []string{"window", "cycles", "secs", "per_s"},
		},
		{
			// mem-srv names its endpoint once it has read its "before"
			// resident set, so the clients cannot be counted in it.
			name: "mem", srv: []string{"mem-srv", "20", "100"}, cli: []string{"mem-cli", "20", "0.8"},
			srvTest: "mem", srvKeys: []string{"conns", "rss_before_kib", "rss_after_kib", "bytes_per_conn"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := startPerf(t, slices.Concat([]string{"-t", "20"}, tt.flags, []string{tt.srv[0], "tcp://127.0.0.1:0"}, tt.srv[1:])...)
			ep := srv.endpoint(t)
			cli := startPerf(t, slices.Concat([]string{"-t", "20"}, tt.flags, []string{tt.cli[0], ep}, tt.cli[1:])...)
			cliOut := cli.wait(t, 0)
			srvOut := srv.wait(t, 0)
			checkPerfResult(t, tt.srv[0], srvOut, tt.srvTest, tt.srvKeys)
			checkPerfResult(t, tt.cli[0], cliOut, tt.cliTest, tt.cliKeys)
		})
	}
}

// TestPerfWatchdog: past -t the process exits with status 142, as
// zmqbench does on SIGALRM.
func TestPerfWatchdog(t *testing.T) {
	p := startPerf(t, "-t", "1", "thr-recv", "tcp://127.0.0.1:0")
	p.endpoint(t)
	p.wait(t, 142)
	if !strings.Contains(p.stderr.String(), "time limit of 1 s reached") {
		t.Fatalf("stderr %q", p.stderr.String())
	}
}

// TestPerfUsage: bad usage exits 1 with the usage text, errors exit 2.
func TestPerfUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"perf"}, 1, "usage: zmtp perf"},
		{[]string{"perf", "thr-recv"}, 1, "usage: zmtp perf"},
		{[]string{"perf", "nosuch", "tcp://127.0.0.1:1"}, 1, "usage: zmtp perf"},
		{[]string{"perf", "thr-send", "tcp://127.0.0.1:1", "100"}, 1, "thr-send EP SIZE SECONDS"},
		{[]string{"perf", "thr-recv", "tcp://127.0.0.1:1", "extra"}, 1, "usage: zmtp perf"},
		{[]string{"perf", "lat-cli", "tcp://127.0.0.1:1", "1", "many", "0"}, 1, `COUNT: want a non-negative number, got "many"`},
		{[]string{"perf", "thr-send", "tcp://127.0.0.1:1", "100", "-1"}, 1, "SECONDS: want a non-negative number"},
		{[]string{"perf", "-nosuchflag", "thr-recv", "tcp://127.0.0.1:1"}, 1, "nosuchflag"},
		{[]string{"perf", "-h"}, 0, "mem-srv EP N SETTLE_MS"},
		{[]string{"perf", "-t", "5", "thr-recv", "udp://127.0.0.1:1"}, 2, "zmtp perf: thr-recv:"},
		{[]string{"-h"}, 0, "zmtp perf [-t limit_s] [-cpuprofile file] [-token-file file] MODE args..."},
		{[]string{"perf", "-token-file", "/nonexistent/token", "conn-srv", "tcp://127.0.0.1:1"}, 1, "/nonexistent/token"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), tt.args, nil, &out, &errb)
		if code != tt.code || !strings.Contains(errb.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, code, errb.String(), tt.code, tt.want)
		}
		if out.Len() != 0 {
			t.Errorf("%v: printed %q on standard output", tt.args, out.String())
		}
	}
}

// checkPerfResult checks that out is one RESULT line of test with every
// key a positive number, or nothing when test is "".
func checkPerfResult(t *testing.T, mode, out, test string, keys []string) {
	t.Helper()
	if test == "" {
		if out != "" {
			t.Errorf("%s printed %q, want nothing", mode, out)
		}
		return
	}
	line, ok := strings.CutSuffix(out, "\n")
	if !ok || strings.Contains(line, "\n") {
		t.Errorf("%s printed %q, want one line", mode, out)
		return
	}
	f := strings.Fields(line)
	if len(f) < 3 || f[0] != "RESULT" || f[1] != "impl=zmtpgo" || f[2] != "test="+test {
		t.Errorf("%s printed %q, want RESULT impl=zmtpgo test=%s …", mode, line, test)
		return
	}
	t.Logf("%s: %s", mode, line)
	vals := map[string]float64{}
	for _, kv := range f[3:] {
		k, v, ok := strings.Cut(kv, "=")
		x, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil {
			t.Errorf("%s: %q is not key=number in %q", mode, kv, line)
			continue
		}
		vals[k] = x
	}
	for _, k := range keys {
		if v, ok := vals[k]; !ok || v <= 0 {
			t.Errorf("%s: %s missing or not positive in %q", mode, k, line)
		}
	}
	if len(vals) != len(keys) {
		t.Errorf("%s: keys %v, want exactly %v", mode, vals, keys)
	}
}

// perfProc is "zmtp perf" running in a child process.
type perfProc struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer // read only after done
	bound          chan string
	done           chan struct{}
	err            error
}

func startPerf(t *testing.T, args ...string) *perfProc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &perfProc{bound: make(chan string, 1), done: make(chan struct{})}
	p.cmd = exec.Command(exe, append([]string{"perf"}, args...)...)
	p.cmd.Env = append(os.Environ(), perfChildEnv+"=1")
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &lineTap{w: &p.stderr, prefix: "bound ", ch: p.bound}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	return p
}

// endpoint returns the endpoint the process reported bound.
func (p *perfProc) endpoint(t *testing.T) string {
	t.Helper()
	select {
	case ep := <-p.bound:
		return ep
	case <-p.done:
		t.Fatalf("%v exited before binding (%v): %s", p.cmd.Args[1:], p.err, p.stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("%v did not bind within 10 s", p.cmd.Args[1:])
	}
	return ""
}

// wait waits for the process, checks its exit status and returns its
// standard output.
func (p *perfProc) wait(t *testing.T, code int) string {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%v still running after 30 s", p.cmd.Args[1:])
	}
	got := 0
	if ee := (*exec.ExitError)(nil); errors.As(p.err, &ee) {
		got = ee.ExitCode()
	} else if p.err != nil {
		t.Fatalf("%v: %v", p.cmd.Args[1:], p.err)
	}
	if got != code {
		t.Fatalf("%v: exit %d, want %d; stderr:\n%s", p.cmd.Args[1:], got, code, p.stderr.String())
	}
	return p.stdout.String()
}

// TestPerfInterrupted: an interrupt (the context main cancels on SIGINT)
// ends a mode with status 130, its sockets closed.
func TestPerfInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"perf", "thr-recv", "tcp://127.0.0.1:0"}, nil, &out, &errb); code != 130 || !strings.Contains(errb.String(), "interrupted") {
		t.Fatalf("exit %d, stderr %q; want 130 and interrupted", code, errb.String())
	}
}
