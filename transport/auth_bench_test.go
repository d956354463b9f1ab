package transport

import (
	"testing"
	"time"
)

// benchMechanisms are the client and server settings of each mechanism,
// with the same credentials as the tests.
func benchMechanisms(b *testing.B) []struct {
	name           string
	client, server Security
} {
	tt := testTable(b)
	return []struct {
		name           string
		client, server Security
	}{
		{"NULL", Security{}, Security{}},
		{"PLAIN", Security{Mechanism: MechanismPlain, Username: testKeyID, Password: testToken}, Security{Mechanism: MechanismPlain, Server: true, Authenticator: tt}},
		{"TOKEN-HMAC", tokenClientSecurity(testKeyID, testToken), tokenServerSecurity(tt)},
	}
}

// attachCounter signals every connection that completes its handshake.
type attachCounter struct{ ch chan *Conn }

func (h attachCounter) Attach(c *Conn) bool           { h.ch <- c; return true }
func (h attachCounter) Message(*Conn, [][]byte)       {}
func (h attachCounter) Command(*Conn, string, []byte) {}
func (h attachCounter) Detach(*Conn, error)           {}
func newAttachCounter() attachCounter                 { return attachCounter{ch: make(chan *Conn, 1)} }
func (h attachCounter) wait(b *testing.B, side string) {
	select {
	case <-h.ch:
	case <-time.After(netWait):
		b.Fatalf("no %s handshake within %v", side, netWait)
	}
}

// BenchmarkHandshake measures one connection's life over loopback TCP with
// each mechanism: dial, the whole handshake (both sides ready), close.
// ns/op is the cost of one; handshakes/s its inverse.
//
//	go test ./transport/ -run '^$' -bench '^BenchmarkHandshake$' -count 5
func BenchmarkHandshake(b *testing.B) {
	for _, m := range benchMechanisms(b) {
		b.Run(m.name, func(b *testing.B) {
			server := newAttachCounter()
			l, err := Listen("tcp://127.0.0.1:0", &Config{SocketType: PULL, Security: m.server, Handler: server})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			cfg := &Config{SocketType: PUSH, Security: m.client, Handler: newAttachCounter()}
			client := cfg.Handler.(attachCounter)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				cn, err := Connect(l.Endpoint(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				client.wait(b, "client")
				server.wait(b, "server")
				cn.Close()
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
		})
	}
}

// BenchmarkHandshakeCPU is the mechanisms' own work per handshake, with no
// network: both proofs made and checked (TOKEN-HMAC: four HMAC-SHA-256 and
// two nonces), so the share of the handshake cost that is cryptography
// shows.
func BenchmarkHandshakeCPU(b *testing.B) {
	g := make([]byte, GreetingSize)
	md := metadataOf("PUSH")
	b.ReportAllocs()
	for range b.N {
		nonce, _ := NewNonce()
		salt, _ := NewNonce()
		tr := &Transcript{ClientGreeting: g, ServerGreeting: g, KeyID: testKeyID, ClientNonce: nonce, ServerSalt: salt}
		c := ClientMAC(testToken, tr, md)
		if !VerifyMAC(c, ClientMAC(testToken, tr, md)) {
			b.Fatal("client proof")
		}
		s := ServerMAC(testToken, tr, c, md)
		if !VerifyMAC(s, ServerMAC(testToken, tr, c, md)) {
			b.Fatal("server proof")
		}
	}
}
