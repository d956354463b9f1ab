package transport

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
)

// These benchmarks split the cost of a message below package sockets: the
// codec alone (in memory), and a Conn over loopback TCP with a handler that
// only counts, so that what sockets adds on top shows by difference.

var benchSizes = []int{1, 100, 1 << 10, 64 << 10}

func benchSizeName(n int) string {
	if n >= 1<<10 {
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// BenchmarkWriteFrame is the sender's codec cost per message: one frame
// into the Writer's buffer, flushed to io.Discard when full.
func BenchmarkWriteFrame(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(benchSizeName(size), func(b *testing.B) {
			w := NewWriter(io.Discard)
			body := bytes.Repeat([]byte{'x'}, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := w.WriteFrame(0, body); err != nil {
					b.Fatal(err)
				}
			}
			w.Flush()
		})
	}
}

// BenchmarkReadFrame is the receiver's codec cost per message: one frame
// parsed from a stream that repeats 1000 encoded frames.
func BenchmarkReadFrame(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(benchSizeName(size), func(b *testing.B) {
			var enc bytes.Buffer
			w := NewWriter(&enc)
			body := bytes.Repeat([]byte{'x'}, size)
			const frames = 1000
			for range frames {
				w.WriteFrame(0, body)
			}
			w.Flush()
			src := &repeatReader{frame: enc.Bytes()}
			r := NewReader(src, -1)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				f, err := r.ReadFrame()
				if err != nil || len(f.Body) != size {
					b.Fatalf("frame of %d bytes, err %v", len(f.Body), err)
				}
			}
		})
	}
}

// countHandler counts messages and closes done at the want-th.
type countHandler struct {
	attached chan *Conn
	n, want  atomic.Int64
	done     chan struct{}
}

func newCountHandler(want int) *countHandler {
	h := &countHandler{attached: make(chan *Conn, 1), done: make(chan struct{})}
	h.want.Store(int64(want))
	return h
}

func (h *countHandler) Attach(c *Conn) bool {
	select {
	case h.attached <- c:
	default:
	}
	return true
}
func (h *countHandler) Message(*Conn, [][]byte) {
	if h.n.Add(1) == h.want.Load() {
		close(h.done)
	}
}
func (h *countHandler) Command(*Conn, string, []byte) {}
func (h *countHandler) Detach(*Conn, error)           {}

// BenchmarkConnSend is one-way throughput of a bare Conn over loopback
// TCP: Send on one side, a counting handler on the other; no socket
// queues. The clock stops at the last message received.
func BenchmarkConnSend(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(benchSizeName(size), func(b *testing.B) {
			pullH := newCountHandler(b.N + 1) // +1: the warm-up message
			ln, err := Listen("tcp://127.0.0.1:0", &Config{SocketType: PULL, Handler: pullH})
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			pushH := newCountHandler(-1)
			cn, err := Connect(ln.Endpoint(), &Config{SocketType: PUSH, Handler: pushH})
			if err != nil {
				b.Fatal(err)
			}
			defer cn.Close()
			c := <-pushH.attached
			ctx := context.Background()
			body := bytes.Repeat([]byte{'x'}, size)
			if err := c.Send(ctx, [][]byte{body}); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := c.Send(ctx, [][]byte{body}); err != nil {
					b.Fatal(err)
				}
			}
			<-pullH.done
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkBufioWrite is the floor under BenchmarkWriteFrame/100B: the same
// 102 bytes per frame through a bare bufio.Writer.
func BenchmarkBufioWrite(b *testing.B) {
	w := bufio.NewWriterSize(io.Discard, 64<<10)
	hdr := []byte{0, 100}
	body := bytes.Repeat([]byte{'x'}, 100)
	b.SetBytes(100)
	for b.Loop() {
		w.Write(hdr)
		w.Write(body)
	}
}
