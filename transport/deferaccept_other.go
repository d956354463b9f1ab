//go:build !linux

package transport

import (
	"syscall"
	"time"
)

// deferAccept does nothing here: TCP_DEFER_ACCEPT is Linux's.
func deferAccept(time.Duration) func(network, address string, c syscall.RawConn) error {
	return nil
}
