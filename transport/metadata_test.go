package transport

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// prop builds one property's wire form with a declared value length.
func prop(name string, declared uint32, value string) string {
	b := []byte{byte(len(name))}
	b = append(b, name...)
	b = append(b, byte(declared>>24), byte(declared>>16), byte(declared>>8), byte(declared))
	return string(append(b, value...))
}

func TestParseMetadata(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Metadata
		wantErr error
	}{
		{"empty", "", nil, nil},
		{"libzmq DEALER READY", prop("Socket-Type", 6, "DEALER") + prop("Identity", 10, "rec-dealer"),
			Metadata{{PropSocketType, []byte("DEALER")}, {PropIdentity, []byte("rec-dealer")}}, nil},
		{"empty value", prop("Identity", 0, ""), Metadata{{PropIdentity, nil}}, nil},
		{"binary value", prop("X-Bin", 3, "\x00\xff\x01"), Metadata{{"X-Bin", []byte("\x00\xff\x01")}}, nil},
		{"all name characters", prop("aZ09-_.+", 1, "v"), Metadata{{"aZ09-_.+", []byte("v")}}, nil},
		{"255-byte name", prop(strings.Repeat("n", 255), 0, ""), Metadata{{strings.Repeat("n", 255), nil}}, nil},
		// Kept in order, as libzmq accepts them; Get returns the first.
		{"duplicate names", prop("Socket-Type", 3, "REQ") + prop("socket-type", 3, "PUB"),
			Metadata{{PropSocketType, []byte("REQ")}, {"socket-type", []byte("PUB")}}, nil},

		{"stray byte", "\x0b", nil, ErrMalformedMetadata},
		{"trailing byte", prop("Socket-Type", 3, "REQ") + "\x00", nil, ErrMalformedMetadata},
		{"trailing bytes", prop("Socket-Type", 3, "REQ") + "junk", nil, ErrMalformedMetadata},
		{"name length 0", "\x00\x00\x00\x00\x00", nil, ErrMalformedMetadata},
		{"name cut short", "\x0bSocket", nil, ErrMalformedMetadata},
		{"value length missing", "\x08Identity", nil, ErrMalformedMetadata},
		{"value length cut short", "\x08Identity\x00\x00", nil, ErrMalformedMetadata},
		{"value beyond the buffer", prop("Identity", 5, "abc"), nil, ErrMalformedMetadata},
		{"value length 2^32-1", prop("Identity", 0xFFFFFFFF, "abc"), nil, ErrMalformedMetadata},
		{"space in name", prop("Socket Type", 3, "REQ"), nil, ErrMalformedMetadata},
		{"colon in name", prop("X:Y", 0, ""), nil, ErrMalformedMetadata},
		{"non-ASCII name", prop("Idéntity", 0, ""), nil, ErrMalformedMetadata},
		{"NUL in name", prop("Id\x00", 0, ""), nil, ErrMalformedMetadata},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMetadata([]byte(tt.in))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParseMetadata error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseMetadata mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseMetadataHugeValueLength: a declared 4 GiB value is refused from
// its length field, with no allocation of that size.
func TestParseMetadataHugeValueLength(t *testing.T) {
	in := []byte(prop("Identity", 0xFFFFFFFF, "abc"))
	var err error
	n := bytesAllocated(func() {
		for range 10 {
			_, err = ParseMetadata(in)
		}
	})
	if !errors.Is(err, ErrMalformedMetadata) {
		t.Fatalf("error %v, want ErrMalformedMetadata", err)
	}
	if n > 16<<10 {
		t.Errorf("10 parses allocated %d bytes", n)
	}
}

func TestMetadataGet(t *testing.T) {
	m := Metadata{{PropSocketType, []byte("ROUTER")}, {"X-Dup", []byte("first")}, {"x-dup", []byte("second")}}
	tests := []struct {
		name   string
		want   string
		wantOK bool
	}{
		{"Socket-Type", "ROUTER", true},
		{"socket-type", "ROUTER", true}, // RFC 37: names are case-insensitive
		{"SOCKET-TYPE", "ROUTER", true},
		{"X-DUP", "first", true},
		{"Identity", "", false},
		{"Socket-Typ", "", false},
	}
	for _, tt := range tests {
		got, ok := m.Get(tt.name)
		if ok != tt.wantOK || string(got) != tt.want {
			t.Errorf("Get(%q) = %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestMetadataRoundTrip(t *testing.T) {
	for _, m := range []Metadata{
		nil,
		{{PropSocketType, []byte("SUB")}},
		{{PropSocketType, []byte("DEALER")}, {PropIdentity, nil}, {"X-App", []byte(strings.Repeat("v", 1000))}},
	} {
		b := m.Append([]byte{})
		got, err := ParseMetadata(b)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(m, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("round trip mismatch (-want +got):\n%s", diff)
		}
	}
}

func TestMetadataAppendPanicsOnBadName(t *testing.T) {
	for _, name := range []string{"", "Bad Name", strings.Repeat("n", 256)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Append with name %q did not panic", name)
				}
			}()
			Metadata{{name, nil}}.Append(nil)
		}()
	}
}

func TestValidPropertyName(t *testing.T) {
	for name, want := range map[string]bool{
		PropSocketType: true, PropIdentity: true, "X-a.b_c+1": true, strings.Repeat("n", 255): true,
		"": false, strings.Repeat("n", 256): false, "a b": false, "a:b": false, "é": false,
	} {
		if got := ValidPropertyName(name); got != want {
			t.Errorf("ValidPropertyName(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestWriteMetadataCommand checks that READY and INITIATE written straight
// into the Writer are the bytes of ourMetadata, which the TOKEN-HMAC proofs
// sign, for every socket type, with no identity, a short one and one long
// enough to need a long frame header.
func TestWriteMetadataCommand(t *testing.T) {
	ids := [][]byte{nil, []byte("id-1"), []byte(strings.Repeat("x", 255))}
	for st := range SocketType(numSocketTypes) {
		for _, id := range ids {
			for _, name := range []string{CmdReady, CmdInitiate} {
				e := &engine{cfg: &Config{SocketType: st, Identity: id}}
				var got, want bytes.Buffer
				e.w = NewWriter(&got)
				e.writeMetadataCommand(name)
				if err := e.w.Flush(); err != nil {
					t.Fatal(err)
				}
				w := NewWriter(&want)
				if err := w.WriteCommand(name, e.ourMetadata()); err != nil {
					t.Fatal(err)
				}
				if err := w.Flush(); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Bytes(), want.Bytes()) {
					t.Errorf("%v, identity of %d bytes, %s:\n got %q\nwant %q", st, len(id), name, got.Bytes(), want.Bytes())
				}
				md, err := ParseMetadata(want.Bytes()[len(want.Bytes())-propertySize(PropSocketType, len(st.String()))-mdIDSize(st, id):])
				if err != nil {
					t.Fatalf("%v: %v", st, err)
				}
				if v, _ := md.Get(PropSocketType); string(v) != st.String() {
					t.Errorf("%v: Socket-Type %q", st, v)
				}
			}
		}
	}
}

// mdIDSize is the size of the Identity property st sends with id, if any.
func mdIDSize(st SocketType, id []byte) int {
	if !st.SendsIdentity() {
		return 0
	}
	return propertySize(PropIdentity, len(id))
}
