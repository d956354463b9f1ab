package transport

import (
	"bytes"
	"testing"
)

// TestNewBodyAfterRecycle: a body taken from the pool has the size asked
// for, its size class as capacity, and nothing of the message that used
// it before past its length; slices that are not a class's size are
// ignored by Recycle.
func TestNewBodyAfterRecycle(t *testing.T) {
	for _, n := range []int{511, 512, 513, 1000, 1024, 70000, 1 << 18} {
		for range 20 { // the pool may drop what it was given (it does so at random under -race)
			old := newBody(n)
			for i := range old[:cap(old)] {
				old[:cap(old)][i] = 0xAA
			}
			Recycle(old)
			m := n - n/3
			b := newBody(m)
			if len(b) != m {
				t.Fatalf("newBody(%d) has length %d", m, len(b))
			}
			if m >= 1<<bodyPoolMinShift {
				if c := cap(b); c < m || c&(c-1) != 0 {
					t.Fatalf("newBody(%d) has capacity %d, want its power-of-two class", m, c)
				}
				if tail := b[m:cap(b)]; !bytes.Equal(tail, make([]byte, len(tail))) {
					t.Fatalf("newBody(%d): bytes of an earlier body past the length", m)
				}
			}
		}
	}
	for _, b := range [][]byte{nil, {}, make([]byte, 10), make([]byte, 600), make([]byte, 0, 1<<19), make([]byte, 0, 1000)} {
		Recycle(b) // not a class's size: left alone, no panic
	}
}
