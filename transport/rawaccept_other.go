//go:build !linux

package transport

import "net"

// rawAccepter is not available here: every accept makes a net.Conn.
type rawAccepter struct{}

func newRawAccepter(net.Listener) (*rawAccepter, error) { return nil, nil }

func (*rawAccepter) accept() (int, net.Addr, error) { panic("unreachable") }
func (*rawAccepter) close()                         {}

func refuseFD(int)                 {}
func closeFD(int)                  {}
func fdConn(int) (net.Conn, error) { panic("unreachable") }
