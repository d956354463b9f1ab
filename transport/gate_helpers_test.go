package transport

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zmtpgo/zmtp/fsm"
	"github.com/zmtpgo/zmtp/internal/eventlog"
)

// Helpers for dialling a bound endpoint from chosen loopback sources
// (127.0.0.2, 127.0.0.3 … and ::1) and telling from outside whether the
// gate admitted the connection.

const netWait = 10 * time.Second

// dialSrc connects to addr from the source address src.
func dialSrc(addr, src string) (net.Conn, error) {
	d := net.Dialer{Timeout: netWait}
	if src != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s from %s: %w", addr, src, err)
	}
	return nc, nil
}

// probe dials addr from src and reports whether the gate admitted the
// connection, which it returns open (the first greeting byte read). The
// gate refuses with a reset, which the dialler sees on its first read or,
// when the reset comes first, as a failed connect.
func probe(addr, src string) (net.Conn, bool, error) {
	nc, err := dialSrc(addr, src)
	if errors.Is(err, syscall.ECONNRESET) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	ok, err := admitted(nc)
	if !ok {
		nc.Close()
		return nil, false, err
	}
	return nc, true, nil
}

// admitted reads the first byte the server sends: an admitted peer gets the
// start of a greeting, a refused one a reset (or, from a listener closing,
// an EOF) without a byte.
func admitted(nc net.Conn) (bool, error) {
	nc.SetReadDeadline(time.Now().Add(netWait))
	defer nc.SetReadDeadline(time.Time{})
	var b [1]byte
	n, err := nc.Read(b[:])
	var ne net.Error
	switch {
	case n == 1 && b[0] == 0xFF:
		return true, nil
	case n == 1:
		return false, fmt.Errorf("first byte %#x is not a greeting", b[0])
	case errors.As(err, &ne) && ne.Timeout():
		return false, fmt.Errorf("neither a greeting nor a close within %v: %w", netWait, err)
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return false, nil
	default:
		return false, err
	}
}

// mustAdmit dials from src and fails unless the gate admits the
// connection, which it returns, closed at the test's end.
func mustAdmit(t testing.TB, addr, src string) net.Conn {
	t.Helper()
	nc, ok, err := probe(addr, src)
	if err != nil || !ok {
		t.Fatalf("from %s: want admitted, got refused (%v)", src, err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// mustRefuse dials from src and fails unless the gate refuses it.
func mustRefuse(t testing.TB, addr, src string) {
	t.Helper()
	nc, ok, err := probe(addr, src)
	if err != nil || ok {
		if nc != nil {
			nc.Close()
		}
		t.Fatalf("from %s: want refused, got admitted=%v (%v)", src, ok, err)
	}
}

// finishHandshake completes a NULL handshake as a PUSH peer after
// admitted has read the greeting's first byte.
func finishHandshake(t testing.TB, nc net.Conn) {
	t.Helper()
	if err := clientHandshake(nc); err != nil {
		t.Fatalf("%s: handshake: %v", nc.LocalAddr(), err)
	}
}

func clientHandshake(nc net.Conn) error {
	nc.SetDeadline(time.Now().Add(netWait))
	defer nc.SetDeadline(time.Time{})
	return nullPushHandshake(nc, 1)
}

// nullPushHandshake completes a NULL handshake as a PUSH on nc: it sends
// its greeting and READY, then reads the server's greeting, of which seen
// bytes were read already, and READY. The caller sets the deadline.
func nullPushHandshake(nc net.Conn, seen int) error {
	if _, err := nc.Write(cat(nullGreeting(), readyFrame(Metadata{{Name: PropSocketType, Value: []byte("PUSH")}}))); err != nil {
		return err
	}
	r := NewReader(nc, 1<<20)
	if seen == 0 {
		if _, err := r.ReadGreeting(); err != nil {
			return err
		}
	} else if err := r.ReadFull(make([]byte, GreetingSize-seen)); err != nil {
		return err
	}
	f, err := r.ReadFrame()
	if err != nil {
		return err
	}
	if cmd, err := ParseCommand(f.Body); err != nil || cmd.Name != CmdReady {
		return fmt.Errorf("want READY, got %v %v", cmd.Name, err)
	}
	return nil
}

// greetFirst dials from src and completes a NULL handshake sending its
// greeting and READY first, as ZMTP clients (libzmq, ours) do, before
// reading the server's.
func greetFirst(addr, src string) error {
	nc, err := dialSrc(addr, src)
	if err != nil {
		return err
	}
	defer abort(nc)
	nc.SetDeadline(time.Now().Add(netWait))
	return nullPushHandshake(nc, 0)
}

// sendRawMsg sends a one-frame message on a handshaken raw connection.
func sendRawMsg(nc net.Conn, body string) error {
	_, err := nc.Write(frame(0, []byte(body)))
	return err
}

// dropHandler takes every connection and drops its messages.
type dropHandler struct{}

func (dropHandler) Attach(*Conn) bool             { return true }
func (dropHandler) Message(*Conn, [][]byte)       {}
func (dropHandler) Command(*Conn, string, []byte) {}
func (dropHandler) Detach(*Conn, error)           {}

// evLog keeps every monitor event, for exact counts and liveness waits.
type evLog struct{ *eventlog.Log[Event] }

func newEvLog() *evLog { return &evLog{eventlog.New[Event]()} }

// add is the monitor callback.
func (l *evLog) add(e Event) { l.Add(e) }

// evMatch matches the events of kind with reason (any reason for
// ReasonNone) whose peer has prefix peer ("" for any).
func evMatch(kind EventKind, reason fsm.Reason, peer string) func(Event) bool {
	return func(e Event) bool {
		return e.Kind == kind && (reason == fsm.ReasonNone || e.Reason == reason) && strings.HasPrefix(e.Peer, peer)
	}
}

// count returns the number of events evMatch(kind, reason, peer) matches.
func (l *evLog) count(kind EventKind, reason fsm.Reason, peer string) int {
	return l.Count(evMatch(kind, reason, peer))
}

// peerIs matches the events of kind whose peer is peer, or for a peer
// ending in ':' (a host), whose peer starts with it.
func peerIs(kind EventKind, peer string) func(Event) bool {
	return func(e Event) bool {
		return e.Kind == kind && (e.Peer == peer || strings.HasSuffix(peer, ":") && strings.HasPrefix(e.Peer, peer))
	}
}

// find returns the first event peerIs(kind, peer) matches, if any yet.
func (l *evLog) find(kind EventKind, peer string) (Event, bool) {
	match := peerIs(kind, peer)
	for _, e := range l.All() {
		if match(e) {
			return e, true
		}
	}
	return Event{}, false
}

// waitCount waits until count(kind, reason, peer) reaches n.
func (l *evLog) waitCount(t testing.TB, kind EventKind, reason fsm.Reason, peer string, n int) {
	t.Helper()
	l.AwaitCount(t.Fatalf, netWait, n, evMatch(kind, reason, peer), fmt.Sprintf("%s events (reason %s, peer %q)", kind, reason, peer))
}

// gated binds a PULL listener on ep with gate g and the event log.
func gated(t testing.TB, ep string, g *Gate, evs *evLog, h Handler) *Listener {
	t.Helper()
	if h == nil {
		h = dropHandler{}
	}
	l, err := Listen(ep, &Config{SocketType: PULL, Gate: g, Monitor: evs.add, Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func prefixes(t testing.TB, cidrs ...string) []netip.Prefix {
	t.Helper()
	ps, err := ParsePrefixes(cidrs)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}
