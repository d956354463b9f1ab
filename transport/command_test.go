package transport

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Command
		wantErr error
	}{
		{"READY", "\x05READY\x0bSocket-Type\x00\x00\x00\x03REQ", Command{CmdReady, []byte("\x0bSocket-Type\x00\x00\x00\x03REQ")}, nil},
		{"PING", "\x04PING\x00\x0a", Command{CmdPing, []byte{0, 10}}, nil},
		{"PONG without context", "\x04PONG", Command{CmdPong, nil}, nil},
		{"SUBSCRIBE", "\x09SUBSCRIBEtopic", Command{CmdSubscribe, []byte("topic")}, nil},
		{"CANCEL empty topic", "\x06CANCEL", Command{CmdCancel, nil}, nil},
		{"ERROR", "\x05ERROR\x03400", Command{CmdError, []byte("\x03400")}, nil},
		{"HELLO", "\x05HELLO\x05admin\x06secret", Command{CmdHello, []byte("\x05admin\x06secret")}, nil},
		{"WELCOME", "\x07WELCOME", Command{CmdWelcome, nil}, nil},
		{"INITIATE", "\x08INITIATE", Command{CmdInitiate, nil}, nil},
		{"MESSAGE", "\x07MESSAGE\x00\x00\x00\x00\x00\x00\x00\x02box", Command{CmdMessage, []byte("\x00\x00\x00\x00\x00\x00\x00\x02box")}, nil},
		{"unknown name", "\x03FOOdata", Command{"FOO", []byte("data")}, nil},
		{"name of 255 bytes", "\xff" + strings.Repeat("N", 255), Command{strings.Repeat("N", 255), nil}, nil},
		{"libzmq 4.3 PLAIN ERROR", "\x5eRROR\x03400", Command{CmdError, []byte("\x03400")}, nil},

		{"empty", "", Command{}, ErrMalformedCommand},
		{"empty name", "\x00READY", Command{}, ErrMalformedCommand},
		{"name longer than body", "\x0aPING", Command{}, ErrMalformedCommand},
		{"length byte only", "\x04", Command{}, ErrMalformedCommand},
		{"libzmq 4.3 prefix cut short", "\x5eRRO", Command{}, ErrMalformedCommand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCommand([]byte(tt.in))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParseCommand error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseCommand mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCommandRoundTrip(t *testing.T) {
	for _, c := range []Command{
		{CmdReady, Metadata{{PropSocketType, []byte("PAIR")}}.Append(nil)},
		{CmdPing, AppendPingData(nil, 100, []byte("0123456789abcdef"))},
		{CmdSubscribe, nil},
		{"X", []byte{0, 1, 2}},
	} {
		got, err := ParseCommand(AppendCommandBody([]byte{}, c.Name, c.Body))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("round trip mismatch (-want +got):\n%s", diff)
		}
	}
}

func TestAppendCommandBodyPanicsOnBadName(t *testing.T) {
	for _, name := range []string{"", strings.Repeat("A", 256)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AppendCommandBody(name of %d bytes) did not panic", len(name))
				}
			}()
			AppendCommandBody(nil, name, nil)
		}()
	}
}

// TestParseCommandKnownNamesDoNotAllocate: PING, PONG and SUBSCRIBE arrive
// all the time; their names come back as constants.
func TestParseCommandKnownNamesDoNotAllocate(t *testing.T) {
	for _, body := range []string{"\x04PING\x00\x00", "\x04PONG", "\x09SUBSCRIBEtopic", "\x05READY"} {
		b := []byte(body)
		if allocs := testing.AllocsPerRun(100, func() { ParseCommand(b) }); allocs != 0 {
			t.Errorf("ParseCommand(%q): %v allocations, want 0", body, allocs)
		}
	}
}

func TestParseError(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr error
	}{
		{"ZAP status", "\x03400", "400", nil},
		{"empty reason", "\x00", "", nil},
		{"sentence", "\x17invalid socket type PUB", "invalid socket type PUB", nil},
		{"no length", "", "", ErrMalformedCommand},
		{"reason cut short", "\x05abc", "", ErrMalformedCommand},
		{"trailing bytes", "\x01abc", "", ErrMalformedCommand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseError([]byte(tt.in))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParseError error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseError mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppendErrorData(t *testing.T) {
	tests := []struct {
		name   string
		reason string
		want   string // the reason as parsed back
	}{
		{"short", "no", "no"},
		{"empty", "", ""},
		{"255 bytes", strings.Repeat("a", 255), strings.Repeat("a", 255)},
		{"cut at 255", strings.Repeat("a", 300), strings.Repeat("a", 255)},
		{"cut before a split rune", strings.Repeat("a", 254) + "é", strings.Repeat("a", 254)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseError(AppendErrorData(nil, tt.reason))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("round trip mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParsePing(t *testing.T) {
	type ping struct {
		TTL     uint16
		Context []byte
	}
	tests := []struct {
		name    string
		in      []byte
		want    ping
		wantErr error
	}{
		{"libzmq PING", []byte{0x00, 0x14}, ping{20, nil}, nil},
		{"max TTL with context", []byte("\xff\xffctx"), ping{65535, []byte("ctx")}, nil},
		{"16-byte context", []byte("\x00\x01" + "0123456789abcdef"), ping{1, []byte("0123456789abcdef")}, nil},
		// Cut to 16 rather than refused, as libzmq does.
		{"17-byte context", []byte("\x00\x01" + "0123456789abcdefg"), ping{1, []byte("0123456789abcdef")}, nil},
		{"empty", nil, ping{}, ErrMalformedCommand},
		{"half a TTL", []byte{0x00}, ping{}, ErrMalformedCommand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ttl, ctx, err := ParsePing(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParsePing error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, ping{ttl, ctx}, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParsePing mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPingRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		ttl      uint16
		ctx, out string
	}{
		{0, "", ""},
		{600, "abc", "abc"},
		{65535, "0123456789abcdef", "0123456789abcdef"},
		{1, "0123456789abcdefXYZ", "0123456789abcdef"},
	} {
		ttl, ctx, err := ParsePing(AppendPingData(nil, tt.ttl, []byte(tt.ctx)))
		if err != nil || ttl != tt.ttl || string(ctx) != tt.out {
			t.Errorf("PING(%d, %q) read back as (%d, %q, %v), want (%d, %q)", tt.ttl, tt.ctx, ttl, ctx, err, tt.ttl, tt.out)
		}
	}
}

func TestParsePong(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr error
	}{
		{"empty", "", "", nil},
		{"libzmq echo", "ctx-0123456789ab", "ctx-0123456789ab", nil},
		{"too long to be our echo", "0123456789abcdefg", "", ErrMalformedCommand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePong([]byte(tt.in))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParsePong error = %v, want %v", err, tt.wantErr)
			}
			if string(got) != tt.want {
				t.Errorf("ParsePong = %q, want %q", got, tt.want)
			}
		})
	}
}
