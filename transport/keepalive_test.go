package transport

import (
	"context"
	"errors"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/zmtpgo/zmtp/fsm"
)

// sockopts reads SO_KEEPALIVE and the TCP keepalive settings of c.
func sockopts(t *testing.T, c net.Conn) (on bool, idle, intvl, cnt int) {
	t.Helper()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	raw.Control(func(fd uintptr) {
		get := func(level, opt int) int {
			v, err := syscall.GetsockoptInt(int(fd), level, opt)
			errs = append(errs, err)
			return v
		}
		on = get(syscall.SOL_SOCKET, syscall.SO_KEEPALIVE) != 0
		idle = get(syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE)
		intvl = get(syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL)
		cnt = get(syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT)
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return
}

// TestKeepAliveApplied checks that the settings reach the sockets on both
// sides, and that the zero value leaves the OS default (off on Linux)
// where Go alone would have turned keepalive on.
func TestKeepAliveApplied(t *testing.T) {
	on := KeepAlive{Mode: KeepAliveOn, Idle: 2 * time.Second, Interval: time.Second, Count: 3}
	for _, tt := range []struct {
		name string
		ka   KeepAlive
		want bool
	}{{"on", on, true}, {"default", KeepAlive{}, false}, {"off", KeepAlive{Mode: KeepAliveOff}, false}} {
		t.Run(tt.name, func(t *testing.T) {
			bindH, connH := newChanHandler(), newChanHandler()
			ln, err := Listen("tcp://127.0.0.1:0", &Config{SocketType: PULL, Handler: bindH, KeepAlive: tt.ka})
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			cn, err := Connect(ln.Endpoint(), &Config{SocketType: PUSH, Handler: connH, KeepAlive: tt.ka})
			if err != nil {
				t.Fatal(err)
			}
			defer cn.Close()
			for side, c := range map[string]*Conn{"accepted": recv(t, bindH.attached), "connecting": recv(t, connH.attached)} {
				gotOn, idle, intvl, cnt := sockopts(t, c.nc)
				if gotOn != tt.want {
					t.Errorf("%s side: SO_KEEPALIVE %v, want %v", side, gotOn, tt.want)
				}
				if tt.want && (idle != 2 || intvl != 1 || cnt != 3) {
					t.Errorf("%s side: idle %d intvl %d cnt %d, want 2 1 3", side, idle, intvl, cnt)
				}
			}
		})
	}
}

// timeoutConn reports ETIMEDOUT on reads once failing is set, as the
// kernel does when keepalive probes go unanswered.
type timeoutConn struct {
	net.Conn
	failing *atomic.Bool
}

func (c timeoutConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if c.failing.Load() {
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ETIMEDOUT)}
	}
	return n, err
}

// TestKeepaliveFailureIsItsOwnReason: when the kernel gives up on a
// connection (ETIMEDOUT from unanswered keepalive probes), the connection
// closes with reason KeepaliveFailed, which the connecting side retries.
// Unanswered probes themselves need a dropped link, which loopback cannot
// give; the kernel's error is injected here.
func TestKeepaliveFailureIsItsOwnReason(t *testing.T) {
	bindH, connH := newChanHandler(), newChanHandler()
	ln, err := Listen("tcp://127.0.0.1:0", &Config{SocketType: PUSH, Handler: bindH})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var failing atomic.Bool
	evs := newEvents()
	cn, err := Connect(ln.Endpoint(), &Config{SocketType: PULL, Handler: connH, Monitor: evs.add,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return timeoutConn{nc, &failing}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	recv(t, connH.attached)
	server := recv(t, bindH.attached)
	failing.Store(true)
	server.Send(context.Background(), [][]byte{[]byte("wake the reader")})
	ev := evs.wait(t, EventDisconnected)
	if ev.Reason != fsm.ReasonKeepaliveFailed || !errors.Is(ev.Err, syscall.ETIMEDOUT) || ev.Reason.Fatal() {
		t.Fatalf("got %v, want a non-fatal KeepaliveFailed wrapping ETIMEDOUT", ev)
	}
}
