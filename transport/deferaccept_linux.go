package transport

import (
	"fmt"
	"syscall"
	"time"
)

// deferAccept sets TCP_DEFER_ACCEPT on a listening socket (Config.DeferAccept).
func deferAccept(d time.Duration) func(network, address string, c syscall.RawConn) error {
	d = min(d, time.Hour) // beyond, the kernel's retransmission count saturates anyway
	secs := int((d + time.Second - 1) / time.Second)
	return func(network, address string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT, secs)
		}); err != nil {
			return err
		}
		if serr != nil {
			return fmt.Errorf("zmtp: TCP_DEFER_ACCEPT: %w", serr)
		}
		return nil
	}
}
