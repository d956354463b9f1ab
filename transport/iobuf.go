package transport

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// ioBuf is a connection's read or write buffer. Buffers are pooled and a
// connection holds one only while bytes sit in it: an idle connection, with
// nothing half-read and nothing unflushed, holds none (two 64 KiB buffers
// each would be 1.3 GB allocated for ten thousand idle peers), while a busy
// one still moves many frames per system call.
type ioBuf [ioBufferSize]byte

var bufPool = sync.Pool{New: func() any { return new(ioBuf) }}

func getBuf() *ioBuf { return bufPool.Get().(*ioBuf) }

func putBuf(b *ioBuf) { bufPool.Put(b) }

// bufReader is a buffered reader, like bufio.Reader with a 64 KiB buffer,
// that gives its buffer back whenever it is empty and must wait for data.
// Over a TCP or Unix socket (see rawread_unix.go) it waits for readability
// without a buffer and takes one only once bytes are there; over other
// streams it keeps its buffer from the first read until Release.
type bufReader struct {
	src  io.Reader
	raw  *rawReader     // nil: plain reads from src
	rx   *atomic.Uint64 // reads that returned bytes, for the heartbeat clock; may be nil
	buf  *ioBuf         // nil while nothing is buffered
	r, w int            // buf[r:w] is unread
	err  error          // the last read error, returned (once) when the buffer runs short
	// The idle deadline (Conn.readLoop): set on the connection; and
	// whether this read waits at a message boundary, where its passing
	// means the connection is idle rather than a read to retry.
	idleArmed  bool
	atBoundary bool
	// fillMax, when set, caps what one read into the buffer takes: after
	// a large frame the next header is read alone, so that the body after
	// it goes straight into its own slice rather than through the buffer.
	fillMax int
}

// readErr returns the pending read error and clears it, as bufio does: a
// timeout while waiting does not end the stream.
func (b *bufReader) readErr() error {
	err := b.err
	b.err = nil
	return err
}

// Buffered returns the number of unread bytes in the buffer.
func (b *bufReader) Buffered() int { return b.w - b.r }

// fill reads once into the buffer, after moving unread bytes to its front.
func (b *bufReader) fill() {
	if b.r > 0 {
		copy(b.buf[:], b.buf[b.r:b.w])
		b.w -= b.r
		b.r = 0
	}
	var n int
	var err error
	if b.raw != nil {
		n, err = b.raw.readBuffered(b)
	} else {
		if b.buf == nil {
			b.buf = getBuf()
		}
		n, err = b.readPlain(b.space())
	}
	b.w += n
	if err != nil {
		b.err = err
	}
}

// space is where the next read goes: the free end of the buffer, no more
// than fillMax bytes of it when that is set.
func (b *bufReader) space() []byte {
	p := b.buf[b.w:]
	if b.fillMax > 0 && len(p) > b.fillMax {
		p = p[:b.fillMax]
	}
	return p
}

// readPlain reads from src, retrying a read that returns nothing and no
// error, as bufio does, a bounded number of times.
func (b *bufReader) readPlain(p []byte) (int, error) {
	for range 100 {
		n, err := b.src.Read(p)
		if n > 0 && b.rx != nil {
			b.rx.Add(1)
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
	return 0, io.ErrNoProgress
}

// Peek returns the next n bytes (n at most the buffer size) without
// consuming them. Fewer bytes come with the error that stopped the read.
func (b *bufReader) Peek(n int) ([]byte, error) {
	for b.w-b.r < n && b.err == nil {
		b.fill()
	}
	if b.w-b.r < n {
		return b.unread(), b.readErr()
	}
	return b.buf[b.r : b.r+n], nil
}

func (b *bufReader) unread() []byte {
	if b.buf == nil {
		return nil
	}
	return b.buf[b.r:b.w]
}

// Discard skips n buffered bytes; n must not exceed Buffered.
func (b *bufReader) Discard(n int) { b.r += n }

// directMin is the size from which a read with nothing buffered goes
// straight into the caller's slice, and a write goes out from it without
// a copy into the buffer: a large frame body is then copied by the kernel
// alone, as libzmq does.
const directMin = 8 << 10

// Read reads up to len(p) bytes. With nothing buffered, a read of at
// least directMin goes straight into p.
func (b *bufReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if b.r == b.w {
		if b.err != nil {
			return 0, b.readErr()
		}
		// Inside a large body (fillMax set), the rest goes into place
		// whatever its size: through the capped buffer it would take a
		// system call per fillMax bytes.
		if len(p) >= directMin || b.fillMax > 0 {
			if b.raw != nil {
				return b.raw.readDirect(b, p)
			}
			return b.readPlain(p)
		}
		b.r, b.w = 0, 0
		b.fill()
		if b.r == b.w {
			return 0, b.readErr()
		}
	}
	n := copy(p, b.buf[b.r:b.w])
	b.r += n
	return n, nil
}

// releaseIfEmpty gives the buffer back while it holds no unread bytes.
func (b *bufReader) releaseIfEmpty() {
	if b.buf != nil && b.r == b.w {
		putBuf(b.buf)
		b.buf = nil
		b.r, b.w = 0, 0
	}
}

// Release gives the buffer back, dropping unread bytes.
func (b *bufReader) Release() {
	if b.buf != nil {
		putBuf(b.buf)
		b.buf = nil
	}
	b.r, b.w = 0, 0
}

// bufWriter is a buffered writer, like bufio.Writer with a 64 KiB buffer,
// that takes its buffer at the first write and gives it back at each
// successful Flush.
type bufWriter struct {
	dst io.Writer
	buf *ioBuf // nil while empty
	n   int    // buf[:n] is unflushed
	err error  // sticky: after a failed write every call returns it
	// iov and vec carry a write of several slices (writeVec) without
	// allocating.
	iov [3][]byte
	vec net.Buffers
}

// Buffered returns the number of bytes waiting for Flush.
func (w *bufWriter) Buffered() int { return w.n }

// Write copies p into the buffer, flushing as it fills. A p of at least
// directMin is written straight through, after the buffered bytes and, up
// to maxWrite, in the same system call (writeVec).
func (w *bufWriter) Write(p []byte) (int, error) {
	if len(p) >= directMin {
		if err := w.writeVec(nil, p); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	if w.err != nil {
		return 0, w.err
	}
	nn := 0
	if len(p) > ioBufferSize-w.n {
		// Shorter than directMin, so something is buffered: fill the
		// buffer, flush it, and the rest fits.
		nn = copy(w.buf[w.n:], p)
		w.n += nn
		p = p[nn:]
		if err := w.Flush(); err != nil {
			return nn, err
		}
	}
	if w.buf == nil {
		w.buf = getBuf()
	}
	n := copy(w.buf[w.n:], p)
	w.n += n
	return nn + n, nil
}

// writeVec writes the buffered bytes, then head (possibly empty) and body,
// in one system call where the stream allows (net.Buffers: writev on a
// socket), and gives the buffer back: a large body goes out without a
// copy, and its header without taking a buffer.
func (w *bufWriter) writeVec(head, body []byte) error {
	if w.err != nil {
		return w.err
	}
	flush, per := writePlan(w.n, len(head), len(body))
	if flush {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	first := body[:per-len(head)]
	iov := w.iov[:0]
	if w.n > 0 {
		iov = append(iov, w.buf[:w.n])
	}
	if len(head) > 0 {
		iov = append(iov, head)
	}
	w.vec = append(iov, first)
	_, err := w.vec.WriteTo(w.dst)
	w.iov, w.vec = [3][]byte{}, nil
	if err == nil {
		_, err = writeCapped(w.dst, body[len(first):], per)
	}
	w.Release()
	if err != nil {
		w.err = err
	}
	return err
}

// WriteString is Write for a string, without converting it.
func (w *bufWriter) WriteString(s string) (int, error) {
	if len(s) > ioBufferSize-w.n || w.err != nil {
		return w.Write([]byte(s))
	}
	if w.buf == nil {
		w.buf = getBuf()
	}
	n := copy(w.buf[w.n:], s)
	w.n += n
	return n, nil
}

// Flush writes the buffered bytes and gives the buffer back.
func (w *bufWriter) Flush() error {
	if w.err != nil {
		return w.err
	}
	if w.n == 0 {
		w.Release()
		return nil
	}
	n, err := writeCapped(w.dst, w.buf[:w.n], 0)
	if n < w.n && err == nil {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.err = err
		return err
	}
	w.Release()
	return nil
}

// maxWrite caps what one system call writes; what is longer goes in
// nearly equal pieces. Over loopback TCP, a write of a little more than
// 64 KiB (a 64 KiB body with its header, or a full 64 KiB buffer) halved
// large-message throughput; our reading, not traced in the kernel: it
// leaves a segment of a few bytes behind each full one. Measured with zmtp
// perf thr-recv/thr-send for 2 s, 2 runs each, back to back: 64 KiB ours to
// ours 2386-2455 -> 4281-4407 MB/s, ours to libzmq 1644-1690 -> 4237-5232
// MB/s, 128 KiB 3005-3234 -> 4681-5447 MB/s; 100 B and 1 KiB unchanged.
// libzmq itself writes a 64 KiB message as 8 KiB and 57 KiB.
const maxWrite = 48 << 10

// writePlan says how writeVec writes n buffered bytes, then a head of h
// bytes and a body of b bytes, so that no system call writes more than
// maxWrite: flush, when the buffered bytes must go alone first; then head
// and body in nearly equal pieces of per bytes (the last may be shorter),
// head and any buffered bytes left with the first.
func writePlan(n, h, b int) (flush bool, per int) {
	flush = n > 0 && n+h+b > maxWrite
	return flush, pieceSize(h+b, maxWrite) // over maxWrite/2 when split, so over h
}

// pieceSize is the size of the nearly equal pieces, of at most max bytes,
// that n bytes are split into.
func pieceSize(n, max int) int {
	if n <= max {
		return n
	}
	pieces := (n + max - 1) / max
	return (n + pieces - 1) / pieces
}

// writeCapped writes b in nearly equal pieces of at most per bytes (at
// most maxWrite when per is 0).
func writeCapped(dst io.Writer, b []byte, per int) (int, error) {
	if per <= 0 {
		per = maxWrite
	}
	per = pieceSize(len(b), per)
	n := 0
	for n < len(b) {
		end := min(n+per, len(b))
		m, err := dst.Write(b[n:end])
		n += m
		if err == nil && m < end-(n-m) {
			err = io.ErrShortWrite
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Release gives the buffer back, dropping unflushed bytes.
func (w *bufWriter) Release() {
	if w.buf != nil {
		putBuf(w.buf)
		w.buf = nil
	}
	w.n = 0
}
