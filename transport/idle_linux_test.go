package transport

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/zmtpgo/zmtp/fsm"
)

// parkHandler keeps the attached connections, the messages and the ends.
type parkHandler struct {
	mu       sync.Mutex
	conns    []*Conn
	msgs     []string
	detached []error
	more     chan struct{}
}

func newParkHandler() *parkHandler { return &parkHandler{more: make(chan struct{}, 1)} }

func (h *parkHandler) note() {
	select {
	case h.more <- struct{}{}:
	default:
	}
}
func (h *parkHandler) Attach(c *Conn) bool {
	h.mu.Lock()
	h.conns = append(h.conns, c)
	h.mu.Unlock()
	h.note()
	return true
}
func (h *parkHandler) Message(_ *Conn, frames [][]byte) {
	h.mu.Lock()
	h.msgs = append(h.msgs, string(frames[0]))
	h.mu.Unlock()
	h.note()
}
func (h *parkHandler) Command(*Conn, string, []byte) {}
func (h *parkHandler) Detach(_ *Conn, err error) {
	h.mu.Lock()
	h.detached = append(h.detached, err)
	h.mu.Unlock()
	h.note()
}

// waitUntil polls cond, woken by the handler, for up to 10 s.
func (h *parkHandler) waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
		select {
		case <-h.more:
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (h *parkHandler) parkedCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.conns {
		c.parkMu.Lock()
		if c.parked {
			n++
		}
		c.parkMu.Unlock()
	}
	return n
}

// greetedClient completes a NULL handshake as a PUSH and returns the
// connection, open.
func greetedClient(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, netWait)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(netWait))
	if err := nullPushHandshake(nc, 0); err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Time{})
	return nc
}

// TestIdleConnectionsPark: accepted connections quiet for idleAfter park
// (their reader goroutine ends); a message resumes one and is delivered
// whole, even one split across the park; a peer that hangs up while parked
// is detached with its reason; and closing the listener ends the parked
// ones, reporting each, without a hang or a leaked goroutine (goleak).
func TestIdleConnectionsPark(t *testing.T) {
	h := newParkHandler()
	l, err := Listen("tcp://127.0.0.1:0", &Config{SocketType: PULL, Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	const n = 20
	var clients []net.Conn
	for range n {
		clients = append(clients, greetedClient(t, addr))
	}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	h.waitUntil(t, "every connection parked", func() bool { return h.parkedCount() == n })

	// A message resumes its connection; it parks again once quiet.
	if _, err := clients[0].Write(frame(0, []byte("one"))); err != nil {
		t.Fatal(err)
	}
	h.waitUntil(t, "the first message", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return len(h.msgs) == 1 })
	h.waitUntil(t, "the connection parked again", func() bool { return h.parkedCount() == n })

	// A frame cut in two by a pause longer than idleAfter: the first part
	// resumes the connection, which must wait for the rest inside the
	// frame rather than park.
	f := frame(0, []byte("split in two"))
	clients[1].Write(f[:5])
	time.Sleep(5 * idleAfter)
	clients[1].Write(f[5:])
	h.waitUntil(t, "the split message", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.msgs) == 2 && h.msgs[1] == "split in two"
	})

	// A peer that hangs up while parked.
	h.waitUntil(t, "the connection parked again", func() bool { return h.parkedCount() == n })
	clients[2].Close()
	h.waitUntil(t, "the hung-up peer detached", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return len(h.detached) == 1 })
	h.mu.Lock()
	if err := h.detached[0]; !errors.Is(err, fsm.ReasonPeerClosed) && !errors.Is(err, io.EOF) {
		t.Errorf("the hung-up peer ended with %v, want PeerClosed", err)
	}
	h.mu.Unlock()

	// Closing the listener ends the parked connections.
	done := make(chan struct{})
	go func() { l.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung on parked connections")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.detached) != n {
		t.Errorf("%d of %d connections detached", len(h.detached), n)
	}
	for _, err := range h.detached[1:] {
		if !errors.Is(err, fsm.ReasonClosed) {
			t.Errorf("a parked connection ended with %v, want Closed", err)
		}
	}
}

// TestIdleWaitAdapts: a peer that sends a little less often than
// idleAfter would park and wake its connection at every message; the
// wait doubles each time the connection is woken soon after parking, so
// it soon stops parking.
func TestIdleWaitAdapts(t *testing.T) {
	h := newParkHandler()
	l, err := Listen("tcp://127.0.0.1:0", &Config{SocketType: PULL, Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	nc := greetedClient(t, l.Addr().String())
	defer nc.Close()
	const n = 12
	for i := range n {
		time.Sleep(idleAfter * 3 / 2)
		if _, err := nc.Write(frame(0, []byte("tick"))); err != nil {
			t.Fatal(err)
		}
		h.waitUntil(t, "the tick", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return len(h.msgs) == i+1 })
	}
	h.mu.Lock()
	c := h.conns[0]
	h.mu.Unlock()
	c.parkMu.Lock()
	parks := c.parks
	c.parkMu.Unlock()
	if parks > n/2 {
		t.Errorf("parked %d times in %d messages %v apart", parks, n, idleAfter*3/2)
	}
	t.Logf("parked %d times in %d messages", parks, n)
}

// TestParkedConnectionHeartbeatTimeout: the heartbeat clock runs beside
// a parked reader: a peer that stops answering is declared dead while its
// connection is parked, and the end is reported with its reason.
func TestParkedConnectionHeartbeatTimeout(t *testing.T) {
	h := newParkHandler()
	l, err := Listen("tcp://127.0.0.1:0", &Config{SocketType: PULL, Handler: h,
		Heartbeat: Heartbeat{Interval: 5 * idleAfter, Timeout: 5 * idleAfter}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	nc := greetedClient(t, l.Addr().String()) // reads nothing more, answers no PING
	defer nc.Close()
	h.waitUntil(t, "the connection parked", func() bool { return h.parkedCount() == 1 })
	h.waitUntil(t, "the silent peer declared dead", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return len(h.detached) == 1 })
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.detached[0]; !errors.Is(err, fsm.ReasonHeartbeatTimeout) {
		t.Errorf("ended with %v, want HeartbeatTimeout", err)
	}
}
