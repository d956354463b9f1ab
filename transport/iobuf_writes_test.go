package transport

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// TestWritePlan: for any buffered bytes, header and body, no system call
// of writeVec's plan writes more than maxWrite, no piece is less than half
// the largest (no small tail behind a full piece). That the bytes arrive
// whole and in order is TestWritesCapped's.
func TestWritePlan(t *testing.T) {
	sizes := []int{0, 1, 9, 100, directMin, maxWrite / 2, maxWrite - 10, maxWrite - 9, maxWrite, maxWrite + 1,
		64<<10 - 1, 64 << 10, 64<<10 + 9, 100 << 10, 1 << 20, 3<<20 + 7}
	for _, n := range []int{0, 10, 1000, maxWrite - 9, ioBufferSize - 1} {
		for _, h := range []int{0, 2, maxHeaderSize} {
			for _, b := range sizes {
				flush, per := writePlan(n, h, b)
				var calls []int
				if flush {
					calls = append(calls, n) // Flush, itself capped below
				}
				left := h + b
				firstExtra := n
				if flush {
					firstExtra = 0
				}
				for first := true; left > 0 || first; first = false {
					c := min(per, left)
					left -= c
					if first {
						c += firstExtra
					}
					calls = append(calls, c)
				}
				hi, lo := 0, 1<<62
				for i, c := range calls {
					if !(flush && i == 0) {
						hi, lo = max(hi, c), min(lo, c)
						if c > maxWrite {
							t.Fatalf("n=%d h=%d b=%d: a call of %d bytes; calls %v", n, h, b, c, calls)
						}
					}
				}
				if len(calls) > 2 && lo < hi/2 && lo != calls[len(calls)-1] {
					t.Fatalf("n=%d h=%d b=%d: calls %v: a small piece among large ones", n, h, b, calls)
				}
				if pieces := len(calls) - btoi(flush); pieces > 1 && calls[len(calls)-1] < hi/2 {
					t.Fatalf("n=%d h=%d b=%d: calls %v end in a small tail", n, h, b, calls)
				}
			}
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// writeLog records the size of each Write and keeps the bytes.
type writeLog struct {
	bytes.Buffer
	sizes []int
}

func (w *writeLog) Write(p []byte) (int, error) {
	w.sizes = append(w.sizes, len(p))
	return w.Buffer.Write(p)
}

// TestWritesCapped: frames after buffered bytes, and full buffers, arrive
// whole and in order, and no single Write is longer than maxWrite.
func TestWritesCapped(t *testing.T) {
	for _, envelope := range []int{8, 60000} {
		for _, size := range []int{directMin, maxWrite - maxHeaderSize, maxWrite, 64 << 10, 100 << 10, 1 << 20} {
			body := make([]byte, size)
			for i := range body {
				body[i] = byte(i * 7)
			}
			env := bytes.Repeat([]byte{'e'}, envelope)
			var dst writeLog
			w := NewWriter(&dst)
			if err := w.WriteFrame(FlagMore, env); err != nil {
				t.Fatal(err)
			}
			if err := w.WriteFrame(0, body); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			want := frameStream(Frame{Flags: FlagMore, Body: env}, Frame{Body: body})
			if !bytes.Equal(dst.Bytes(), want) {
				t.Fatalf("envelope %d B, body %d B: the stream differs from the frames", envelope, size)
			}
			for _, n := range dst.sizes {
				if n > maxWrite {
					t.Fatalf("envelope %d B, body %d B: a write of %d bytes; writes %v", envelope, size, n, dst.sizes)
				}
			}
		}
	}
}

// shortWriter accepts at most 10 bytes per call and reports no error.
type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return min(len(p), 10), nil }

// TestShortWriteFails: a writer that takes less than it was given without
// an error fails the write with io.ErrShortWrite rather than looping.
func TestShortWriteFails(t *testing.T) {
	w := NewWriter(shortWriter{})
	if err := w.WriteFrame(0, make([]byte, 100<<10)); !errors.Is(err, io.ErrShortWrite) {
		t.Fatalf("large frame: %v, want io.ErrShortWrite", err)
	}
	w = NewWriter(shortWriter{})
	w.WriteFrame(0, make([]byte, 100))
	if err := w.Flush(); !errors.Is(err, io.ErrShortWrite) {
		t.Fatalf("flush: %v, want io.ErrShortWrite", err)
	}
}
