//go:build libzmq

package interop

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"

	"github.com/zmtpgo/zmtp/fsm"
	"github.com/zmtpgo/zmtp/sockets"
	"github.com/zmtpgo/zmtp/transport"
)

// PLAIN (RFC 24) against libzmq 4.3, both ways, and TOKEN-HMAC (which
// libzmq does not know) against libzmq's NULL and PLAIN.

const (
	plainUser  = "alice"
	plainPass  = "0123456789abcdef-right"
	plainWrong = "0123456789abcdef-wrong"
)

// zapHandler answers libzmq's ZAP requests (RFC 27) for ctx: a PLAIN
// login is admitted, with user id "uid-" + user name, when its password
// is plainPass. It returns the logins it saw. The handler must be bound
// before the PLAIN server socket accepts a connection.
type zapHandler struct {
	mu     sync.Mutex
	logins []string // "user/ok" or "user/refused"
}

func (z *zapHandler) seen() []string {
	z.mu.Lock()
	defer z.mu.Unlock()
	return append([]string(nil), z.logins...)
}

func startZAP(t *testing.T, c *zmq.Context) *zapHandler {
	t.Helper()
	h := &zapHandler{}
	rep := zsock(t, c, zmq.REP, func(s *zmq.Socket) error { return s.SetRcvtimeo(20 * time.Millisecond) })
	if err := rep.Bind("inproc://zeromq.zap.01"); err != nil {
		t.Fatalf("bind the ZAP handler: %v", err)
	}
	zgo(t, func(stop *atomic.Bool) error {
		for !stop.Load() {
			req, err := rep.RecvMessageBytes(0)
			if zmq.AsErrno(err) == zmq.Errno(syscall.EAGAIN) { // the receive timeout: look at stop
				continue
			}
			if err != nil {
				return fmt.Errorf("ZAP recv: %w", err)
			}
			// version, request id, domain, address, routing id, mechanism, credentials…
			if len(req) < 6 || string(req[0]) != "1.0" {
				return fmt.Errorf("ZAP request %q", req)
			}
			status, text, uid := "400", "wrong password", ""
			if string(req[5]) == "PLAIN" && len(req) == 8 && string(req[7]) == plainPass {
				status, text, uid = "200", "OK", "uid-"+string(req[6])
			}
			user := ""
			if len(req) > 6 {
				user = string(req[6])
			}
			h.mu.Lock()
			h.logins = append(h.logins, user+"/"+map[bool]string{true: "ok", false: "refused"}[status == "200"])
			h.mu.Unlock()
			if err := zsendErr(rep, []byte("1.0"), req[1], []byte(status), []byte(text), []byte(uid), nil); err != nil {
				return fmt.Errorf("ZAP reply: %w", err)
			}
		}
		return nil
	})
	return h
}

// plainTable is our server's credentials: alice's password is plainPass.
func plainTable(t *testing.T) *transport.TokenTable {
	t.Helper()
	tt := transport.NewTokenTable()
	if err := tt.Add(plainUser, []byte(plainPass)); err != nil {
		t.Fatal(err)
	}
	return tt
}

// zevent is one libzmq monitor event.
type zevent struct {
	ev  zmq.Event
	val int
}

// zmonitorAll records every libzmq monitor event of s on a goroutine of its
// own (the monitor's PAIR socket is used only there), so that a test can
// both wait for one and count the others.
func zmonitorAll(t *testing.T, c *zmq.Context, s *zmq.Socket) *zevents {
	t.Helper()
	addr := fmt.Sprintf("inproc://monitor-all-%p", s)
	if err := s.Monitor(addr, zmq.EVENT_ALL); err != nil {
		t.Fatalf("libzmq monitor: %v", err)
	}
	m := zsock(t, c, zmq.PAIR, func(s *zmq.Socket) error { return s.SetRcvtimeo(20 * time.Millisecond) })
	zconnect(t, m, addr)
	zs := &zevents{more: make(chan struct{})}
	zgo(t, func(stop *atomic.Bool) error {
		for !stop.Load() {
			ev, _, val, err := m.RecvEvent(0)
			if zmq.AsErrno(err) == zmq.Errno(syscall.EAGAIN) {
				continue // the receive timeout: look at stop
			}
			if err != nil {
				return fmt.Errorf("libzmq monitor: %w", err)
			}
			zs.mu.Lock()
			zs.evs = append(zs.evs, zevent{ev, val})
			close(zs.more)
			zs.more = make(chan struct{})
			zs.mu.Unlock()
		}
		return nil
	})
	return zs
}

type zevents struct {
	mu   sync.Mutex
	evs  []zevent
	more chan struct{}
}

// wait returns the first event among want, failing after the timeout.
func (zs *zevents) wait(t *testing.T, want zmq.Event) zevent {
	t.Helper()
	deadline := time.After(timeout)
	for {
		zs.mu.Lock()
		more := zs.more
		for _, e := range zs.evs {
			if e.ev&want != 0 {
				zs.mu.Unlock()
				return e
			}
		}
		zs.mu.Unlock()
		select {
		case <-more:
		case <-deadline:
			t.Fatalf("libzmq monitor: no %v within %v; saw %v", want, timeout, zs.all())
		}
	}
}

func (zs *zevents) count(want zmq.Event) int {
	n := 0
	for _, e := range zs.all() {
		if e.ev&want != 0 {
			n++
		}
	}
	return n
}

func (zs *zevents) all() []zevent {
	zs.mu.Lock()
	defer zs.mu.Unlock()
	return append([]zevent(nil), zs.evs...)
}

func (e zevent) String() string { return fmt.Sprintf("%v(%#x)", e.ev, e.val) }

// TestPlainOursToLibzmqServer: our PUSH, a PLAIN client, connects to a
// libzmq PULL that is a PLAIN server with a ZAP handler. The right
// password delivers, and libzmq names the user the handler gave; a wrong
// one is refused on both sides, and ours does not dial again.
func TestPlainOursToLibzmqServer(t *testing.T) {
	for _, tt := range []struct {
		name string
		pass string
	}{{"right password", plainPass}, {"wrong password", plainWrong}} {
		t.Run(tt.name, func(t *testing.T) {
			c := zctx(t)
			zap := startZAP(t, c)
			z := zsock(t, c, zmq.PULL, func(s *zmq.Socket) error { return s.SetPlainServer(1) })
			zev := zmonitorAll(t, c, z)
			evs := newEvents()
			o := ours(t, sockets.PUSH, sockets.WithPlainClient(plainUser, []byte(tt.pass)),
				sockets.WithMonitor(evs.add), sockets.WithReconnectIvl(reconnectIvl))
			oconnect(t, o, zbind(t, z, "127.0.0.1"))
			if tt.pass == plainPass {
				osend(t, o, "hello", "plain")
				msg, md, err := z.RecvMessageWithMetadata(0, "User-Id")
				if err != nil {
					t.Fatalf("libzmq recv: %v", err)
				}
				if strings.Join(msg, "|") != "hello|plain" || md["User-Id"] != "uid-alice" {
					t.Fatalf("libzmq received %q with User-Id %q, want hello|plain from uid-alice", msg, md["User-Id"])
				}
				zev.wait(t, zmq.EVENT_HANDSHAKE_SUCCEEDED)
				return
			}
			e := evs.wait(t, transport.EventHandshakeFailed, failWithin)
			t.Logf("ours: %v", e)
			checkFailed(t, e, fsm.ReasonErrorReceived, `"400"`, "credentials were refused")
			ze := zev.wait(t, zmq.EVENT_HANDSHAKE_FAILED_AUTH|zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL|zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)
			t.Logf("libzmq: %v", ze)
			if ze.ev != zmq.EVENT_HANDSHAKE_FAILED_AUTH || ze.val != 400 {
				t.Errorf("libzmq reported %v, want EVENT_HANDSHAKE_FAILED_AUTH 400", ze)
			}
			// ERROR is fatal: no second try with the same password.
			evs.none(t, quietWindow, reconnectKinds...)
			if n := zev.count(zmq.EVENT_ACCEPTED); n != 1 {
				t.Errorf("libzmq accepted %d connections, want 1", n)
			}
			if got := zap.seen(); len(got) != 1 || got[0] != "alice/refused" {
				t.Errorf("ZAP saw %q, want one refused login", got)
			}
			checkNoSecret(t, e)
		})
	}
}

// TestPlainLibzmqToOurServer: a libzmq PUSH, a PLAIN client, connects to
// our PULL, a PLAIN server with a TokenTable. The right password delivers
// with the user id; a wrong one is refused on both sides with an ERROR
// libzmq understands, and libzmq does not dial again.
func TestPlainLibzmqToOurServer(t *testing.T) {
	for _, tt := range []struct {
		name string
		pass string
	}{{"right password", plainPass}, {"wrong password", plainWrong}} {
		t.Run(tt.name, func(t *testing.T) {
			c := zctx(t)
			evs := newEvents()
			o := ours(t, sockets.PULL, sockets.WithPlainServer(plainTable(t)), sockets.WithMonitor(evs.add))
			z := zsock(t, c, zmq.PUSH,
				func(s *zmq.Socket) error { return s.SetPlainUsername(plainUser) },
				func(s *zmq.Socket) error { return s.SetPlainPassword(tt.pass) },
				func(s *zmq.Socket) error { return s.SetReconnectIvl(reconnectIvl) })
			zev := zmonitorAll(t, c, z)
			zconnect(t, z, obind(t, o, "127.0.0.1"))
			if tt.pass == plainPass {
				zsend(t, z, "hello", "from libzmq")
				m, err := o.Recv(ctxT(t))
				if err != nil {
					t.Fatal(err)
				}
				if strings.Join(strs(m.Frames), "|") != "hello|from libzmq" || m.UserID != plainUser {
					t.Fatalf("received %q from user %q", m.Frames, m.UserID)
				}
				zev.wait(t, zmq.EVENT_HANDSHAKE_SUCCEEDED)
				return
			}
			e := evs.wait(t, transport.EventHandshakeFailed, failWithin)
			t.Logf("ours: %v", e)
			checkFailed(t, e, fsm.ReasonAuthFailed, "wrong password", plainUser)
			if !errors.Is(e.Err, transport.ErrAuthRefused) || e.Peer == "" {
				t.Errorf("event %v: want ErrAuthRefused and the peer's address", e)
			}
			ze := zev.wait(t, zmq.EVENT_HANDSHAKE_FAILED_AUTH|zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL|zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)
			t.Logf("libzmq: %v", ze)
			if ze.ev != zmq.EVENT_HANDSHAKE_FAILED_AUTH || ze.val != 400 {
				t.Errorf("libzmq reported %v, want EVENT_HANDSHAKE_FAILED_AUTH 400", ze)
			}
			// libzmq does not reconnect after an ERROR: no second connection.
			evs.none(t, quietWindow, transport.EventAccepted)
			if n := zev.count(zmq.EVENT_CONNECTED); n != 1 {
				t.Errorf("libzmq connected %d times, want 1: %v", n, zev.all())
			}
			checkNoSecret(t, e)
		})
	}
}

// checkNoSecret fails when an event's text shows a password.
func checkNoSecret(t *testing.T, e transport.Event) {
	t.Helper()
	for _, s := range []string{plainPass, plainWrong, string(tokenRight), string(tokenWrong)} {
		if strings.Contains(e.String(), s) {
			t.Errorf("event shows a secret: %v", e)
		}
	}
}

var (
	tokenRight = []byte("0123456789abcdef-token-right")
	tokenWrong = []byte("0123456789abcdef-token-wrong")
)

// TestTokenAgainstLibzmq: libzmq does not know TOKEN-HMAC, so a libzmq
// NULL or PLAIN peer meeting our TOKEN-HMAC client or server fails at the
// greeting, promptly, with a mechanism mismatch on both sides; neither
// side dials again, and no token byte leaves our side.
func TestTokenAgainstLibzmq(t *testing.T) {
	tokens := transport.NewTokenTable()
	if err := tokens.Add("k1", tokenRight); err != nil {
		t.Fatal(err)
	}
	zplainClient := []func(*zmq.Socket) error{
		func(s *zmq.Socket) error { return s.SetPlainUsername(plainUser) },
		func(s *zmq.Socket) error { return s.SetPlainPassword(plainPass) },
	}
	zplainServer := []func(*zmq.Socket) error{func(s *zmq.Socket) error { return s.SetPlainServer(1) }}
	for _, tt := range []struct {
		name     string
		oursBind bool
		zmech    string
		zopts    []func(*zmq.Socket) error
	}{
		{"ours TOKEN-HMAC client to libzmq NULL", false, "NULL", nil},
		{"ours TOKEN-HMAC client to libzmq PLAIN server", false, "PLAIN", zplainServer},
		{"libzmq NULL client to ours TOKEN-HMAC server", true, "NULL", nil},
		{"libzmq PLAIN client to ours TOKEN-HMAC server", true, "PLAIN", zplainClient},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := zctx(t)
			if tt.zmech == "PLAIN" {
				startZAP(t, c)
			}
			evs := newEvents()
			var o *sockets.Socket
			var z *zmq.Socket
			zopts := append([]func(*zmq.Socket) error{func(s *zmq.Socket) error { return s.SetReconnectIvl(reconnectIvl) }}, tt.zopts...)
			start := time.Now()
			var zev *zevents
			if tt.oursBind {
				o = ours(t, sockets.PULL, sockets.WithTokenServer(tokens), sockets.WithMonitor(evs.add))
				z = zsock(t, c, zmq.PUSH, zopts...)
				zev = zmonitorAll(t, c, z)
				zconnect(t, z, obind(t, o, "127.0.0.1"))
			} else {
				o = ours(t, sockets.PUSH, sockets.WithTokenClient("k1", tokenRight), sockets.WithMonitor(evs.add),
					sockets.WithReconnectIvl(reconnectIvl))
				z = zsock(t, c, zmq.PULL, zopts...)
				zev = zmonitorAll(t, c, z)
				oconnect(t, o, zbind(t, z, "127.0.0.1"))
			}
			e := evs.wait(t, transport.EventHandshakeFailed, failWithin)
			t.Logf("ours after %v: %v", time.Since(start), e)
			checkFailed(t, e, fsm.ReasonMechanismMismatch, transport.MechanismToken, tt.zmech)
			ze := zev.wait(t, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL|zmq.EVENT_HANDSHAKE_FAILED_AUTH|zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)
			t.Logf("libzmq after %v: %v", time.Since(start), ze)
			if ze.ev != zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL || ze.val != zmqProtocolErrorMechanismMismatch {
				t.Errorf("libzmq reported %v, want EVENT_HANDSHAKE_FAILED_PROTOCOL MECHANISM_MISMATCH", ze)
			}
			if d := time.Since(start); d > failWithin {
				t.Errorf("the mismatch took %v to show", d)
			}
			// Neither side tries again.
			if tt.oursBind {
				evs.none(t, quietWindow, transport.EventAccepted)
				if n := zev.count(zmq.EVENT_CONNECTED); n != 1 {
					t.Errorf("libzmq connected %d times, want 1", n)
				}
			} else {
				evs.none(t, quietWindow, reconnectKinds...)
			}
			checkNoSecret(t, e)
		})
	}
}

// TestPlainLibzmqServerWithoutZAP pins down what happens when a libzmq
// PLAIN server has no ZAP handler: libzmq reports
// EVENT_HANDSHAKE_FAILED_NO_DETAIL (errno EFAULT) and closes after our
// HELLO without a word, so ours sees PeerClosed while waiting for WELCOME
// and, as libzmq's own client does after a connection error, dials again.
func TestPlainLibzmqServerWithoutZAP(t *testing.T) {
	c := zctx(t)
	z := zsock(t, c, zmq.PULL, func(s *zmq.Socket) error { return s.SetPlainServer(1) })
	zev := zmonitorAll(t, c, z)
	evs := newEvents()
	o := ours(t, sockets.PUSH, sockets.WithPlainClient(plainUser, []byte(plainPass)),
		sockets.WithMonitor(evs.add), sockets.WithReconnectIvl(reconnectIvl))
	oconnect(t, o, zbind(t, z, "127.0.0.1"))
	e := evs.wait(t, transport.EventHandshakeFailed, failWithin)
	if e.Reason != fsm.ReasonPeerClosed || !strings.Contains(e.Err.Error(), "PlainClientWelcome") {
		t.Errorf("ours: %v; want PeerClosed while waiting for WELCOME", e)
	}
	ze := zev.wait(t, zmq.EVENT_HANDSHAKE_FAILED_AUTH|zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL|zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)
	if ze.ev != zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL || ze.val != int(syscall.EFAULT) {
		t.Errorf("libzmq reported %v, want EVENT_HANDSHAKE_FAILED_NO_DETAIL EFAULT", ze)
	}
	evs.wait(t, transport.EventConnectRetried, failWithin) // not fatal: it dials again
}
