//go:build libzmq

package interop

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	zmq "github.com/pebbe/zmq4"

	"github.com/zmtpgo/zmtp/transport"
)

// rawPeer accepts one connection from a libzmq socket on a plain TCP
// listener, so that the test speaks the greeting byte by byte.
func rawPeer(t *testing.T, z *zmq.Socket) net.Conn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	zconnect(t, z, "tcp://"+ln.Addr().String())
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(timeout))
	nc, err := ln.Accept()
	if err != nil {
		t.Fatalf("accept libzmq's connection: %v", err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(timeout))
	return nc
}

// TestLibzmqGreetingOnMechanismMismatch is the evidence behind the BUG in
// TestMechanismMismatch, and a check of the fix it suggests. A libzmq PLAIN
// client meets a hand-driven NULL peer:
//
//   - given our whole 64-byte greeting at once, as transport sends it,
//     libzmq sends its 10-byte signature only and closes: its major version
//     and mechanism were queued but never written;
//   - given our signature and major version first (11 bytes), as libzmq
//     itself does, it answers with its whole greeting (ZMTP 3.1, PLAIN), so
//     the mismatch is visible to us; when the rest of ours follows, libzmq
//     reports MECHANISM_MISMATCH and closes.
func TestLibzmqGreetingOnMechanismMismatch(t *testing.T) {
	ours := transport.Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}.Append(nil)
	plain := []func(*zmq.Socket) error{
		func(s *zmq.Socket) error { return s.SetPlainUsername("admin") },
		func(s *zmq.Socket) error { return s.SetPlainPassword("secret") },
	}
	t.Run("whole greeting at once", func(t *testing.T) {
		c := zctx(t)
		nc := rawPeer(t, zsock(t, c, zmq.PUSH, plain...))
		if _, err := nc.Write(ours); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(nc)
		if err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
			t.Fatalf("read libzmq's greeting: %v", err)
		}
		if len(got) >= 12 {
			t.Fatalf("libzmq sent %d bytes (%x): it now sends its mechanism before closing, so TestMechanismMismatch may pass", len(got), got)
		}
		if err := transport.CheckSignature(got); err != nil {
			t.Fatalf("libzmq sent %x: %v", got, err)
		}
		t.Logf("libzmq sent %d bytes and closed: %x", len(got), got)
	})
	t.Run("signature and major first", func(t *testing.T) {
		c := zctx(t)
		z := zsock(t, c, zmq.PUSH, plain...)
		zev := zmonitor(t, c, z)
		nc := rawPeer(t, z)
		if _, err := nc.Write(ours[:transport.SignatureSize+1]); err != nil {
			t.Fatal(err)
		}
		theirs := make([]byte, transport.GreetingSize)
		if _, err := io.ReadFull(nc, theirs); err != nil {
			t.Fatalf("read libzmq's greeting: %v", err)
		}
		g, err := transport.ParseGreeting(theirs)
		if err != nil {
			t.Fatalf("libzmq's greeting %x: %v", theirs, err)
		}
		if diff := cmp.Diff(transport.Greeting{Major: 3, Minor: 1, Mechanism: "PLAIN"}, g); diff != "" {
			t.Errorf("libzmq's greeting (-want +got):\n%s", diff)
		}
		if _, err := nc.Write(ours[transport.SignatureSize+1:]); err != nil {
			t.Fatal(err)
		}
		if _, val := zev(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL); val != zmqProtocolErrorMechanismMismatch {
			t.Errorf("libzmq: protocol error %#x, want MECHANISM_MISMATCH", val)
		}
		if rest, _ := io.ReadAll(nc); len(rest) != 0 {
			t.Errorf("libzmq sent %x after its greeting", rest)
		}
	})
}

func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe)
}
