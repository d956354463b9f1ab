package transport

import (
	"bytes"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// TestLargeFrameReads: over TCP, frames around and above the buffer's
// size take a bounded number of reads each. (A body read through a
// buffer capped at a header's size once took one read per 9 bytes.)
func TestLargeFrameReads(t *testing.T) {
	for _, size := range []int{8 << 10, 10_000, 20_000, 32 << 10, 50_000, 64 << 10, 70_000, 300_000} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		const frames = 200
		body := bytes.Repeat([]byte{'z'}, size)
		go func() {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				return
			}
			defer c.Close()
			w := NewWriter(c)
			for range frames {
				if w.WriteFrame(0, body) != nil {
					return
				}
			}
			w.Flush()
		}()
		nc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		var rx atomic.Uint64
		r := newConnReader(nc, &rx, -1)
		for i := range frames {
			f, err := r.ReadFrame()
			if err != nil || len(f.Body) != size {
				t.Fatalf("size %d, frame %d: %d bytes, %v", size, i, len(f.Body), err)
			}
		}
		r.Release()
		nc.Close()
		// At most a header, a first byte and the body in place per frame,
		// plus reads the sender's pace splits.
		if reads := rx.Load(); reads > frames*3+frames*uint64(size)/(64<<10) {
			t.Errorf("%d frames of %d bytes took %d reads", frames, size, reads)
		}
	}
}
