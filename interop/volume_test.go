//go:build libzmq

package interop

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"

	"github.com/zmtpgo/zmtp/sockets"
)

const (
	volumeCount = 100_000
	volumeSize  = 100
	// volumeDeadline bounds a whole volume run.
	volumeDeadline = 60 * time.Second
)

// seqMsg is a 100-byte payload carrying seq in its first 8 bytes and in a
// filler derived from it, so that a reordered, lost, duplicated or
// corrupted message shows.
func seqMsg(seq uint64) []byte {
	b := make([]byte, volumeSize)
	binary.BigEndian.PutUint64(b, seq)
	for i := 8; i < len(b); i++ {
		b[i] = byte(seq) + byte(i)
	}
	return b
}

// checkSeq reports whether frames is the single-frame message seqMsg(want).
func checkSeq(frames [][]byte, want uint64) error {
	if len(frames) != 1 || len(frames[0]) != volumeSize {
		return fmt.Errorf("message %d: got %d frames, first of %d bytes", want, len(frames), len(frames[0]))
	}
	if got := binary.BigEndian.Uint64(frames[0]); got != want {
		return fmt.Errorf("message %d: got sequence number %d", want, got)
	}
	b := frames[0]
	for i := 8; i < len(b); i++ {
		if b[i] != byte(want)+byte(i) {
			return fmt.Errorf("message %d: byte %d is %#x, want %#x", want, i, b[i], byte(want)+byte(i))
		}
	}
	return nil
}

// TestVolume sends 100,000 messages of 100 bytes each way over
// tcp://127.0.0.1 and checks that all arrive, in order.
func TestVolume(t *testing.T) {
	t.Run("libzmq PUSH to ours PULL", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), volumeDeadline)
		defer cancel()
		o, z := connectPair(t, topology{oursBind: true}, sockets.PULL, zmq.PUSH, nil, nil)
		start := time.Now()
		wait := zgo(t, func(stop *atomic.Bool) error {
			for i := range uint64(volumeCount) {
				if stop.Load() {
					return errors.New("stopped")
				}
				if _, err := z.SendBytes(seqMsg(i), 0); err != nil {
					return fmt.Errorf("libzmq send %d: %w", i, err)
				}
			}
			return nil
		})
		for i := range uint64(volumeCount) {
			m, err := o.Recv(ctx)
			if err != nil {
				t.Fatalf("recv %d after %v: %v", i, time.Since(start), err)
			}
			if err := checkSeq(m.Frames, i); err != nil {
				t.Fatal(err)
			}
		}
		if err := wait(); err != nil {
			t.Fatal(err)
		}
		t.Logf("%d messages in %v", volumeCount, time.Since(start))
	})
	t.Run("ours PUSH to libzmq PULL", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), volumeDeadline)
		defer cancel()
		o, z := connectPair(t, topology{oursBind: true}, sockets.PUSH, zmq.PULL, nil, nil)
		start := time.Now()
		sent := make(chan error, 1)
		go func() {
			for i := range uint64(volumeCount) {
				if err := o.Send(ctx, sockets.NewMsg(seqMsg(i))); err != nil {
					sent <- fmt.Errorf("send %d: %w", i, err)
					return
				}
			}
			sent <- nil
		}()
		for i := range uint64(volumeCount) {
			if ctx.Err() != nil {
				t.Fatalf("only %d messages within %v", i, volumeDeadline)
			}
			m, err := z.RecvMessageBytes(0) // ZMQ_RCVTIMEO bounds it
			if err != nil {
				t.Fatalf("libzmq recv %d after %v: %v", i, time.Since(start), err)
			}
			if err := checkSeq(m, i); err != nil {
				t.Fatal(err)
			}
		}
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
		t.Logf("%d messages in %v", volumeCount, time.Since(start))
	})
}

// TestRoundTrips runs 1000 REQ/REP round trips each way, each request and
// reply numbered.
func TestRoundTrips(t *testing.T) {
	const n = 1000
	t.Run("ours REQ, libzmq REP", func(t *testing.T) {
		o, z := connectPair(t, topology{oursBind: false}, sockets.REQ, zmq.REP, nil, nil)
		wait := zgo(t, func(stop *atomic.Bool) error {
			for i := range n {
				if stop.Load() {
					return errors.New("stopped")
				}
				m, err := z.RecvMessageBytes(0)
				if err != nil {
					return fmt.Errorf("libzmq REP recv %d: %w", i, err)
				}
				if len(m) != 2 || string(m[0]) != "req" || string(m[1]) != strconv.Itoa(i) {
					return fmt.Errorf("libzmq REP request %d: got %q", i, m)
				}
				if err := zsendErr(z, []byte("rep"), m[1]); err != nil {
					return err
				}
			}
			return nil
		})
		start := time.Now()
		for i := range n {
			osend(t, o, "req", strconv.Itoa(i))
			orecv(t, o, "rep", strconv.Itoa(i))
		}
		if err := wait(); err != nil {
			t.Fatal(err)
		}
		t.Logf("%d round trips in %v", n, time.Since(start))
	})
	t.Run("libzmq REQ, ours REP", func(t *testing.T) {
		o, z := connectPair(t, topology{oursBind: true}, sockets.REP, zmq.REQ, nil, nil)
		ctx, cancel := context.WithTimeout(context.Background(), volumeDeadline)
		defer cancel()
		served := make(chan error, 1)
		go func() {
			served <- func() error {
				for i := range n {
					m, err := o.Recv(ctx)
					if err != nil {
						return fmt.Errorf("REP recv %d: %w", i, err)
					}
					if len(m.Frames) != 2 || string(m.Frames[0]) != "req" || string(m.Frames[1]) != strconv.Itoa(i) {
						return fmt.Errorf("REP request %d: got %q", i, m.Frames)
					}
					if err := o.Send(ctx, sockets.NewMsg([]byte("rep"), m.Frames[1])); err != nil {
						return fmt.Errorf("REP send %d: %w", i, err)
					}
				}
				return nil
			}()
		}()
		start := time.Now()
		for i := range n {
			zsend(t, z, "req", strconv.Itoa(i))
			zrecv(t, z, "rep", strconv.Itoa(i))
		}
		if err := <-served; err != nil {
			t.Fatal(err)
		}
		t.Logf("%d round trips in %v", n, time.Since(start))
	})
}
