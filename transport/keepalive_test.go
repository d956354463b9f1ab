package transport

import (
	"net"
	"syscall"
	"testing"
	"time"
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
