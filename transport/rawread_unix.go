//go:build unix

package transport

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// rawReader reads a TCP or Unix socket through its syscall.RawConn, so that
// a reader with nothing buffered waits for data holding no buffer: the read
// is tried first, and only on EAGAIN, when the goroutine is about to park
// in the runtime's poller, is the empty buffer given back. Waking costs one
// pool Get; a busy connection, whose reads do not meet EAGAIN, keeps its
// buffer. net.Conn.Read offers no such moment: it needs the buffer before
// it parks.
type rawReader struct {
	rc      syscall.RawConn
	nc      net.Conn
	network string                // for errors: "tcp" or "unix"
	read    func(fd uintptr) bool // rawRead, bound once

	// The current read, for the callback.
	b      *bufReader
	direct []byte // read into this instead of b's buffer
	n      int
	err    error
}

func newRawReader(nc net.Conn) *rawReader {
	var sc syscall.Conn
	network := "tcp"
	switch c := nc.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc, network = c, "unix"
	default:
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawReader{rc: rc, nc: nc, network: network}
	r.read = r.rawRead
	return r
}

// readBuffered reads into b's buffer after its unread bytes.
func (r *rawReader) readBuffered(b *bufReader) (int, error) { return r.do(b, nil) }

// readDirect reads into p; b has nothing buffered.
func (r *rawReader) readDirect(b *bufReader, p []byte) (int, error) { return r.do(b, p) }

func (r *rawReader) do(b *bufReader, direct []byte) (int, error) {
	var n int
	var rerr error
	for {
		r.b, r.direct, r.n, r.err = b, direct, 0, nil
		err := r.rc.Read(r.read)
		n, rerr = r.n, r.err
		r.b, r.direct, r.err = nil, nil, nil
		if err == nil {
			break
		}
		// The idle deadline (Conn.readLoop) passed: at a message boundary
		// the connection is idle; inside a frame the read goes on.
		if b.idleArmed && errors.Is(err, os.ErrDeadlineExceeded) {
			if b.atBoundary && b.r == b.w {
				return 0, errIdle
			}
			b.idleArmed = false
			r.nc.SetReadDeadline(time.Time{})
			continue
		}
		return 0, err // closed, or a deadline of the handshake passed
	}
	if rerr != nil {
		return 0, &net.OpError{Op: "read", Net: r.network, Source: r.nc.LocalAddr(), Addr: r.nc.RemoteAddr(), Err: os.NewSyscallError("read", rerr)}
	}
	if n == 0 {
		return 0, io.EOF
	}
	if b.rx != nil {
		b.rx.Add(1)
	}
	return n, nil
}

// rawRead is the RawConn callback: it reports false, to wait, on EAGAIN.
func (r *rawReader) rawRead(fd uintptr) bool {
	b := r.b
	p := r.direct
	if p == nil {
		if b.buf == nil {
			b.buf = getBuf()
		}
		p = b.space()
	}
	for {
		n, err := syscall.Read(int(fd), p)
		switch err {
		case nil:
			r.n = n
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			b.releaseIfEmpty() // parking: hold no buffer while idle
			return false
		default:
			r.err = err
			return true
		}
	}
}

// control runs f with the socket's descriptor.
func (r *rawReader) control(f func(fd uintptr)) error { return r.rc.Control(f) }
