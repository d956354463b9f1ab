package transport

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Fuzz targets for every parser. Seeds are real bytes recorded from libzmq
// 4.3.4 (testdata/libzmq, see testdata/record/README.md) plus the hostile
// cases of the table tests. Each target checks more than "no panic": what
// parses must re-encode to the same meaning.

// commandBodies returns the body of every command frame libzmq sent.
func commandBodies(recs []recording) [][]byte {
	var out [][]byte
	for _, rec := range recs {
		for _, f := range rec.frames {
			if f.Flags&FlagCommand != 0 {
				out = append(out, f.Body)
			}
		}
	}
	return out
}

func FuzzParseGreeting(f *testing.F) {
	for _, rec := range loadRecordings(f) {
		f.Add(rec.greeting)
	}
	f.Add([]byte(httpRequest[:GreetingSize]))
	f.Add(append(append([]byte{}, zmtp20Greeting...), make([]byte, 52)...))
	f.Add(greetingBytes(3, 1, "NU\x00LL", 0, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := ParseGreeting(b)
		if err != nil {
			return
		}
		if err := CheckSignature(b[:SignatureSize]); err != nil {
			t.Fatalf("ParseGreeting accepted what CheckSignature refuses: %v", err)
		}
		again, err := ParseGreeting(g.Append(nil))
		if err != nil {
			t.Fatalf("re-parse of %+v: %v", g, err)
		}
		if diff := cmp.Diff(g, again); diff != "" {
			t.Fatalf("round trip mismatch (-want +got):\n%s", diff)
		}
	})
}

func FuzzParseFrameHeader(f *testing.F) {
	for _, rec := range loadRecordings(f) {
		for _, h := range rec.headers {
			f.Add(h, int64(-1))
			f.Add(h, int64(10))
		}
	}
	f.Add(longHeader(0, 1<<62), int64(-1))
	f.Add(longHeader(FlagCommand, MaxCommandSize+1), int64(-1))
	f.Add([]byte{0x05, 0x00}, int64(-1))
	f.Fuzz(func(t *testing.T, b []byte, max int64) {
		flags, size, n, need, err := ParseFrameHeader(b, max)
		if err != nil {
			return
		}
		if need > 0 {
			if (need != 2 && need != 9) || need <= len(b) || n != 0 {
				t.Fatalf("need %d, n %d with %d bytes", need, n, len(b))
			}
			return
		}
		if n != 2 && n != 9 || n > len(b) {
			t.Fatalf("header length %d with %d bytes", n, len(b))
		}
		if flags&flagsReserved != 0 || flags&(FlagCommand|FlagMore) == FlagCommand|FlagMore {
			t.Fatalf("accepted flags %#x", flags)
		}
		if flags&FlagCommand != 0 && size > MaxCommandSize {
			t.Fatalf("accepted a %d-byte command", size)
		}
		if flags&FlagCommand == 0 && max >= 0 && size > uint64(max) {
			t.Fatalf("accepted a %d-byte frame with max %d", size, max)
		}
		h := AppendFrameHeader(nil, flags, int(size))
		f2, s2, _, _, err := ParseFrameHeader(h, max)
		if err != nil || f2&^FlagLong != flags&^FlagLong || s2 != size {
			t.Fatalf("re-encoded header % x parsed as %#x %d %v", h, f2, s2, err)
		}
	})
}

func FuzzReadFrame(f *testing.F) {
	for _, rec := range loadRecordings(f) {
		f.Add(rec.raw[GreetingSize:])
		f.Add(rec.raw)
	}
	f.Add(longHeader(0, 1<<62))
	f.Fuzz(func(t *testing.T, b []byte) {
		const max = 64
		src := bytes.NewReader(b)
		r := NewReader(src, max)
		consumed := func() int { return len(b) - src.Len() - r.Buffered() }
		for prev := 0; ; {
			fr, err := r.ReadFrame()
			if err == io.EOF {
				if consumed() != len(b) {
					t.Fatalf("io.EOF after %d of %d bytes", consumed(), len(b))
				}
				return
			}
			if err != nil {
				if !errors.Is(err, ErrMalformedFrame) && !errors.Is(err, ErrReservedFlags) && !errors.Is(err, ErrFrameTooLarge) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				return
			}
			if fr.Flags&^(FlagMore|FlagCommand) != 0 {
				t.Fatalf("frame flags %#x", fr.Flags)
			}
			if !fr.IsCommand() && len(fr.Body) > max {
				t.Fatalf("%d-byte body with max %d", len(fr.Body), max)
			}
			if fr.IsCommand() && len(fr.Body) > MaxCommandSize {
				t.Fatalf("%d-byte command", len(fr.Body))
			}
			if c := consumed(); c-prev != 2+len(fr.Body) && c-prev != 9+len(fr.Body) {
				t.Fatalf("a %d-byte frame used %d bytes of input", len(fr.Body), c-prev)
			} else {
				prev = c
			}
			if fr.IsCommand() {
				fuzzCommand(t, fr.Body)
			}
		}
	})
}

func FuzzParseCommand(f *testing.F) {
	for _, body := range commandBodies(loadRecordings(f)) {
		f.Add(body)
	}
	f.Add([]byte("\x04PING\x00\x0a0123456789abcdefXYZ"))
	f.Add([]byte("\x05ERROR\x03400"))
	f.Add([]byte("\x00"))
	f.Fuzz(fuzzCommand)
}

// fuzzCommand parses a command body and, for the commands with a layout of
// their own, their data, checking each round trip.
func fuzzCommand(t *testing.T, b []byte) {
	cmd, err := ParseCommand(b)
	if err != nil {
		return
	}
	if re := AppendCommandBody(nil, cmd.Name, cmd.Body); !bytes.Equal(re, b) &&
		!(cmd.Name == CmdError && bytes.HasPrefix(b, libzmq43ErrorPrefix)) {
		t.Fatalf("command % x re-encoded as % x", b, re)
	}
	switch cmd.Name {
	case CmdReady, CmdInitiate:
		fuzzMetadata(t, cmd.Body)
	case CmdError:
		if reason, err := ParseError(cmd.Body); err == nil {
			if re := AppendErrorData(nil, reason); !bytes.Equal(re, cmd.Body) {
				t.Fatalf("ERROR % x re-encoded as % x", cmd.Body, re)
			}
		}
	case CmdPing:
		if ttl, ctx, err := ParsePing(cmd.Body); err == nil {
			want := cmd.Body[:min(len(cmd.Body), 2+MaxPingContext)]
			if re := AppendPingData(nil, ttl, ctx); !bytes.Equal(re, want) {
				t.Fatalf("PING % x re-encoded as % x", cmd.Body, re)
			}
		}
	case CmdPong:
		if ctx, err := ParsePong(cmd.Body); err == nil && !bytes.Equal(ctx, cmd.Body) {
			t.Fatalf("PONG % x parsed as % x", cmd.Body, ctx)
		}
	}
}

func FuzzParseMetadata(f *testing.F) {
	for _, body := range commandBodies(loadRecordings(f)) {
		if cmd, err := ParseCommand(body); err == nil && (cmd.Name == CmdReady || cmd.Name == CmdInitiate) {
			f.Add(cmd.Body)
		}
	}
	f.Add([]byte(prop("Identity", 0xFFFFFFFF, "abc")))
	f.Add([]byte(prop("Socket-Type", 3, "REQ") + "\x00"))
	f.Fuzz(fuzzMetadata)
}

// fuzzMetadata checks parse → Append → parse: what parses is in canonical
// form already, so Append must give back the very bytes.
func fuzzMetadata(t *testing.T, b []byte) {
	m, err := ParseMetadata(b)
	if err != nil {
		return
	}
	re := m.Append(nil)
	if !bytes.Equal(re, b) {
		t.Fatalf("metadata % x re-encoded as % x", b, re)
	}
	again, err := ParseMetadata(re)
	if err != nil {
		t.Fatalf("re-parse: %v", err)
	}
	if diff := cmp.Diff(m, again, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("round trip mismatch (-want +got):\n%s", diff)
	}
}
