package sockets

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
)

func TestEndpoints(t *testing.T) {
	tests := []struct {
		name, bind string
		connect    func(bound string) string
		skip       func() bool
	}{
		{"IPv4 loopback", "tcp://127.0.0.1:0", func(b string) string { return b }, nil},
		{"wildcard", "tcp://*:0", func(b string) string {
			_, port, _ := net.SplitHostPort(strings.TrimPrefix(b, "tcp://"))
			return "tcp://127.0.0.1:" + port
		}, nil},
		{"IPv6 loopback", "tcp://[::1]:0", func(b string) string { return b }, func() bool {
			l, err := net.Listen("tcp6", "[::1]:0")
			if err != nil {
				return true
			}
			l.Close()
			return false
		}},
		{"unix socket", "ipc://" + filepath.Join(t.TempDir(), "s.sock"), func(b string) string { return b }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.skip != nil && tt.skip() {
				t.Skip("not available on this machine")
			}
			pull, push := newSock(t, PULL), newSock(t, PUSH)
			if err := pull.Bind(tt.bind); err != nil {
				t.Fatal(err)
			}
			bound := pull.LastEndpoint()
			if strings.HasSuffix(bound, ":0") {
				t.Fatalf("LastEndpoint %q does not report the real port", bound)
			}
			if err := push.Connect(tt.connect(bound)); err != nil {
				t.Fatal(err)
			}
			mustSend(t, push, "via "+tt.name)
			mustRecv(t, pull, "via "+tt.name)
		})
	}
}

func TestBindErrors(t *testing.T) {
	s := newSock(t, PULL)
	for _, ep := range []string{"tcp://127.0.0.1", "udp://127.0.0.1:5555", "127.0.0.1:5555", "tcp://127.0.0.1:70000"} {
		if err := s.Bind(ep); err == nil {
			t.Errorf("Bind(%q) succeeded", ep)
		}
	}
	if err := s.Bind("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	other := newSock(t, PULL)
	if err := other.Bind(s.LastEndpoint()); err == nil {
		t.Errorf("a second Bind of %s succeeded", s.LastEndpoint())
	}
}
