package transport

import (
	"net/netip"
	"runtime"
	"sync"
	"testing"
)

// TestAcceptUnderPressure: after a run of refusals the listener takes
// pending connections with a raw accept4 (pressureRaw); refused peers
// must still get a reset, admitted ones a working handshake, whichever
// path took them.
func TestAcceptUnderPressure(t *testing.T) {
	cfg := &Config{SocketType: PULL, Handler: dropHandler{}}
	l, addr := pressured(t, cfg)
	g := cfg.Gate
	// Denied and allowed peers at once, so that connections wait in the
	// backlog for the raw path to take, in rounds until it has taken some
	// of both kinds (bounded: a machine may serve every dial at once).
	const denied, allowed = 24, 8
	var refusedN, admittedN int
	for round := 0; round < 50 && (l.rawKept.Load() == 0 || l.rawTaken.Load() == l.rawKept.Load()); round++ {
		var wg sync.WaitGroup
		errs := make(chan error, denied+allowed)
		for i := range denied + allowed {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i < denied {
					if _, ok, err := probe(addr, "127.0.0.2"); ok || err != nil {
						errs <- err
						if ok {
							t.Errorf("a denied peer was admitted")
						}
					}
					return
				}
				errs <- handshakeOnce(addr, "127.0.0.3")
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		refusedN += denied
		admittedN += allowed
		runtime.Gosched()
	}
	st := g.Stats()
	if st.RejectedACL != uint64(pressureMax+refusedN) || st.Accepted != uint64(admittedN) {
		t.Errorf("stats %+v, want %d rejected by ACL and %d accepted", st, pressureMax+refusedN, admittedN)
	}
	if l.rawKept.Load() == 0 || l.rawTaken.Load() == l.rawKept.Load() {
		t.Errorf("the raw accept path took %d connections and admitted %d: want some of each", l.rawTaken.Load(), l.rawKept.Load())
	}
	t.Logf("raw path took %d connections in all (%d in the concurrent rounds), admitting %d", l.rawTaken.Load(), refusedN+admittedN, l.rawKept.Load())
}

// pressured binds a listener with cfg, its gate denying 127.0.0.2, and
// has that address refused until the listener is under pressure (the raw
// accept path). The listener closes with the test.
func pressured(t *testing.T, cfg *Config) (*Listener, string) {
	t.Helper()
	cfg.Gate = NewGate()
	cfg.Gate.SetAcceptFrom(nil, []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}, false)
	l, err := Listen("tcp://127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	addr := l.Addr().String()
	for i := range pressureMax {
		if _, ok, err := probe(addr, "127.0.0.2"); ok || err != nil {
			t.Fatalf("denied peer %d: admitted %v, err %v", i, ok, err)
		}
	}
	return l, addr
}
