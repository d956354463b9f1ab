package transport

import (
	"bytes"
	"testing"
)

// Fuzz targets for the mechanism commands' parsers, beside those of
// fuzz_test.go. Seeds are real bytes: libzmq 4.3.4's PLAIN HELLO
// (testdata/libzmq/plain-client.bin) and our recorded TOKEN-HMAC handshake
// (testdata/tokenhmac), plus the hostile cases of the table tests. What
// parses must encode back to the very bytes, so no two inputs mean the
// same thing and nothing after a field is silently ignored.

// mechanismBodies returns the data of every command named name in the
// libzmq recordings and the TOKEN-HMAC recording.
func mechanismBodies(tb testing.TB, name string) [][]byte {
	var out [][]byte
	for _, body := range commandBodies(loadRecordings(tb)) {
		if cmd, err := ParseCommand(body); err == nil && cmd.Name == name {
			out = append(out, cmd.Body)
		}
	}
	client, server := tokenRecording(tb)
	for _, stream := range [][]byte{client, server} {
		_, frames := splitStream(tb, stream)
		for _, f := range frames {
			if cmd, err := ParseCommand(f.Body); err == nil && f.IsCommand() && cmd.Name == name {
				out = append(out, cmd.Body)
			}
		}
	}
	if len(out) == 0 {
		tb.Fatalf("no recorded %s to seed from", name)
	}
	return out
}

func FuzzParseHello(f *testing.F) {
	for _, b := range mechanismBodies(f, CmdHello) { // admin/secret, from libzmq
		f.Add(b)
	}
	f.Add(AppendHelloData(nil, nil, nil))
	f.Add(AppendHelloData(nil, bytes.Repeat([]byte{'u'}, 255), bytes.Repeat([]byte{'p'}, 255)))
	f.Add([]byte{200, 'a'})
	f.Add([]byte{1, 'a', 3, 'x'})
	f.Fuzz(func(t *testing.T, b []byte) {
		u, p, err := ParseHello(b)
		if err != nil {
			return
		}
		if len(u) > 255 || len(p) > 255 {
			t.Fatalf("user %d bytes, password %d bytes", len(u), len(p))
		}
		if re := AppendHelloData(nil, u, p); !bytes.Equal(re, b) {
			t.Fatalf("HELLO % x re-encoded as % x", b, re)
		}
	})
}

func FuzzParseSaltRequest(f *testing.F) {
	for _, b := range mechanismBodies(f, CmdSaltRequest) {
		f.Add(b)
	}
	f.Add(SaltRequest{}.Append(nil))
	f.Add(SaltRequest{KeyID: string(bytes.Repeat([]byte{'k'}, 255))}.Append(nil))
	f.Add([]byte{1, 200, 'k'})
	f.Add([]byte{2, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseSaltRequest(b)
		if err != nil {
			return
		}
		if re := r.Append(nil); !bytes.Equal(re, b) {
			t.Fatalf("SALTREQUEST % x re-encoded as % x", b, re)
		}
	})
}

func FuzzParseSalt(f *testing.F) {
	for _, b := range mechanismBodies(f, CmdSalt) {
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add(make([]byte, NonceSize+1))
	f.Fuzz(func(t *testing.T, b []byte) {
		salt, err := ParseSalt(b)
		if err != nil {
			return
		}
		if !bytes.Equal(salt[:], b) {
			t.Fatalf("SALT % x parsed as % x", b, salt)
		}
	})
}

func FuzzParseProof(f *testing.F) {
	for _, name := range []string{CmdClientProof, CmdServerProof} {
		for _, b := range mechanismBodies(f, name) {
			f.Add(b)
		}
	}
	f.Add(make([]byte, MACSize))
	f.Add(make([]byte, MACSize-1))
	f.Add(append(make([]byte, MACSize), prop("Identity", 0xFFFFFFFF, "abc")...))
	f.Fuzz(func(t *testing.T, b []byte) {
		mac, md, err := ParseProof(b)
		if err != nil {
			return
		}
		if re := AppendProof(nil, mac, md.Append(nil)); !bytes.Equal(re, b) {
			t.Fatalf("proof % x re-encoded as % x", b, re)
		}
	})
}
