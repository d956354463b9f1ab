package sockets

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/zmtpgo/zmtp/transport"
)

// BenchmarkPushPullMechanism is BenchmarkPushPull with each security
// mechanism: after the handshake, PLAIN and TOKEN-HMAC add nothing to a
// message (neither encrypts nor signs traffic), so throughput must match
// NULL's.
//
//	go test ./sockets/ -run '^$' -bench '^BenchmarkPushPullMechanism$' -count 5
func BenchmarkPushPullMechanism(b *testing.B) {
	tokens := transport.NewTokenTable()
	if err := tokens.Add("alice", tokenA); err != nil {
		b.Fatal(err)
	}
	mechs := []struct {
		name           string
		server, client []Option
	}{
		{"NULL", nil, nil},
		{"PLAIN", []Option{WithPlainServer(tokens)}, []Option{WithPlainClient("alice", tokenA)}},
		{"TOKEN-HMAC", []Option{WithTokenServer(tokens)}, []Option{WithTokenClient("alice", tokenA)}},
	}
	for _, m := range mechs {
		for _, size := range []int{100, 1 << 10} {
			b.Run(fmt.Sprintf("%s/%dB", m.name, size), func(b *testing.B) {
				pull, err := New(PULL, m.server...)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { pull.Close() })
				push, err := New(PUSH, m.client...)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { push.Close() })
				if err := pull.Bind("tcp://127.0.0.1:0"); err != nil {
					b.Fatal(err)
				}
				if err := push.Connect(pull.LastEndpoint()); err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				body := bytes.Repeat([]byte{'x'}, size)
				if err := push.Send(ctx, NewMsg(body)); err != nil { // the handshake is not measured
					b.Fatal(err)
				}
				want := "alice"
				if m.server == nil {
					want = "" // NULL
				}
				if first, err := pull.Recv(ctx); err != nil || first.UserID != want {
					b.Fatalf("first message from user id %q (%v), want %q", first.UserID, err, want)
				}
				pump(b, push, pull, body, func(Msg) error { return nil })
			})
		}
	}
}
