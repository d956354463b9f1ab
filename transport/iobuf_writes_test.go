package transport

import (
	"bytes"
	"testing"
)

// writeLog records the size of each Write and keeps the bytes.
type writeLog struct {
	bytes.Buffer
	sizes []int
}

func (w *writeLog) Write(p []byte) (int, error) {
	w.sizes = append(w.sizes, len(p))
	return w.Buffer.Write(p)
}

// TestWritesCapped: no write of a frame, a large body or a full buffer is
// longer than maxWrite; what is split goes in pieces of nearly equal size
// (no small tail after a full piece); and the bytes arrive whole, in order.
func TestWritesCapped(t *testing.T) {
	for _, size := range []int{directMin, maxWrite - maxHeaderSize, maxWrite, 64 << 10, 100 << 10, 1 << 20} {
		body := bytes.Repeat([]byte{'b'}, size)
		for i := range body {
			body[i] = byte(i * 7)
		}
		var dst writeLog
		w := NewWriter(&dst)
		// A small frame first, so the large one's write carries buffered
		// bytes and a header before the body.
		if err := w.WriteFrame(FlagMore, []byte("envelope")); err != nil {
			t.Fatal(err)
		}
		if err := w.WriteFrame(0, body); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		want := frameStream(Frame{Flags: FlagMore, Body: []byte("envelope")}, Frame{Body: body})
		if !bytes.Equal(dst.Bytes(), want) {
			t.Fatalf("%d B body: the stream differs from the frames", size)
		}
		// Over a socket the buffered bytes, the header and the first
		// piece go in one writev; a plain io.Writer gets them one by one.
		var calls []int
		pending := 0
		for _, n := range dst.sizes {
			if n < 64 {
				pending += n
				continue
			}
			calls = append(calls, pending+n)
			pending = 0
		}
		lo, hi := calls[0], calls[0]
		for _, n := range calls {
			lo, hi = min(lo, n), max(hi, n)
		}
		if hi > maxWrite {
			t.Errorf("%d B body: a write of %d bytes, over maxWrite (%d); writes %v", size, hi, maxWrite, calls)
		}
		if len(calls) > 1 && lo < hi/2 {
			t.Errorf("%d B body: writes %v: a small piece beside a large one", size, calls)
		}
	}

	// A full buffer of small frames is flushed in capped pieces too.
	var dst writeLog
	w := NewWriter(&dst)
	frame := make([]byte, 100)
	for range ioBufferSize / (len(frame) + 2) {
		if err := w.WriteFrame(0, frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, n := range dst.sizes {
		if n > maxWrite {
			t.Errorf("buffer flushed in writes of %v bytes, one over maxWrite (%d)", dst.sizes, maxWrite)
			break
		}
	}
}
