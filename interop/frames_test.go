//go:build libzmq

package interop

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/google/go-cmp/cmp"
	zmq "github.com/pebbe/zmq4"

	"github.com/zmtpgo/zmtp/sockets"
)

// payload returns n bytes that differ from one offset to the next, so a
// shifted or truncated frame shows.
func payload(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + seed
	}
	return b
}

// frameSum stands for a frame in comparisons: a 1 MiB frame would make an
// unreadable diff.
type frameSum struct {
	Len    int
	Head   string // the first bytes, hex
	SHA256 string // first 16 hex digits
}

func sums(frames [][]byte) []frameSum {
	out := make([]frameSum, len(frames))
	for i, f := range frames {
		h := sha256.Sum256(f)
		out[i] = frameSum{Len: len(f), Head: hex.EncodeToString(f[:min(len(f), 8)]), SHA256: hex.EncodeToString(h[:8])}
	}
	return out
}

// TestFrameSizes sends messages across the short/long frame boundary (a
// 255-byte frame has a 1-byte size, 256 bytes an 8-byte one) and multipart
// messages with an empty frame, both ways over one PAIR connection, in both
// topologies.
func TestFrameSizes(t *testing.T) {
	msgs := []struct {
		name   string
		frames [][]byte
	}{
		{"0 B", [][]byte{{}}},
		{"255 B", [][]byte{payload(255, 1)}},
		{"256 B", [][]byte{payload(256, 2)}},
		{"1 MiB", [][]byte{payload(1<<20, 3)}},
		{"3 frames with an empty one", [][]byte{[]byte("first"), {}, []byte("third")}},
		{"3 frames across the boundary", [][]byte{payload(255, 4), payload(256, 5), {}}},
		{"empty, then 1 MiB", [][]byte{{}, payload(1<<20, 6)}},
	}
	for _, topo := range topologies {
		t.Run(topo.name, func(t *testing.T) {
			o, z := connectPair(t, topo, sockets.PAIR, zmq.PAIR, nil, nil)
			for _, m := range msgs {
				t.Run(m.name+"/ours to libzmq", func(t *testing.T) {
					if err := o.Send(ctxT(t), sockets.NewMsg(m.frames...)); err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(sums(m.frames), sums(zrecvBytes(t, z))); diff != "" {
						t.Fatalf("libzmq received (-want +got):\n%s", diff)
					}
				})
				t.Run(m.name+"/libzmq to ours", func(t *testing.T) {
					if err := zsendErr(z, m.frames...); err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(sums(m.frames), sums(orecvBytes(t, o))); diff != "" {
						t.Fatalf("ours received (-want +got):\n%s", diff)
					}
				})
			}
		})
	}
}
