package transport

import (
	"sync"
	"syscall"
	"testing"
	"time"
)

// keepAliveHandler records each attached connection's keepalive settings.
type keepAliveHandler struct {
	dropHandler
	mu   sync.Mutex
	seen [][2]int // SO_KEEPALIVE, TCP_KEEPIDLE
}

func (h *keepAliveHandler) Attach(c *Conn) bool {
	on, idle := -1, -1
	if rc, err := c.nc.(interface {
		SyscallConn() (syscall.RawConn, error)
	}).SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			on, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
			idle, _ = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE)
		})
	}
	h.mu.Lock()
	h.seen = append(h.seen, [2]int{on, idle})
	h.mu.Unlock()
	return true
}

// TestRawAcceptedKeepAlive: connections admitted by the raw accept path
// (net.FileConn, which turns Go's default keepalive on) must get the
// keepalive settings an ordinary accept would: off by default, the
// configured ones with KeepAliveOn.
func TestRawAcceptedKeepAlive(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ka       KeepAlive
		on, idle int // want
	}{
		{"default", KeepAlive{}, 0, -1},
		{"on", KeepAlive{Mode: KeepAliveOn, Idle: 2 * time.Second, Interval: time.Second, Count: 3}, 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &keepAliveHandler{}
			l, addr := pressured(t, &Config{SocketType: PULL, Handler: h, KeepAlive: tc.ka})
			for round := 0; round < 50 && l.rawKept.Load() == 0; round++ {
				var wg sync.WaitGroup
				for i := range 16 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if i%2 == 0 {
							probe(addr, "127.0.0.2")
							return
						}
						if err := handshakeOnce(addr, "127.0.0.3"); err != nil {
							t.Error(err)
						}
					}()
				}
				wg.Wait()
			}
			if l.rawKept.Load() == 0 {
				t.Fatal("the raw accept path admitted nothing")
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			for _, s := range h.seen {
				if s[0] != tc.on || tc.idle >= 0 && s[1] != tc.idle {
					t.Errorf("an admitted connection has SO_KEEPALIVE %d, TCP_KEEPIDLE %d; want %d, %d (of %d, %d raw)", s[0], s[1], tc.on, tc.idle, len(h.seen), l.rawKept.Load())
					break
				}
			}
		})
	}
}
