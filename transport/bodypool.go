package transport

import (
	"math/bits"
	"sync"
)

// Received frame bodies from 512 B to 256 KiB come from pools, one per
// power-of-two size class, and Recycle gives them back. An application
// that hands its received messages back (sockets.Msg.Free, like
// zmq_msg_close in libzmq) then receives into memory that is already
// mapped and warm, instead of making the collector clear, free and the
// kernel fault in a fresh body per message; one that does not loses
// nothing, its bodies being collected as before (BenchmarkPushPull's
// 1KiB and 1KiB-free cases compare the two). Smaller bodies are left to
// the allocator: a judgement, not a measurement, that its small size
// classes cost less than a pool's Get and Put.
const (
	bodyPoolMinShift = 9  // 512 B
	bodyPoolMaxShift = 18 // 256 KiB: bodyChunkSize, above which bodies grow as they arrive
)

var (
	bodyPools [bodyPoolMaxShift - bodyPoolMinShift + 1]sync.Pool
	// bodyHolders carry slices through bodyPools, so that putting one back
	// does not allocate.
	bodyHolders = sync.Pool{New: func() any { return new([]byte) }}
)

// newBody returns a body of n bytes whose contents the caller overwrites
// entirely. A pooled one's capacity is its size class, and the bytes
// past n are cleared, so no earlier message shows through a reslice.
func newBody(n int) []byte {
	if n < 1<<bodyPoolMinShift || n > 1<<bodyPoolMaxShift {
		return make([]byte, n)
	}
	shift := bits.Len(uint(n - 1))
	if h, _ := bodyPools[shift-bodyPoolMinShift].Get().(*[]byte); h != nil {
		b := *h
		*h = nil
		bodyHolders.Put(h)
		clear(b[n:cap(b)])
		return b[:n]
	}
	return make([]byte, n, 1<<shift)
}

// Recycle gives a received frame body back for reuse by later receives.
// The caller must not use b, or anything sliced from it, afterwards, nor
// recycle it twice. A slice that is not the size of a pool class is left
// to the collector.
func Recycle(b []byte) {
	c := cap(b)
	if c < 1<<bodyPoolMinShift || c > 1<<bodyPoolMaxShift || c&(c-1) != 0 {
		return
	}
	h := bodyHolders.Get().(*[]byte)
	*h = b[:0]
	bodyPools[bits.Len(uint(c))-1-bodyPoolMinShift].Put(h)
}
