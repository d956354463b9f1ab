package transport

import (
	"net"
	"net/netip"
	"syscall"
	"testing"
)

// TestSockaddrAddr: the raw accept path must give the gate the same
// address net.Conn.RemoteAddr would.
func TestSockaddrAddr(t *testing.T) {
	for _, tc := range []struct {
		sa   syscall.Sockaddr
		want string
	}{
		{&syscall.SockaddrInet4{Port: 5555, Addr: [4]byte{127, 0, 0, 2}}, "127.0.0.2:5555"},
		{&syscall.SockaddrInet6{Port: 6666, Addr: [16]byte{15: 1}}, "[::1]:6666"},
		{&syscall.SockaddrInet6{Port: 7, Addr: [16]byte{10: 0xff, 11: 0xff, 12: 127, 15: 3}}, "127.0.0.3:7"},
	} {
		a := sockaddrAddr(tc.sa)
		ta, ok := a.(*net.TCPAddr)
		if !ok || a.String() != tc.want {
			t.Errorf("sockaddrAddr(%+v) = %v (%T), want %s", tc.sa, a, a, tc.want)
			continue
		}
		if got, want := NewGate().slotFor(ta).addr, netip.MustParseAddrPort(tc.want).Addr(); got != want {
			t.Errorf("the gate sees %v as %v, want %v", a, got, want)
		}
	}
}
