package transport

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/zmtpgo/zmtp/fsm"
	"github.com/zmtpgo/zmtp/internal/eventlog"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// chanHandler hands messages and events of its connections to channels.
type chanHandler struct {
	attached chan *Conn
	msgs     chan [][]byte
	detached chan error
}

func newChanHandler() *chanHandler {
	return &chanHandler{attached: make(chan *Conn, 16), msgs: make(chan [][]byte, 1024), detached: make(chan error, 16)}
}

func (h *chanHandler) Attach(c *Conn) bool { h.attached <- c; return true }
func (h *chanHandler) Message(c *Conn, frames [][]byte) {
	select {
	case h.msgs <- frames:
	case <-c.Done():
	}
}
func (h *chanHandler) Command(*Conn, string, []byte) {}
func (h *chanHandler) Detach(_ *Conn, err error)     { h.detached <- err }

// events collects monitor events for tests that take them in order.
type events struct{ *eventlog.Log[Event] }

func newEvents() *events { return &events{eventlog.New[Event]()} }

// add is the monitor callback.
func (ev *events) add(e Event) { ev.Add(e) }

// wait returns the next event of kind (any kind for 0), past those an
// earlier wait returned or skipped, failing after a generous deadline.
func (ev *events) wait(t *testing.T, kind EventKind) Event {
	t.Helper()
	what := "event"
	if kind != 0 {
		what = kind.String() + " event"
	}
	return ev.Next(t.Fatalf, 10*time.Second, func(e Event) bool { return kind == 0 || e.Kind == kind }, what)
}

func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("nothing received within 10s")
	}
	panic("unreachable")
}

func TestPushPullOverTCP(t *testing.T) {
	pullH, pushH := newChanHandler(), newChanHandler()
	ln, err := Listen("tcp://127.0.0.1:0", &Config{SocketType: PULL, Handler: pullH})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cn, err := Connect(ln.Endpoint(), &Config{SocketType: PUSH, Handler: pushH})
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	c := recv(t, pushH.attached)
	if c.PeerType() != PULL || c.PeerMinor() != 1 {
		t.Fatalf("peer %s minor %d", c.PeerType(), c.PeerMinor())
	}
	for i := 0; i < 100; i++ {
		if err := c.Send(context.Background(), [][]byte{{byte(i)}, []byte("second")}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 100; i++ {
		m := recv(t, pullH.msgs)
		if len(m) != 2 || m[0][0] != byte(i) || string(m[1]) != "second" {
			t.Fatalf("message %d: %q", i, m)
		}
	}
}

func TestSocketTypeMismatchIsFatal(t *testing.T) {
	evs := newEvents()
	ln, err := Listen("tcp://127.0.0.1:0", &Config{SocketType: PUSH, Handler: newChanHandler(), Monitor: evs.add})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cevs := newEvents()
	cn, err := Connect(ln.Endpoint(), &Config{SocketType: PUSH, Handler: newChanHandler(), Monitor: cevs.add})
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	e := cevs.wait(t, EventHandshakeFailed)
	if e.Reason != fsm.ReasonSocketTypeMismatch && e.Reason != fsm.ReasonErrorReceived {
		t.Fatalf("connect side: %v", e)
	}
	select {
	case <-cn.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("connector still reconnecting after a socket-type mismatch")
	}
	e = evs.wait(t, EventHandshakeFailed)
	if !errors.Is(e.Err, fsm.ReasonSocketTypeMismatch) && !errors.Is(e.Err, fsm.ReasonErrorReceived) {
		t.Fatalf("bind side: %v", e)
	}
}

func TestHTTPRequestRefusedAtFirstByte(t *testing.T) {
	evs := newEvents()
	nc := listenRaw(t, &Config{SocketType: PULL, Handler: newChanHandler(), Monitor: evs.add})
	nc.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	e := evs.wait(t, EventHandshakeFailed)
	if e.Reason != fsm.ReasonNotZMTP || !errors.Is(e.Err, ErrNotZMTP) {
		t.Fatalf("got %v", e)
	}
}

func TestSubscriptionsMatchPeerVersion(t *testing.T) {
	tests := []struct {
		minor  uint8
		cancel bool
		want   []byte // the frame as written
	}{
		{1, false, frame(FlagCommand, AppendCommandBody(nil, CmdSubscribe, []byte("topic")))},
		{1, true, frame(FlagCommand, AppendCommandBody(nil, CmdCancel, []byte("topic")))},
		{0, false, frame(0, []byte("\x01topic"))},
		{0, true, frame(0, []byte("\x00topic"))},
	}
	for _, tt := range tests {
		got := AppendSubscription(nil, tt.minor, tt.cancel, []byte("topic"))
		if string(got) != string(tt.want) {
			t.Errorf("minor %d cancel %v: got % x, want % x", tt.minor, tt.cancel, got, tt.want)
		}
	}
}

type blockingHandler struct {
	attached chan *Conn
	inMsg    chan struct{}
}

func (h blockingHandler) Attach(c *Conn) bool { h.attached <- c; return true }
func (h blockingHandler) Message(c *Conn, _ [][]byte) {
	h.inMsg <- struct{}{}
	<-c.Done()
}
func (blockingHandler) Command(*Conn, string, []byte) {}
func (blockingHandler) Detach(*Conn, error)           {}
func newBlockingHandler() blockingHandler {
	return blockingHandler{make(chan *Conn, 1), make(chan struct{}, 1)}
}

// TestCloseEndsConnsBlockedInMessage: a reader waiting inside
// Handler.Message, as a full receive queue makes it, is woken by the
// owner's Close (Listener and Connector alike) instead of hanging it.
func TestCloseEndsConnsBlockedInMessage(t *testing.T) {
	for _, listenerReads := range []bool{true, false} {
		t.Run(fmt.Sprintf("listener reads %v", listenerReads), func(t *testing.T) {
			bh, ch := newBlockingHandler(), newBlockingHandler()
			bindType, connType := PULL, PUSH
			if !listenerReads {
				bindType, connType = PUSH, PULL
			}
			l, err := Listen("tcp://127.0.0.1:0", &Config{SocketType: bindType, Handler: bh})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			cn, err := Connect(l.Endpoint(), &Config{SocketType: connType, Handler: ch})
			if err != nil {
				t.Fatal(err)
			}
			defer cn.Close()
			bound, dialled := recv(t, bh.attached), recv(t, ch.attached)
			sender, reader, closeReader := dialled, bh.inMsg, func() { l.Close() }
			if !listenerReads {
				sender, reader, closeReader = bound, ch.inMsg, cn.Close
			}
			sender.Send(context.Background(), [][]byte{[]byte("x")})
			recv(t, reader)
			done := make(chan struct{})
			go func() { closeReader(); close(done) }()
			recv(t, done)
		})
	}
}
