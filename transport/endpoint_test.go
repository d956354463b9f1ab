package transport

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseEndpoint(t *testing.T) {
	tests := []struct {
		in        string
		want      Endpoint
		canonical string
	}{
		{"tcp://127.0.0.1:5555", Endpoint{"tcp", "127.0.0.1:5555"}, "tcp://127.0.0.1:5555"},
		{"tcp://*:5555", Endpoint{"tcp", ":5555"}, "tcp://*:5555"},
		{"tcp://:5555", Endpoint{"tcp", ":5555"}, "tcp://*:5555"},
		{"tcp://[::1]:5555", Endpoint{"tcp", "[::1]:5555"}, "tcp://[::1]:5555"},
		{"tcp://[fe80::1%eth0]:80", Endpoint{"tcp", "[fe80::1%eth0]:80"}, "tcp://[fe80::1%eth0]:80"},
		{"tcp://localhost:0", Endpoint{"tcp", "localhost:0"}, "tcp://localhost:0"},
		{"tcp://example.com:65535", Endpoint{"tcp", "example.com:65535"}, "tcp://example.com:65535"},
		{"tcp://*:*", Endpoint{"tcp", ":0"}, "tcp://*:0"},
		{"tcp://127.0.0.1:*", Endpoint{"tcp", "127.0.0.1:0"}, "tcp://127.0.0.1:0"},
		{"tcp://h:05555", Endpoint{"tcp", "h:5555"}, "tcp://h:5555"},
		{"ipc:///tmp/x.sock", Endpoint{"ipc", "/tmp/x.sock"}, "ipc:///tmp/x.sock"},
		{"ipc://relative.sock", Endpoint{"ipc", "relative.sock"}, "ipc://relative.sock"},
		{"ipc://@abstract", Endpoint{"ipc", "@abstract"}, "ipc://@abstract"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseEndpoint(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseEndpoint mismatch (-want +got):\n%s", diff)
			}
			if s := got.String(); s != tt.canonical {
				t.Errorf("String() = %q, want %q", s, tt.canonical)
			}
			again, err := ParseEndpoint(got.String())
			if err != nil || again != got {
				t.Errorf("ParseEndpoint(String()) = %v, %v; want %v", again, err, got)
			}
		})
	}
}

func TestParseEndpointErrors(t *testing.T) {
	tests := []struct {
		in string
		// mention is a word the message must contain, so it names the problem.
		mention string
	}{
		{"127.0.0.1:5555", "no transport"},
		{"", "no transport"},
		{"tcp:/127.0.0.1:5555", "no transport"},
		{"://127.0.0.1:5555", "empty transport"},
		{"inproc://name", `"inproc"`},
		{"pgm://eth0;239.192.1.1:5555", `"pgm"`},
		{"udp://127.0.0.1:5555", `"udp"`},
		{"ws://127.0.0.1:5555", `"ws"`},
		{"TCP://127.0.0.1:5555", `"TCP"`},
		{"tcp://127.0.0.1", "missing port"},
		{"tcp://127.0.0.1:", "missing port"},
		{"tcp://", "missing port"},
		{"tcp://127.0.0.1:65536", "invalid port"},
		{"tcp://127.0.0.1:-1", "invalid port"},
		{"tcp://127.0.0.1:+1", "invalid port"},
		{"tcp://127.0.0.1:0x50", "invalid port"},
		{"tcp://127.0.0.1:http", "invalid port"},
		{"tcp://127.0.0.1:5555/path", "invalid port"},
		{"tcp://::1:5555", "too many colons"},
		{"tcp://[::1:5555", "missing ']'"},
		{"tcp://10.0.0.1;10.0.0.2:5555", "source addresses"},
		{"tcp://a/b:5555", "invalid host"},
		{"tcp://user@host:5555", "invalid host"},
		{"ipc://", "empty ipc path"},
		{"ipc://a\x00b", "NUL"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseEndpoint(tt.in)
			if !errors.Is(err, ErrInvalidEndpoint) {
				t.Fatalf("ParseEndpoint error = %v, want ErrInvalidEndpoint", err)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not mention %q", err, tt.mention)
			}
		})
	}
}
