package transport

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// greetingBytes builds a 64-byte greeting with the given fields; edit lets a
// test corrupt it.
func greetingBytes(major, minor byte, mech string, asServer byte, edit func(b []byte)) []byte {
	b := make([]byte, GreetingSize)
	b[0], b[8], b[9], b[10], b[11] = 0xFF, 1, 0x7F, major, minor
	copy(b[12:32], mech)
	b[32] = asServer
	if edit != nil {
		edit(b)
	}
	return b
}

// zmtp20Greeting is what a ZMTP 2.0 peer (libzmq 3.x) sends before waiting
// for us: the signature, revision 1 and its socket type (5 = DEALER).
var zmtp20Greeting = []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 0x01, 0x05}

// httpRequest is what a misdirected HTTP client sends.
const httpRequest = "GET / HTTP/1.1\r\nHost: localhost:5555\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n"

func TestGreetingAppend(t *testing.T) {
	tests := []struct {
		name string
		g    Greeting
		want []byte
	}{
		{"NULL 3.1", Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}, greetingBytes(3, 1, "NULL", 0, nil)},
		{"PLAIN server 3.0", Greeting{Major: 3, Minor: 0, Mechanism: "PLAIN", AsServer: true}, greetingBytes(3, 0, "PLAIN", 1, nil)},
		{"20-byte mechanism", Greeting{Major: 3, Minor: 1, Mechanism: strings.Repeat("M", 20)}, greetingBytes(3, 1, strings.Repeat("M", 20), 0, nil)},
		{"long mechanism cut", Greeting{Major: 3, Minor: 1, Mechanism: strings.Repeat("M", 25)}, greetingBytes(3, 1, strings.Repeat("M", 20), 0, nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("prefix")
			got := tt.g.Append(prefix)
			if diff := cmp.Diff(append([]byte("prefix"), tt.want...), got); diff != "" {
				t.Errorf("Append mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseGreeting(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    Greeting
		wantErr error
	}{
		{"NULL 3.1", greetingBytes(3, 1, "NULL", 0, nil), Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}, nil},
		{"NULL 3.0", greetingBytes(3, 0, "NULL", 0, nil), Greeting{Major: 3, Minor: 0, Mechanism: "NULL"}, nil},
		{"CURVE server", greetingBytes(3, 1, "CURVE", 1, nil), Greeting{Major: 3, Minor: 1, Mechanism: "CURVE", AsServer: true}, nil},
		{"future version", greetingBytes(4, 7, "NULL", 0, nil), Greeting{Major: 4, Minor: 7, Mechanism: "NULL"}, nil},
		{"custom mechanism", greetingBytes(3, 1, "X-MY_MECH.1+2", 0, nil), Greeting{Major: 3, Minor: 1, Mechanism: "X-MY_MECH.1+2"}, nil},
		{"20-byte mechanism", greetingBytes(3, 1, "ABCDEFGHIJKLMNOPQRST", 0, nil), Greeting{Major: 3, Minor: 1, Mechanism: "ABCDEFGHIJKLMNOPQRST"}, nil},
		// Lenient where libzmq is: padding, as-server and filler are not checked.
		{"libzmq padding (identity length + 1)", greetingBytes(3, 1, "NULL", 0, func(b []byte) { copy(b[1:9], []byte{0, 0, 0, 0, 0, 0, 0, 11}) }), Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}, nil},
		{"zero padding (RFC 37 example)", greetingBytes(3, 1, "NULL", 0, func(b []byte) { b[8] = 0 }), Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}, nil},
		{"byte 9 only bit 0 set", greetingBytes(3, 1, "NULL", 0, func(b []byte) { b[9] = 0x01 }), Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}, nil},
		{"as-server 2", greetingBytes(3, 1, "PLAIN", 2, nil), Greeting{Major: 3, Minor: 1, Mechanism: "PLAIN", AsServer: true}, nil},
		{"non-zero filler", greetingBytes(3, 1, "NULL", 0, func(b []byte) { b[40], b[63] = 'x', 0xFF }), Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}, nil},

		{"HTTP request", []byte(httpRequest[:GreetingSize]), Greeting{}, ErrNotZMTP},
		{"ZMTP 1.0 short identity frame", append([]byte{0x01, 0x00}, make([]byte, 62)...), Greeting{}, ErrNotZMTP},
		{"ZMTP 1.0 long identity frame", greetingBytes(3, 1, "NULL", 0, func(b []byte) { b[9] = 0x00 }), Greeting{}, ErrNotZMTP},
		{"byte 9 is 0x7E", greetingBytes(3, 1, "NULL", 0, func(b []byte) { b[9] = 0x7E }), Greeting{}, ErrNotZMTP},
		{"ZMTP 2.0", append(append([]byte{}, zmtp20Greeting...), make([]byte, 52)...), Greeting{}, ErrUnsupportedVersion},
		{"major 0", greetingBytes(0, 0, "NULL", 0, nil), Greeting{}, ErrUnsupportedVersion},
		{"major 2", greetingBytes(2, 0, "NULL", 0, nil), Greeting{}, ErrUnsupportedVersion},
		{"short", greetingBytes(3, 1, "NULL", 0, nil)[:63], Greeting{}, ErrMalformedGreeting},
		{"long", append(greetingBytes(3, 1, "NULL", 0, nil), 0), Greeting{}, ErrMalformedGreeting},
		{"empty mechanism", greetingBytes(3, 1, "", 0, nil), Greeting{}, ErrMalformedGreeting},
		{"lowercase mechanism", greetingBytes(3, 1, "null", 0, nil), Greeting{}, ErrMalformedGreeting},
		{"space in mechanism", greetingBytes(3, 1, "NU LL", 0, nil), Greeting{}, ErrMalformedGreeting},
		{"byte after NUL padding", greetingBytes(3, 1, "NU\x00LL", 0, nil), Greeting{}, ErrMalformedGreeting},
		{"leading NUL", greetingBytes(3, 1, "\x00NULL", 0, nil), Greeting{}, ErrMalformedGreeting},
		{"high byte in mechanism", greetingBytes(3, 1, "NULL\xC3", 0, nil), Greeting{}, ErrMalformedGreeting},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseGreeting(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParseGreeting error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseGreeting mismatch (-want +got):\n%s", diff)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "zmtp: ") {
				t.Errorf("error %q lacks the zmtp: prefix", err)
			}
		})
	}
}

func TestCheckSignature(t *testing.T) {
	valid := greetingBytes(3, 1, "NULL", 0, nil)
	tests := []struct {
		name    string
		in      []byte
		wantErr error
	}{
		{"nothing yet", nil, nil},
		{"first byte 0xFF", valid[:1], nil},
		{"ten bytes", valid[:10], nil},
		{"eleven bytes", valid[:SignatureSize], nil},
		{"whole greeting", valid, nil},
		{"ZMTP 1.0 empty identity, first byte", []byte{0x01}, ErrNotZMTP},
		{"HTTP, first byte", []byte("G"), ErrNotZMTP},
		{"HTTP, eleven bytes", []byte(httpRequest[:SignatureSize]), ErrNotZMTP},
		{"ZMTP 1.0 long identity, ten bytes", append(append([]byte{}, valid[:9]...), 0x00), ErrNotZMTP},
		{"ZMTP 2.0, eleven bytes", zmtp20Greeting[:SignatureSize], ErrUnsupportedVersion},
		{"ZMTP 2.0, twelve bytes", zmtp20Greeting, ErrUnsupportedVersion},
		{"ZMTP 2.0, ten bytes (not yet decidable)", zmtp20Greeting[:10], nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := CheckSignature(tt.in); !errors.Is(err, tt.wantErr) {
				t.Errorf("CheckSignature(% x) = %v, want %v", tt.in, err, tt.wantErr)
			}
		})
	}
}

func TestGreetingRoundTrip(t *testing.T) {
	for _, g := range []Greeting{
		{Major: 3, Minor: 1, Mechanism: "NULL"},
		{Major: 3, Minor: 0, Mechanism: "PLAIN", AsServer: true},
		{Major: 3, Minor: 1, Mechanism: "CURVE"},
		{Major: 255, Minor: 255, Mechanism: "A-B_C.D+E0123456789Z"},
	} {
		got, err := ParseGreeting(g.Append(nil))
		if err != nil {
			t.Fatalf("%+v: %v", g, err)
		}
		if diff := cmp.Diff(g, got); diff != "" {
			t.Errorf("round trip mismatch (-want +got):\n%s", diff)
		}
	}
}

// TestReadGreetingRejectsEarly: old peers send part of a greeting and then
// wait for ours; ReadGreeting must refuse them on what they sent, not block
// for 64 bytes that will never come.
func TestReadGreetingRejectsEarly(t *testing.T) {
	tests := []struct {
		name    string
		sent    []byte
		wantErr error
	}{
		{"ZMTP 1.0 anonymous identity", []byte{0x01, 0x00}, ErrNotZMTP},
		{"ZMTP 2.0", zmtp20Greeting, ErrUnsupportedVersion},
		{"HTTP", []byte(httpRequest), ErrNotZMTP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr, pw := io.Pipe()
			defer pw.Close()
			go pw.Write(tt.sent) // then keeps the stream open, like a waiting peer
			done := make(chan error, 1)
			go func() {
				_, err := NewReader(pr, -1).ReadGreeting()
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("ReadGreeting error = %v, want %v", err, tt.wantErr)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("ReadGreeting blocked waiting for the rest of the greeting")
			}
			pr.Close() // unblocks the writer goroutine if the read did not drain it
		})
	}
}

func TestReadGreetingTruncated(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		wantErr []error
	}{
		{"empty stream", nil, []error{io.EOF}},
		{"cut inside the signature", greetingBytes(3, 1, "NULL", 0, nil)[:5], []error{ErrMalformedGreeting, io.ErrUnexpectedEOF}},
		{"cut after the version", greetingBytes(3, 1, "NULL", 0, nil)[:40], []error{ErrMalformedGreeting, io.ErrUnexpectedEOF}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(string(tt.in)), -1).ReadGreeting()
			for _, want := range tt.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("ReadGreeting error = %v, want it to match %v", err, want)
				}
			}
		})
	}
}
