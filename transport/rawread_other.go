//go:build !unix

package transport

import "net"

// rawReader is not available here: readers keep their buffer while they
// wait for data.
type rawReader struct{}

func newRawReader(net.Conn) *rawReader { return nil }

func (*rawReader) readBuffered(*bufReader) (int, error)       { panic("unreachable") }
func (*rawReader) readDirect(*bufReader, []byte) (int, error) { panic("unreachable") }

func (*rawReader) control(func(uintptr)) error { panic("unreachable") }
