package fuzz

import (
	"context"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/zmtpgo/zmtp/internal/rawpeer"
	"github.com/zmtpgo/zmtp/sockets"
	"github.com/zmtpgo/zmtp/transport"
)

// maxMsg is the bound socket's message limit; the fuzzer tries to make it
// allocate more than that.
const maxMsg = 64 << 10

// target is one bound PULL socket and one good PUSH peer, shared by every
// fuzz input of the process: starting sockets per input would make the
// campaign slow, and sharing also checks that bad peers leave nothing
// behind that disturbs later connections.
type target struct {
	pull, push *sockets.Socket
	addr       string
	seq        uint64
}

var (
	once   sync.Once
	shared *target
	setup  error
)

func getTarget() (*target, error) {
	once.Do(func() {
		pull, err := sockets.New(sockets.PULL, sockets.WithMaxMsgSize(maxMsg), sockets.WithHandshakeTimeout(time.Second))
		if err != nil {
			setup = err
			return
		}
		if err := pull.Bind("tcp://127.0.0.1:0"); err != nil {
			setup = err
			return
		}
		push, err := sockets.New(sockets.PUSH, sockets.WithLinger(0))
		if err != nil {
			setup = err
			return
		}
		if err := push.Connect(pull.LastEndpoint()); err != nil {
			setup = err
			return
		}
		shared = &target{pull: pull, push: push, addr: pull.LastEndpoint()[len("tcp://"):]}
	})
	return shared, setup
}

// handshake is a valid NULL greeting and READY from a PUSH peer.
func handshake() []byte { return rawpeer.Handshake("PUSH", 1) }

func seeds(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 5, 'h', 'e', 'l', 'l', 'o'})
	f.Add([]byte{1, 1, 'a', 0, 1, 'b'})
	f.Add([]byte{transport.FlagLong, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{transport.FlagLong, 0, 0, 0, 0, 0, 2, 0, 0, 1, 2, 3})
	f.Add([]byte{0x04, 0x09, 0x04, 'P', 'I', 'N', 'G', 0, 10, 'c'})
	f.Add([]byte{0x04, 0x07, 0x05, 'E', 'R', 'R', 'O', 'R', 0})
	f.Add([]byte{0xf8, 0})
	// Real libzmq traffic, minus its greeting: frames as libzmq sends them.
	files, _ := filepath.Glob("../transport/testdata/libzmq/*.bin")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil && len(b) > transport.GreetingSize {
			f.Add(b[transport.GreetingSize:])
		}
	}
}

// FuzzBoundSocket sends a valid handshake then data to a bound socket, and
// checks that the socket survives, stays within its memory limit, and still
// delivers a well-behaved peer's message.
func FuzzBoundSocket(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		tg, err := getTarget()
		if err != nil {
			t.Fatal(err)
		}
		var before runtime.MemStats
		runtime.ReadMemStats(&before)

		nc, err := net.DialTimeout("tcp", tg.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		nc.Write(append(handshake(), data...))
		nc.Close()

		// The good peer's message must arrive; the fuzz input may itself
		// have carried valid messages, so skip those.
		tg.seq++
		var mark [8]byte
		binary.BigEndian.PutUint64(mark[:], tg.seq)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tg.push.Send(ctx, sockets.NewMsg([]byte("good"), mark[:])); err != nil {
			t.Fatalf("good peer cannot send: %v", err)
		}
		for {
			m, err := tg.pull.Recv(ctx)
			if err != nil {
				t.Fatalf("good peer's message %d did not arrive: %v", tg.seq, err)
			}
			if len(m.Frames) == 2 && string(m.Frames[0]) == "good" && string(m.Frames[1]) == string(mark[:]) {
				break
			}
			size := 0
			for _, fr := range m.Frames {
				size += len(fr)
			}
			if size > maxMsg {
				t.Fatalf("received a %d-byte message past the %d-byte limit", size, maxMsg)
			}
		}

		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 64<<20 {
			t.Fatalf("heap grew by %d bytes for a %d-byte input", grown, len(data))
		}
	})
}
