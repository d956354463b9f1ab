//go:build libzmq

package interop

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
)

// The command-line tool as a new user runs it from the README, against
// libzmq programs (pebbe/zmq4) on the other end, in both directions.

// buildCLI builds cmd/zmtp into dir, as a user would with go build.
func buildCLI(t *testing.T, dir string) string {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	bin := filepath.Join(dir, "zmtp")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, goBin, "build", "-o", bin, "github.com/zmtpgo/zmtp/cmd/zmtp").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/zmtp: %v\n%s", err, out)
	}
	return bin
}

// cli is one run of the tool.
type cli struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout bytes.Buffer
	mu     sync.Mutex
	stderr []string
	lines  chan string // stderr, line by line
	done   chan error
}

// runCLI starts the tool bin with args; it is killed if it outlives twice
// the timeout.
func runCLI(t *testing.T, bin string, args ...string) *cli {
	t.Helper()
	var err error
	ctx, cancel := context.WithTimeout(context.Background(), 2*timeout)
	t.Cleanup(cancel)
	c := &cli{t: t, cmd: exec.CommandContext(ctx, bin, args...), lines: make(chan string, 256), done: make(chan error, 1)}
	c.cmd.Stdout = &c.stdout
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	errPipe, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("$ zmtp %s", strings.Join(args, " "))
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			c.mu.Lock()
			c.stderr = append(c.stderr, sc.Text())
			c.mu.Unlock()
			select {
			case c.lines <- sc.Text():
			default:
			}
		}
	}()
	go func() {
		<-scanned // Wait closes the pipe: read it all first
		c.done <- c.cmd.Wait()
	}()
	t.Cleanup(func() {
		c.stdin.Close()
		select {
		case <-c.done:
		case <-time.After(timeout):
			c.cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

// bound waits for the tool's "bound <endpoint>" line (printed for ":0"
// binds) and returns the endpoint.
func (c *cli) bound() string {
	c.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l := <-c.lines:
			if ep, ok := strings.CutPrefix(l, "bound "); ok {
				return ep
			}
		case <-deadline:
			c.t.Fatalf("no bound line; stderr %q", c.errText())
		}
	}
}

func (c *cli) errText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.stderr, "\n")
}

// wait waits for the tool to exit and checks its status and output.
func (c *cli) wait(code int, stdout string) {
	c.t.Helper()
	var err error
	select {
	case err = <-c.done:
		c.done <- err // for Cleanup
	case <-time.After(timeout):
		c.t.Fatalf("the tool did not exit; stderr:\n%s", c.errText())
	}
	got := 0
	if ee, ok := err.(*exec.ExitError); ok {
		got = ee.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	if got != code || c.stdout.String() != stdout {
		c.t.Fatalf("exit %d, stdout %q; want %d, %q\nstderr:\n%s", got, c.stdout.String(), code, stdout, c.errText())
	}
}

// exited reports whether the tool has exited, without waiting.
func (c *cli) exited() bool {
	select {
	case err := <-c.done:
		c.done <- err
		return true
	default:
		return false
	}
}

func TestCLIAgainstLibzmq(t *testing.T) {
	bin := buildCLI(t, t.TempDir())
	t.Run("PULL binds, libzmq PUSH sends", func(t *testing.T) {
		c := runCLI(t, bin, "-type", "PULL", "-bind", "tcp://127.0.0.1:0", "-count", "2")
		push := zsock(t, zctx(t), zmq.PUSH)
		zconnect(t, push, c.bound())
		zsend(t, push, "hello")
		zsend(t, push, "world")
		c.wait(0, "hello\nworld\n")
	})
	t.Run("PUSH connects to libzmq PULL", func(t *testing.T) {
		pull := zsock(t, zctx(t), zmq.PULL)
		c := runCLI(t, bin, "-type", "PUSH", "-connect", zbind(t, pull, "127.0.0.1"), "hello", "world")
		zrecv(t, pull, "hello")
		zrecv(t, pull, "world")
		c.wait(0, "")
	})
	t.Run("REP echoes to libzmq REQ, events on stderr", func(t *testing.T) {
		c := runCLI(t, bin, "-type", "REP", "-bind", "tcp://127.0.0.1:0", "-echo", "-events", "-count", "1")
		req := zsock(t, zctx(t), zmq.REQ)
		ep := c.bound()
		zconnect(t, req, ep)
		zsend(t, req, "a", "b")
		zrecv(t, req, "a", "b")
		c.wait(0, "a|b\n")
		for _, want := range []string{"event: listening " + ep, "event: accepted " + ep + " peer=127.0.0.1:", "event: handshake-succeeded " + ep} {
			if !strings.Contains(c.errText(), want) {
				t.Errorf("stderr lacks %q:\n%s", want, c.errText())
			}
		}
	})
	t.Run("REQ sends multipart to libzmq REP", func(t *testing.T) {
		rep := zsock(t, zctx(t), zmq.REP)
		c := runCLI(t, bin, "-type", "REQ", "-connect", zbind(t, rep, "127.0.0.1"), "-multipart", "|", "a|b")
		zrecv(t, rep, "a", "b")
		zsend(t, rep, "x", "y")
		c.wait(0, "x|y\n")
	})
	t.Run("ROUTER echoes to libzmq DEALER, hex", func(t *testing.T) {
		c := runCLI(t, bin, "-type", "ROUTER", "-bind", "tcp://127.0.0.1:0", "-echo", "-hex", "-count", "1")
		d := zsock(t, zctx(t), zmq.DEALER, func(s *zmq.Socket) error { return s.SetIdentity("d1") })
		zconnect(t, d, c.bound())
		zsend(t, d, "hi")
		zrecv(t, d, "hi")
		c.wait(0, "6431|6869\n")
	})
	t.Run("SUB connects to libzmq PUB", func(t *testing.T) {
		pub := zsock(t, zctx(t), zmq.PUB)
		c := runCLI(t, bin, "-type", "SUB", "-connect", zbind(t, pub, "127.0.0.1"), "-subscribe", "news.", "-count", "2", "-timeout", "10s")
		// A subscriber that just connected misses what was published
		// before its subscription arrived: publish until it has had two.
		for !c.exited() {
			zsend(t, pub, "sports", "dropped")
			zsend(t, pub, "news.", "kept")
			time.Sleep(5 * time.Millisecond)
		}
		c.wait(0, "news.|kept\nnews.|kept\n")
	})
	t.Run("PUB from stdin to libzmq SUB", func(t *testing.T) {
		c := runCLI(t, bin, "-type", "PUB", "-bind", "tcp://127.0.0.1:0", "-stdin")
		sub := zsock(t, zctx(t), zmq.SUB, func(s *zmq.Socket) error { return s.SetSubscribe("") })
		zconnect(t, sub, c.bound())
		// Lines typed before the subscription arrives are dropped by the
		// publisher: type until one gets through.
		z := zmqEnd{sub}
		for {
			io.WriteString(c.stdin, "sync\n")
			if _, ok := z.tryRecv(t, 20*time.Millisecond); ok {
				break
			}
		}
		io.WriteString(c.stdin, "one line\nanother\n")
		for {
			m := z.recv(t)
			if m[0] == "sync" {
				continue
			}
			if m[0] != "one line" {
				t.Fatalf("got %q", m)
			}
			break
		}
		recvEq(t, z, "another")
		c.stdin.Close()
		c.wait(0, "")
	})
	t.Run("bad flags and endpoints", func(t *testing.T) {
		for _, tt := range []struct {
			args []string
			code int
			want string
		}{
			{[]string{"-type", "PUSH", "-connect", "tcp://127.0.0.1"}, 2, "zmtp: "},
			{[]string{"-type", "PUSH", "-connect", "udp://127.0.0.1:5555"}, 2, "udp"},
			{[]string{"-type", "PUSH"}, 2, "at least one -bind or -connect"},
			{[]string{"-type", "NOPE", "-bind", "tcp://127.0.0.1:0"}, 1, "NOPE"},
			{[]string{"-type", "PUSH", "-bind", "tcp://127.0.0.1:0", "-sndhwm", "many"}, 2, "-sndhwm"},
		} {
			c := runCLI(t, bin, tt.args...)
			c.wait(tt.code, "")
			if !strings.Contains(c.errText(), tt.want) {
				t.Errorf("%v: stderr %q lacks %q", tt.args, c.errText(), tt.want)
			}
		}
	})
}
