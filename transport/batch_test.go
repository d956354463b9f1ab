package transport

import (
	"net"
	"sync"
	"testing"

	"github.com/zmtpgo/zmtp/internal/eventlog"
)

// listenRaw listens on loopback with cfg and returns a plain TCP
// connection to it, for a test to speak raw ZMTP (or anything else) on;
// both close with the test.
func listenRaw(t *testing.T, cfg *Config) net.Conn {
	t.Helper()
	ln, err := Listen("tcp://127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// batchHandler records what a BatchHandler receives, in order: "m:<body>"
// per message, "c:<name>" per command, and the size of each batch.
type batchHandler struct {
	dropHandler
	seen    *eventlog.Log[string]
	mu      sync.Mutex
	batches []int
}

func newBatchHandler() *batchHandler { return &batchHandler{seen: eventlog.New[string]()} }

func (h *batchHandler) Message(c *Conn, frames [][]byte) { h.seen.Add("m:" + string(frames[0])) }
func (h *batchHandler) Messages(c *Conn, msgs [][][]byte) {
	h.mu.Lock()
	h.batches = append(h.batches, len(msgs))
	h.mu.Unlock()
	for _, m := range msgs {
		h.seen.Add("m:" + string(m[0]))
	}
}
func (h *batchHandler) Command(c *Conn, name string, _ []byte) { h.seen.Add("c:" + name) }

// waitSeen waits until n entries have been recorded and returns them.
func (h *batchHandler) waitSeen(t *testing.T, n int) []string {
	t.Helper()
	h.seen.AwaitCount(t.Fatalf, netWait, n, func(string) bool { return true }, "entries")
	return h.seen.All()
}

// TestBatchDelivery: messages read together reach a BatchHandler in
// batches, in order, a command between them keeps its place, and the
// messages before a frame that is still arriving are not held back for it.
func TestBatchDelivery(t *testing.T) {
	h := newBatchHandler()
	nc := listenRaw(t, &Config{SocketType: PULL, Handler: h})
	ready := readyFrame(Metadata{{Name: PropSocketType, Value: []byte("PUSH")}})
	sub := frame(FlagCommand, AppendCommandBody(nil, CmdSubscribe, []byte("t")))
	var first []byte
	for _, b := range []string{"1", "2", "3"} {
		first = append(first, frame(0, []byte(b))...)
	}
	first = append(first, sub...)
	first = append(first, frame(0, []byte("4"))...)
	// The header and part of a large frame follow in the same write: its
	// body's rest comes only after the messages before it are checked.
	large := make([]byte, 100000)
	copy(large, "L")
	head := frame(0, large)[:9+1000]
	if _, err := nc.Write(cat(nullGreeting(), ready, first, head)); err != nil {
		t.Fatal(err)
	}
	want := []string{"m:1", "m:2", "m:3", "c:SUBSCRIBE", "m:4"}
	got := h.waitSeen(t, len(want))
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("received %v, want %v first", got, want)
		}
	}
	if _, err := nc.Write(frame(0, large)[9+1000:]); err != nil {
		t.Fatal(err)
	}
	if got := h.waitSeen(t, len(want)+1); got[len(want)] != "m:"+string(large) {
		t.Fatalf("the large message came as %.10q…", got[len(want)])
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.batches[0] != 3 {
		t.Errorf("batches %v: the three messages read together came in a batch of %d, want 3", h.batches, h.batches[0])
	}
}

// TestBatchDeliveredBeforeError: messages read in the same read as a
// malformed frame are all delivered before the connection fails.
func TestBatchDeliveredBeforeError(t *testing.T) {
	h := newBatchHandler()
	nc := listenRaw(t, &Config{SocketType: PULL, Handler: h})
	ready := readyFrame(Metadata{{Name: PropSocketType, Value: []byte("PUSH")}})
	bad := []byte{0x80, 1, 'x'} // reserved flag bit: a protocol error
	if _, err := nc.Write(cat(nullGreeting(), ready, frame(0, []byte("1")), frame(0, []byte("2")), bad)); err != nil {
		t.Fatal(err)
	}
	if got := h.waitSeen(t, 2); got[0] != "m:1" || got[1] != "m:2" {
		t.Fatalf("received %v before the error, want [m:1 m:2]", got)
	}
}

// TestBatchNotHeldByAPartialMessage: messages batched before a message
// whose first frame is whole but whose last is still to come are handed
// over before the reader waits for it.
func TestBatchNotHeldByAPartialMessage(t *testing.T) {
	h := newBatchHandler()
	nc := listenRaw(t, &Config{SocketType: PULL, Handler: h})
	ready := readyFrame(Metadata{{Name: PropSocketType, Value: []byte("PUSH")}})
	if _, err := nc.Write(cat(nullGreeting(), ready, frame(0, []byte("1")), frame(0, []byte("2")), frame(FlagMore, []byte("env")))); err != nil {
		t.Fatal(err)
	}
	if got := h.waitSeen(t, 2); got[0] != "m:1" || got[1] != "m:2" {
		t.Fatalf("received %v, want [m:1 m:2]", got)
	}
	if _, err := nc.Write(frame(0, []byte("body"))); err != nil {
		t.Fatal(err)
	}
	if got := h.waitSeen(t, 3); got[2] != "m:env" {
		t.Fatalf("received %v, want the third to start with env", got)
	}
}
