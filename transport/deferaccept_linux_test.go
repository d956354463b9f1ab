package transport

import (
	"testing"
	"time"

	"github.com/zmtpgo/zmtp/fsm"
)

// TestDeferAcceptHoldsSilentPeers: with DeferAccept, a connection that
// sends nothing is not accepted (no gate check, no event), while a ZMTP
// client, which greets at once, is served without delay; the silent one
// is accepted as soon as it sends its first byte.
func TestDeferAcceptHoldsSilentPeers(t *testing.T) {
	log := newEvLog()
	l, err := Listen("tcp://127.0.0.1:0", &Config{SocketType: PULL, Gate: NewGate(), Handler: dropHandler{},
		DeferAccept: 5 * time.Second, Monitor: log.add})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addr := l.Addr().String()
	silent, err := dialSrc(addr, "127.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	t0 := time.Now()
	if err := greetFirst(addr, "127.0.0.3"); err != nil {
		t.Fatalf("a greeting client: %v", err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("a greeting client took %v", d)
	}
	// The client from .3 has been accepted; the silent one from .2, dialled
	// first, must not have been.
	if n := log.count(EventAccepted, fsm.ReasonNone, "127.0.0.2:"); n != 0 {
		t.Fatalf("the silent peer was accepted %d times before sending a byte", n)
	}
	if _, err := silent.Write(nullGreeting()[:1]); err != nil {
		t.Fatal(err)
	}
	log.waitCount(t, EventAccepted, fsm.ReasonNone, "127.0.0.2:", 1)
	if d := time.Since(t0); d > 4*time.Second {
		t.Errorf("accepted only after %v: the kernel's wait, not the byte, let it in", d)
	}
}
