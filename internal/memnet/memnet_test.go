package memnet

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// dialPair listens at addr and returns both ends of one connection.
func dialPair(t *testing.T, n *Network, addr string) (client, server net.Conn, ln *Listener) {
	t.Helper()
	ln, err := n.Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	client, err = n.Dial(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return client, server, ln
}

// readAsync reads len(want) bytes in the background; the result arrives on
// the returned channel.
func readAsync(c net.Conn, size int) <-chan result {
	ch := make(chan result, 1)
	go func() {
		buf := make([]byte, size)
		k, err := io.ReadFull(c, buf)
		ch <- result{string(buf[:k]), err}
	}()
	return ch
}

type result struct {
	data string
	err  error
}

// TestBothWriteFirst: both ends write before either reads, as the ZMTP
// greeting does; net.Pipe would deadlock here.
func TestBothWriteFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(0)
		c, s, ln := dialPair(t, n, "pub:1")
		defer ln.Close()
		defer c.Close()
		defer s.Close()
		for _, conn := range []net.Conn{c, s} {
			if _, err := conn.Write([]byte("greeting")); err != nil {
				t.Fatal(err)
			}
		}
		for _, conn := range []net.Conn{c, s} {
			if r := <-readAsync(conn, 8); r.err != nil || r.data != "greeting" {
				t.Fatalf("read %q, %v", r.data, r.err)
			}
		}
		if got := c.RemoteAddr().String(); got != "pub:1" {
			t.Errorf("client's RemoteAddr %q", got)
		}
		if s.RemoteAddr() != c.LocalAddr() {
			t.Errorf("server sees %v, client is %v", s.RemoteAddr(), c.LocalAddr())
		}
	})
}

// TestCloseDeliversThenEOF: bytes written before a close are read, then EOF;
// writing to a closed peer fails.
func TestCloseDeliversThenEOF(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(0)
		c, s, ln := dialPair(t, n, "pub:1")
		defer ln.Close()
		c.Write([]byte("last words"))
		c.Close()
		if r := <-readAsync(s, 10); r.data != "last words" || r.err != nil {
			t.Fatalf("read %q, %v", r.data, r.err)
		}
		if _, err := s.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("read after close: %v, want EOF", err)
		}
		if _, err := s.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
			t.Fatalf("write to a closed peer: %v, want EPIPE", err)
		}
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read on our closed end: %v, want net.ErrClosed", err)
		}
		s.Close()
		if k := n.Conns("pub:1"); k != 0 {
			t.Fatalf("%d connections left after both ends closed", k)
		}
	})
}

// TestSilenceHoldsBytesAndCloses: nothing, not even a close, crosses a
// silent address; Resume delivers it all.
func TestSilenceHoldsBytesAndCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(0)
		c, s, ln := dialPair(t, n, "pub:1")
		defer ln.Close()
		defer s.Close()
		n.Silence("pub:1")
		if _, err := c.Write([]byte("held")); err != nil {
			t.Fatalf("write while silent: %v", err)
		}
		c.Close()
		got := readAsync(s, 4)
		time.Sleep(time.Hour)
		synctest.Wait()
		select {
		case r := <-got:
			t.Fatalf("read %q, %v while silent", r.data, r.err)
		default:
		}
		n.Resume("pub:1")
		if r := <-got; r.data != "held" || r.err != nil {
			t.Fatalf("after resume: %q, %v", r.data, r.err)
		}
		if _, err := s.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("the held close: %v, want EOF", err)
		}
	})
}

// TestSilentWritesFillThenBlock: a silent peer's buffer fills and then
// Write blocks, until a write deadline or Resume.
func TestSilentWritesFillThenBlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(16)
		c, s, ln := dialPair(t, n, "pub:1")
		defer ln.Close()
		defer c.Close()
		defer s.Close()
		n.Silence("pub:1")
		c.SetWriteDeadline(time.Now().Add(time.Second))
		start := time.Now()
		k, err := c.Write(make([]byte, 40))
		if k != 16 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Write = %d, %v; want 16 and a timeout", k, err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("the write deadline took %v", d)
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("%v is not a net.Error timeout", err)
		}
		c.SetWriteDeadline(time.Time{})
		done := make(chan error, 1)
		go func() { _, err := c.Write(make([]byte, 8)); done <- err }()
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("write into a full buffer returned %v", err)
		default:
		}
		n.Resume("pub:1")
		go io.Copy(io.Discard, s)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// TestReadDeadline: a read times out at its deadline, on the virtual
// clock, with an error the ZMTP engine reads as a handshake timeout.
func TestReadDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(0)
		c, s, ln := dialPair(t, n, "pub:1")
		defer ln.Close()
		defer c.Close()
		defer s.Close()
		start := time.Now()
		c.SetReadDeadline(start.Add(200 * time.Millisecond))
		_, err := c.Read(make([]byte, 1))
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read: %v, want a deadline error", err)
		}
		if d := time.Since(start); d != 200*time.Millisecond {
			t.Fatalf("timed out after %v", d)
		}
		// A deadline moved while a Read waits applies to it.
		got := readAsync(c, 1)
		synctest.Wait()
		c.SetReadDeadline(time.Now().Add(time.Second))
		if r := <-got; !errors.Is(r.err, os.ErrDeadlineExceeded) {
			t.Fatalf("read: %v, want a deadline error", r.err)
		}
		c.SetReadDeadline(time.Time{})
		s.Write([]byte("z"))
		if r := <-readAsync(c, 1); r.data != "z" {
			t.Fatalf("after clearing the deadline: %q, %v", r.data, r.err)
		}
	})
}

// TestReset breaks both ends at once, even while silent.
func TestReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(0)
		c, s, ln := dialPair(t, n, "pub:1")
		defer ln.Close()
		n.Silence("pub:1")
		got := readAsync(s, 1)
		synctest.Wait()
		n.Reset("pub:1")
		if r := <-got; !errors.Is(r.err, syscall.ECONNRESET) {
			t.Fatalf("server read: %v, want ECONNRESET", r.err)
		}
		if _, err := c.Write([]byte("x")); !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("client write: %v, want ECONNRESET", err)
		}
		var oe *net.OpError
		if _, err := c.Read(make([]byte, 1)); !errors.As(err, &oe) {
			t.Fatalf("client read: %v, want a *net.OpError", err)
		}
		c.Close()
		s.Close()
		if k := n.Conns("pub:1"); k != 0 {
			t.Fatalf("%d connections left", k)
		}
	})
}

// TestDialRefusedAndRelisten: no listener, a refusal; a closed listener
// frees its address for the next one ("the publisher restarted").
func TestDialRefusedAndRelisten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(0)
		ctx := context.Background()
		if _, err := n.Dial(ctx, "tcp", "pub:1"); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("dial with nobody listening: %v", err)
		}
		ln, err := n.Listen("pub:1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.Listen("pub:1"); !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("second listen: %v", err)
		}
		pending, err := n.Dial(ctx, "tcp", "pub:1")
		if err != nil {
			t.Fatal(err)
		}
		accepted := make(chan error, 1)
		go func() { _, err := ln.Accept(); accepted <- err }()
		if err := <-accepted; err != nil {
			t.Fatal(err)
		}
		go func() { _, err := ln.Accept(); accepted <- err }()
		synctest.Wait()
		ln.Close()
		if err := <-accepted; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close: %v", err)
		}
		pending.Close()
		if _, err := n.Dial(ctx, "tcp", "pub:1"); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("dial after Close: %v", err)
		}
		ln2, err := n.Listen("pub:1")
		if err != nil {
			t.Fatalf("relisten: %v", err)
		}
		// A connection dialled but never accepted is reset by Close.
		c, err := n.Dial(ctx, "tcp", "pub:1")
		if err != nil {
			t.Fatal(err)
		}
		ln2.Close()
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("unaccepted connection after Close: %v", err)
		}
		c.Close()
	})
}

// TestDialWaitsWhileSilent: a dial to a silent address hangs until Resume,
// then connects (or is refused); its context ends the wait.
func TestDialWaitsWhileSilent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(0)
		ln, err := n.Listen("pub:1")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		n.Silence("pub:1")
		type dialed struct {
			c   net.Conn
			err error
		}
		ch := make(chan dialed, 1)
		go func() { c, err := n.Dial(context.Background(), "tcp", "pub:1"); ch <- dialed{c, err} }()
		time.Sleep(time.Minute)
		synctest.Wait()
		select {
		case d := <-ch:
			t.Fatalf("dial returned %v while silent", d.err)
		default:
		}
		n.Resume("pub:1")
		d := <-ch
		if d.err != nil {
			t.Fatal(d.err)
		}
		d.c.Close()

		n.Silence("pub:1")
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		if _, err := n.Dial(ctx, "tcp", "pub:1"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("dial with a deadline while silent: %v", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("the dial gave up after %v", d)
		}
	})
}

// TestStall: dials to a stalled address connect and are accepted, but
// nothing crosses until Resume.
func TestStall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(0)
		ln, err := n.Listen("pub:1")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		n.Stall("pub:1")
		c, err := n.Dial(context.Background(), "tcp", "pub:1")
		if err != nil {
			t.Fatalf("dial while stalled: %v", err)
		}
		defer c.Close()
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		c.Write([]byte("hi"))
		got := readAsync(s, 2)
		time.Sleep(time.Minute)
		synctest.Wait()
		select {
		case r := <-got:
			t.Fatalf("read %q, %v while stalled", r.data, r.err)
		default:
		}
		n.Resume("pub:1")
		if r := <-got; r.data != "hi" || r.err != nil {
			t.Fatalf("after resume: %q, %v", r.data, r.err)
		}
	})
}
