package transport

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"sync/atomic"
)

// Frame flag bits (RFC 23 §Framing). Bits 3–7 are reserved and must be zero.
const (
	// FlagMore marks a message frame that has more frames after it.
	FlagMore byte = 1
	// FlagLong marks a header whose size field is 8 bytes instead of 1.
	FlagLong byte = 2
	// FlagCommand marks a command frame (READY, PING, SUBSCRIBE, …).
	FlagCommand byte = 4

	flagsReserved byte = 0xF8
)

// MaxCommandSize is the largest command frame body accepted, whatever the
// max message size is. Commands are small: a NULL READY with a 255-byte
// Identity is under 300 bytes, a PLAIN HELLO at most 1+5+1+255+1+255 = 518,
// a CURVE INITIATE about 250 bytes plus its metadata. 64 KiB leaves room for
// generous application metadata ("X-" properties) while bounding what an
// unauthenticated peer can make us buffer during the handshake.
//
// The limit is separate from the max message size on purpose: libzmq applies
// ZMQ_MAXMSGSIZE to commands too, so a small message limit there can break
// the handshake itself.
const MaxCommandSize = 64 << 10

const (
	maxShortSize   = 255
	maxHeaderSize  = 9                     // flags + 8-byte size
	ioBufferSize   = 64 << 10              // read and write buffers: many small frames per syscall
	bodyChunkSize  = 1 << bodyPoolMaxShift // 256 KiB: first allocation for a large body; grows as data arrives
	largeBody      = ioBufferSize / 2      // after a body this large the next header is read alone (fillMax)
	maxFrameLength = math.MaxInt
)

// AppendFrameHeader appends a frame header for a body of size bytes: the short
// form for 0–255 bytes, the long form above. It sets or clears FlagLong in
// flags itself, so callers pass only FlagMore and FlagCommand. size must not
// be negative.
func AppendFrameHeader(dst []byte, flags byte, size int) []byte {
	if size < 0 {
		panic("zmtp: negative frame size")
	}
	if size <= maxShortSize {
		return append(dst, flags&^FlagLong, byte(size))
	}
	dst = append(dst, flags|FlagLong)
	return binary.BigEndian.AppendUint64(dst, uint64(size))
}

// ParseFrameHeader parses a frame header from the start of b.
//
// If b is too short, need > 0 is the total number of bytes required (2 until
// the flags byte is known, then 2 or 9) and the other results are not
// meaningful; call again with more bytes. On success n is the header length
// and size the declared body length.
//
// The declared size is checked here, before anyone allocates for it: data
// frames against max (max < 0 means unlimited), command frames against
// MaxCommandSize. Either way the size must fit in an int (RFC 23 allows up to
// 2^63-1). Reserved flag bits, or COMMAND together with MORE, give
// ErrReservedFlags as soon as the flags byte is seen.
func ParseFrameHeader(b []byte, max int64) (flags byte, size uint64, n int, need int, err error) {
	if len(b) == 0 {
		return 0, 0, 0, 2, nil
	}
	flags = b[0]
	if err := checkFlags(flags); err != nil {
		return flags, 0, 0, 0, err
	}
	n = 2
	if flags&FlagLong != 0 {
		n = maxHeaderSize
	}
	if len(b) < n {
		return flags, 0, 0, n, nil
	}
	if n == 2 {
		size = uint64(b[1])
	} else {
		size = binary.BigEndian.Uint64(b[1:9])
	}
	limit, kind := max, "message frame"
	if flags&FlagCommand != 0 {
		limit, kind = MaxCommandSize, "command"
	}
	if limit >= 0 && size > uint64(limit) {
		return flags, size, 0, 0, fmt.Errorf("%w: %s declared %d bytes, limit %d", ErrFrameTooLarge, kind, size, limit)
	}
	if size > maxFrameLength {
		return flags, size, 0, 0, fmt.Errorf("%w: %s declared %d bytes, limit %d", ErrFrameTooLarge, kind, size, uint64(maxFrameLength))
	}
	return flags, size, n, 0, nil
}

// Frame is one frame read from the wire.
type Frame struct {
	// Flags holds FlagMore and FlagCommand. FlagLong is cleared: it describes
	// the header's encoding, not the frame.
	Flags byte
	// Body is the frame body, owned by the caller; nil when empty.
	Body []byte
}

// More reports whether more frames of the same message follow.
func (f Frame) More() bool { return f.Flags&FlagMore != 0 }

// IsCommand reports whether the frame is a command.
func (f Frame) IsCommand() bool { return f.Flags&FlagCommand != 0 }

// Reader reads a greeting and then frames from a byte stream. It is not safe
// for concurrent use: one goroutine owns a connection's Reader. After any
// error other than a clean io.EOF the stream is out of sync and the
// connection must be closed.
type Reader struct {
	br  *bufReader
	max int64 // max data frame body; < 0 is unlimited
	// arena is where small data bodies are carved from (shortBuffered): one
	// allocation, with no pointers for the collector to scan, per
	// arenaSize bytes of small bodies rather than one per frame. Each body
	// is capped at its length, so an append moves it out rather than into
	// its neighbour; a body kept keeps its arena, as in libzmq, whose
	// received messages share its decoder's buffer. DropArena lets an
	// idle connection hold none.
	arena []byte
	// idleWait: the next frame starts a message, so that an idle deadline
	// passing before its first byte means idle (Conn.readLoop).
	idleWait bool
}

// NewReader returns a Reader over r with a 64 KiB buffer. maxMsgSize limits
// each data frame's body; a negative value means unlimited (libzmq's
// ZMQ_MAXMSGSIZE default). Command frames are limited by MaxCommandSize.
func NewReader(r io.Reader, maxMsgSize int64) *Reader {
	return &Reader{br: &bufReader{src: r}, max: maxMsgSize}
}

// newConnReader returns a Reader over a connection that counts in rx the
// reads that returned bytes. Over TCP and Unix sockets it holds a buffer
// only while bytes are buffered (rawReader).
func newConnReader(nc net.Conn, rx *atomic.Uint64, maxMsgSize int64) *Reader {
	return &Reader{br: &bufReader{src: nc, raw: newRawReader(nc), rx: rx}, max: maxMsgSize}
}

// Release returns the Reader's buffer for reuse by other connections. The
// Reader must not be used after.
func (r *Reader) Release() {
	if r != nil && r.br != nil {
		r.br.Release()
		r.br = nil
	}
}

// ReadFull reads exactly len(p) bytes, for the greeting. It returns io.EOF
// if the stream ended before the first byte, io.ErrUnexpectedEOF if it ended
// later.
func (r *Reader) ReadFull(p []byte) error {
	_, err := io.ReadFull(r.br, p)
	return err
}

// ReadGreeting reads and parses the peer's greeting in three steps, judging
// the version as early as possible: after 1 byte (a ZMTP 1.0 peer may send
// only a 2-byte identity frame and then wait), after 11 bytes (a ZMTP 2.0
// peer sends 12 and waits), and after all 64. Send your own whole greeting
// before calling it: libzmq sends the rest of its greeting only after seeing
// ours.
func (r *Reader) ReadGreeting() (Greeting, error) {
	var b [GreetingSize]byte
	if err := r.ReadFull(b[:1]); err != nil {
		return Greeting{}, greetingReadError(err)
	}
	if err := CheckSignature(b[:1]); err != nil {
		return Greeting{}, err
	}
	if err := r.ReadFull(b[1:SignatureSize]); err != nil {
		return Greeting{}, greetingReadError(err)
	}
	if err := CheckSignature(b[:SignatureSize]); err != nil {
		return Greeting{}, err
	}
	if err := r.ReadFull(b[SignatureSize:]); err != nil {
		return Greeting{}, greetingReadError(err)
	}
	return ParseGreeting(b[:])
}

// greetingReadError marks a greeting cut short as malformed, keeping the
// underlying error for errors.Is; a stream that ended before its first byte
// stays a plain io.EOF.
func greetingReadError(err error) error {
	if err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: stream ended inside the greeting: %w", ErrMalformedGreeting, err)
	}
	return err
}

// ReadFrame reads the next frame. It returns io.EOF when the stream ends
// cleanly between frames, and an error wrapping both ErrMalformedFrame and
// io.ErrUnexpectedEOF when it ends inside one.
//
// The declared size is checked before anything is allocated, and even an
// allowed large size is not allocated up front: the body starts at most
// 256 KiB, allocated only once its first byte has arrived, and grows as the
// peer actually sends data. A 9-byte header declaring 2^62 bytes therefore
// costs nothing until the peer backs it with bytes.
func (r *Reader) ReadFrame() (Frame, error) {
	if f, ok := r.shortBuffered(); ok {
		return f, nil
	}
	r.br.atBoundary = r.idleWait && r.br.Buffered() == 0
	hdr, err := r.br.Peek(2)
	r.br.atBoundary = false
	if err != nil {
		return Frame{}, frameReadError(err, len(hdr) == 0, "header")
	}
	flags, size, n, need, err := ParseFrameHeader(hdr, r.max)
	if err != nil {
		return Frame{}, err
	}
	if need > 0 {
		if hdr, err = r.br.Peek(need); err != nil {
			return Frame{}, frameReadError(err, false, "header")
		}
		if flags, size, n, _, err = ParseFrameHeader(hdr, r.max); err != nil {
			return Frame{}, err
		}
	}
	r.br.Discard(n)
	// Past a large header, read no more than a header at a time into the
	// buffer: the body goes into place without passing the buffer, and so
	// does the next one if it is large too. Bodies smaller than half the
	// buffer are cheaper to copy than to read alone.
	if size >= largeBody {
		// A header and the first byte of its body: the body's wait
		// before allocation (readBody's Peek) then costs no read of its own.
		r.br.fillMax = maxHeaderSize + 1
	} else {
		r.br.fillMax = 0
	}
	body, err := r.readBody(int(size))
	if err != nil {
		return Frame{}, err
	}
	return Frame{Flags: flags &^ FlagLong, Body: body}, nil
}

// shortFrameBuffered reports whether the next frame is a short frame whole
// in the buffer, so that reading it cannot wait for bytes (it may still
// fail: its flags are checked by the read). When it is not, the next
// ReadFrame may have to wait.
func (r *Reader) shortFrameBuffered() bool {
	_, _, ok := r.br.shortFrame()
	return ok
}

// shortFrame returns the flags and body size of the next frame if it is a
// short frame whole in the buffer; its flags are not checked.
func (b *bufReader) shortFrame() (flags byte, size int, ok bool) {
	if b.w-b.r < 2 {
		return 0, 0, false
	}
	flags, size = b.buf[b.r], int(b.buf[b.r+1])
	return flags, size, flags&FlagLong == 0 && 2+size <= b.w-b.r
}

// The body arena of Reader: its size, and the largest body carved from it.
const (
	arenaSize = 2048
	arenaBody = 128
)

// DropArena lets go of the rest of the current body arena: a connection
// about to wait for data holds none.
func (r *Reader) DropArena() { r.arena = nil }

// shortBuffered takes a frame with a short header (body of 0-255 bytes)
// that is whole in the buffer, the common case of small messages, without
// the general path's peeks and copies; anything else is left to it.
func (r *Reader) shortBuffered() (Frame, bool) {
	b := r.br
	flags, size, ok := b.shortFrame()
	if !ok || flags&flagsReserved != 0 || flags&(FlagCommand|FlagMore) == FlagCommand|FlagMore ||
		flags&FlagCommand == 0 && r.max >= 0 && int64(size) > r.max {
		return Frame{}, false
	}
	buf := b.buf[b.r:b.w]
	var body []byte
	if size > arenaBody || flags&FlagCommand != 0 {
		// A command's body may be kept for the connection's life (the
		// metadata of READY holds slices of it): never an arena's.
		body = make([]byte, size)
		copy(body, buf[2:2+size])
	} else if size > 0 {
		if len(r.arena) < size {
			// No bigger than what is buffered: a connection that sent one
			// small message gets an arena of about its size.
			r.arena = make([]byte, min(arenaSize, len(buf)))
		}
		body, r.arena = r.arena[:size:size], r.arena[size:]
		copy(body, buf[2:2+size])
	}
	b.r += 2 + size
	b.fillMax = 0
	return Frame{Flags: flags, Body: body}, true
}

// readBody reads a body of size bytes into a fresh slice of exactly that
// length, growing the slice only as data arrives.
func (r *Reader) readBody(size int) ([]byte, error) {
	if size == 0 {
		return nil, nil
	}
	// Wait for the first body byte before allocating anything, so a header
	// alone never costs memory.
	if r.br.Buffered() == 0 {
		if _, err := r.br.Peek(1); err != nil {
			return nil, frameReadError(err, false, "body")
		}
	}
	if size <= bodyChunkSize {
		body := newBody(size)
		if _, err := io.ReadFull(r.br, body); err != nil {
			return nil, frameReadError(err, false, "body")
		}
		return body, nil
	}
	// Doubling keeps the copying linear and what is allocated within a small
	// factor (under 4x, counting the chunks left behind) of what the peer
	// has actually sent.
	body := make([]byte, 0, bodyChunkSize)
	for len(body) < size {
		if len(body) == cap(body) {
			if _, err := r.br.Peek(1); err != nil { // more data before more memory
				return nil, frameReadError(err, false, "body")
			}
			grown := make([]byte, len(body), min(size, 2*cap(body)))
			copy(grown, body)
			body = grown
		}
		m, err := io.ReadFull(r.br, body[len(body):cap(body)])
		body = body[:len(body)+m]
		if err != nil {
			return nil, frameReadError(err, false, "body")
		}
	}
	return body, nil
}

// frameReadError turns the end of the stream inside a frame into a
// malformed-frame error (still matching io.ErrUnexpectedEOF); at a frame
// boundary (atStart) io.EOF is returned as is, the normal end of a stream.
func frameReadError(err error, atStart bool, where string) error {
	if err == io.EOF && atStart {
		return io.EOF
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: stream ended inside a frame %s: %w", ErrMalformedFrame, where, io.ErrUnexpectedEOF)
	}
	return err
}

// Wait blocks until at least one byte can be read, without consuming it.
// A timeout here leaves the stream in sync, unlike one inside ReadFrame.
func (r *Reader) Wait() error {
	_, err := r.br.Peek(1)
	return err
}

// Buffered returns the number of bytes read from the stream but not yet
// consumed: a handshake can check that a peer did not pipeline data it
// should not have sent yet.
func (r *Reader) Buffered() int { return r.br.Buffered() }

// Writer writes a greeting and frames to a byte stream through a 64 KiB
// buffer, so that many small frames go out in one write system call. Nothing
// reaches the stream until the buffer fills or Flush is called; the buffer
// is held only while it has bytes. It is not safe for concurrent use.
type Writer struct {
	bw      bufWriter
	scratch [maxHeaderSize + 1]byte // frame header plus a command's name length
}

// NewWriter returns a Writer over w with a 64 KiB buffer.
func NewWriter(w io.Writer) *Writer { return &Writer{bw: bufWriter{dst: w}} }

// Release returns the Writer's buffer for reuse; unflushed bytes are
// dropped. The Writer must not be used after.
func (w *Writer) Release() {
	if w != nil {
		w.bw.Release()
	}
}

// WriteFrame writes one frame. flags may hold FlagMore and FlagCommand;
// FlagLong is chosen from len(body). Small bodies are copied into the buffer;
// a body of directMin or more is written straight through, without a copy,
// with its header and the buffered bytes in as few system calls as
// maxWrite allows (writeVec).
func (w *Writer) WriteFrame(flags byte, body []byte) error {
	// Refuse to put on the wire a frame that we would reject ourselves.
	if err := checkFlags(flags); err != nil {
		return err
	}
	hdr := AppendFrameHeader(w.scratch[:0], flags, len(body))
	if len(body) >= directMin {
		return w.bw.writeVec(hdr, body)
	}
	if _, err := w.bw.Write(hdr); err != nil {
		return err
	}
	_, err := w.bw.Write(body)
	return err
}

// WriteCommand writes a command frame with the given name (1–255 bytes) and
// data, without building the command body in a separate slice.
func (w *Writer) WriteCommand(name string, data []byte) error {
	if len(name) == 0 || len(name) > maxShortSize {
		return fmt.Errorf("%w: command name is %d bytes, want 1-255", ErrMalformedCommand, len(name))
	}
	if err := w.writeCommandHeader(name, len(data)); err != nil {
		return err
	}
	_, err := w.bw.Write(data)
	return err
}

// writeCommandHeader writes the frame header and the name of a command
// whose size bytes of data the caller writes next. The name is valid.
func (w *Writer) writeCommandHeader(name string, size int) error {
	h := AppendFrameHeader(w.scratch[:0], FlagCommand, 1+len(name)+size)
	h = append(h, byte(len(name)))
	if _, err := w.bw.Write(h); err != nil {
		return err
	}
	_, err := w.bw.WriteString(name)
	return err
}

// writePropertyHeader writes a metadata property's name and the length of
// its value, which the caller writes next (RFC 23 §Commands). The name is
// valid.
func (w *Writer) writePropertyHeader(name string, valueLen int) {
	w.bw.Write(append(w.scratch[:0], byte(len(name))))
	w.bw.WriteString(name)
	w.bw.Write(binary.BigEndian.AppendUint32(w.scratch[:0], uint32(valueLen)))
}

// checkFlags rejects reserved flag bits and COMMAND with MORE (RFC 23
// §Framing). libzmq's decoder ignores both; we follow the RFC's "MUST be
// zero", since libzmq never sends either and a future flag we do not know
// could change the meaning of the frame.
func checkFlags(flags byte) error {
	if flags&flagsReserved != 0 {
		return fmt.Errorf("%w: flags %#02x have reserved bits 3-7 set", ErrReservedFlags, flags)
	}
	if flags&(FlagCommand|FlagMore) == FlagCommand|FlagMore {
		return fmt.Errorf("%w: flags %#02x mark a command with MORE", ErrReservedFlags, flags)
	}
	return nil
}

// Write writes raw bytes, for the greeting. It implements io.Writer.
func (w *Writer) Write(p []byte) (int, error) { return w.bw.Write(p) }

// Flush writes the buffered bytes to the stream.
func (w *Writer) Flush() error { return w.bw.Flush() }

// Buffered returns the number of bytes waiting for Flush.
func (w *Writer) Buffered() int { return w.bw.Buffered() }
