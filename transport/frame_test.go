package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
)

// equalBytes compares byte slices quickly (cmp walks large slices element by
// element) and treats nil and empty as equal.
var equalBytes = cmp.Comparer(func(a, b []byte) bool { return bytes.Equal(a, b) })

// longHeader returns a long-form header declaring size bytes.
func longHeader(flags byte, size uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{flags | FlagLong}, size)
}

func TestAppendFrameHeader(t *testing.T) {
	tests := []struct {
		name  string
		flags byte
		size  int
		want  []byte
	}{
		{"empty", 0, 0, []byte{0x00, 0x00}},
		{"more", FlagMore, 5, []byte{0x01, 0x05}},
		{"command 255", FlagCommand, 255, []byte{0x04, 0xFF}},
		{"256 goes long", 0, 256, []byte{0x02, 0, 0, 0, 0, 0, 0, 1, 0}},
		{"long more", FlagMore, 1 << 40, []byte{0x03, 0, 0, 1, 0, 0, 0, 0, 0}},
		{"long command", FlagCommand, 300, []byte{0x06, 0, 0, 0, 0, 0, 0, 1, 44}},
		{"caller's LONG cleared when short", FlagLong | FlagMore, 3, []byte{0x01, 0x03}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendFrameHeader([]byte{0xAA}, tt.flags, tt.size)
			if diff := cmp.Diff(append([]byte{0xAA}, tt.want...), got); diff != "" {
				t.Errorf("AppendFrameHeader mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseFrameHeader(t *testing.T) {
	type result struct {
		Flags byte
		Size  uint64
		N     int
		Need  int
	}
	tests := []struct {
		name    string
		in      []byte
		max     int64
		want    result
		wantErr error
	}{
		{"short", []byte{0x00, 0x05}, -1, result{0x00, 5, 2, 0}, nil},
		{"short with trailing body", []byte{0x01, 0x02, 'h', 'i'}, -1, result{0x01, 2, 2, 0}, nil},
		{"long", longHeader(0, 300), -1, result{0x02, 300, 9, 0}, nil},
		{"long form for a small size", longHeader(FlagCommand, 5), -1, result{0x06, 5, 9, 0}, nil},
		{"empty frame, max 0", []byte{0x00, 0x00}, 0, result{0x00, 0, 2, 0}, nil},
		{"exactly max", []byte{0x00, 100}, 100, result{0x00, 100, 2, 0}, nil},
		{"command at MaxCommandSize", longHeader(FlagCommand, MaxCommandSize), -1, result{0x06, MaxCommandSize, 9, 0}, nil},
		{"command not bound by a small max", []byte{0x04, 200}, 10, result{0x04, 200, 2, 0}, nil},
		{"largest RFC size, unlimited", longHeader(0, 1<<63-1), -1, result{0x02, 1<<63 - 1, 9, 0}, nil},

		{"nothing", nil, -1, result{Need: 2}, nil},
		{"flags only", []byte{0x00}, -1, result{Flags: 0x00, Need: 2}, nil},
		{"long flags only", []byte{0x02}, -1, result{Flags: 0x02, Need: 9}, nil},
		{"long, part of size", []byte{0x02, 0, 0, 0}, -1, result{Flags: 0x02, Need: 9}, nil},

		{"reserved bit 3", []byte{0x08, 0x00}, -1, result{Flags: 0x08}, ErrReservedFlags},
		{"reserved bit 7, one byte", []byte{0x80}, -1, result{Flags: 0x80}, ErrReservedFlags},
		{"all bits", []byte{0xFF, 0x00}, -1, result{Flags: 0xFF}, ErrReservedFlags},
		{"command with more", []byte{0x05, 0x00}, -1, result{Flags: 0x05}, ErrReservedFlags},
		{"long command with more", []byte{0x07}, -1, result{Flags: 0x07}, ErrReservedFlags},
		{"over max", []byte{0x00, 101}, 100, result{Flags: 0x00, Size: 101}, ErrFrameTooLarge},
		{"over max, long", longHeader(FlagMore, 1<<62), 1 << 20, result{Flags: 0x03, Size: 1 << 62}, ErrFrameTooLarge},
		{"over MaxCommandSize, unlimited max", longHeader(FlagCommand, MaxCommandSize+1), -1, result{Flags: 0x06, Size: MaxCommandSize + 1}, ErrFrameTooLarge},
		{"above 2^63-1, unlimited", longHeader(0, 1<<63), -1, result{Flags: 0x02, Size: 1 << 63}, ErrFrameTooLarge},
		{"all ones, unlimited", longHeader(0, 1<<64-1), -1, result{Flags: 0x02, Size: 1<<64 - 1}, ErrFrameTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flags, size, n, need, err := ParseFrameHeader(tt.in, tt.max)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParseFrameHeader error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, result{flags, size, n, need}); diff != "" {
				t.Errorf("ParseFrameHeader mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFrameHeaderRoundTrip(t *testing.T) {
	for _, flags := range []byte{0, FlagMore, FlagCommand} {
		for _, size := range []int{0, 1, 255, 256, 65535, 1 << 33} {
			h := AppendFrameHeader(nil, flags, size)
			gotFlags, gotSize, n, need, err := ParseFrameHeader(h, -1)
			if flags == FlagCommand && size > MaxCommandSize {
				if !errors.Is(err, ErrFrameTooLarge) {
					t.Errorf("command of %d bytes: error %v, want ErrFrameTooLarge", size, err)
				}
				continue
			}
			if err != nil || need != 0 || n != len(h) || gotFlags&^FlagLong != flags || gotSize != uint64(size) {
				t.Errorf("flags %#x size %d: got flags %#x size %d n %d need %d err %v",
					flags, size, gotFlags, gotSize, n, need, err)
			}
		}
	}
}

// frameStream concatenates frames as a peer would send them.
func frameStream(frames ...Frame) []byte {
	var b []byte
	for _, f := range frames {
		b = AppendFrameHeader(b, f.Flags, len(f.Body))
		b = append(b, f.Body...)
	}
	return b
}

func TestReadFrame(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), (bodyChunkSize*3)/16+1) // grows twice
	frames := []Frame{
		{Flags: FlagCommand, Body: AppendCommandBody(nil, CmdReady, Metadata{{PropSocketType, []byte("DEALER")}}.Append(nil))},
		{Flags: FlagMore, Body: []byte("part one")},
		{Flags: 0, Body: nil},
		{Flags: 0, Body: bytes.Repeat([]byte{'y'}, 300)},
		{Flags: FlagCommand, Body: AppendCommandBody(nil, CmdPing, AppendPingData(nil, 10, []byte("ctx")))},
		{Flags: FlagMore, Body: big},
		{Flags: 0, Body: []byte("last")},
	}
	r := NewReader(bytes.NewReader(frameStream(frames...)), -1)
	var got []Frame
	for {
		f, err := r.ReadFrame()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if cap(f.Body) != len(f.Body) {
			t.Errorf("frame of %d bytes has capacity %d, want exact", len(f.Body), cap(f.Body))
		}
		got = append(got, f)
	}
	if diff := cmp.Diff(frames, got, equalBytes); diff != "" {
		t.Errorf("ReadFrame mismatch (-want +got):\n%s", diff)
	}
	if !got[1].More() || got[1].IsCommand() || !got[0].IsCommand() || got[0].More() {
		t.Error("More/IsCommand disagree with the flags")
	}
}

// TestReadFrameBodyIsFresh: a body must not alias the Reader's buffer, or the
// next read would overwrite a frame the caller kept.
func TestReadFrameBodyIsFresh(t *testing.T) {
	r := NewReader(bytes.NewReader(frameStream(Frame{Body: []byte("first")}, Frame{Body: []byte("other")})), -1)
	f1, err := r.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadFrame(); err != nil {
		t.Fatal(err)
	}
	if string(f1.Body) != "first" {
		t.Errorf("first body changed to %q", f1.Body)
	}
}

func TestReadFrameErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		max     int64
		wantErr []error
	}{
		{"clean end", nil, -1, []error{io.EOF}},
		{"flags only", []byte{0x00}, -1, []error{ErrMalformedFrame, io.ErrUnexpectedEOF}},
		{"half a long size", []byte{0x02, 0, 0, 0}, -1, []error{ErrMalformedFrame, io.ErrUnexpectedEOF}},
		{"body cut short", []byte{0x00, 10, 'a', 'b'}, -1, []error{ErrMalformedFrame, io.ErrUnexpectedEOF}},
		{"header without body", []byte{0x00, 10}, -1, []error{ErrMalformedFrame, io.ErrUnexpectedEOF}},
		{"large body cut short", append(longHeader(0, 1<<20), make([]byte, 1000)...), -1, []error{ErrMalformedFrame, io.ErrUnexpectedEOF}},
		{"reserved flags", []byte{0x10, 0x00}, -1, []error{ErrReservedFlags}},
		{"command with more", []byte{0x05, 0x01, 'x'}, -1, []error{ErrReservedFlags}},
		{"data over max", []byte{0x00, 11}, 10, []error{ErrFrameTooLarge}},
		{"command over MaxCommandSize", longHeader(FlagCommand, MaxCommandSize+1), -1, []error{ErrFrameTooLarge}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(bytes.NewReader(tt.in), tt.max).ReadFrame()
			for _, want := range tt.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("ReadFrame error = %v, want it to match %v", err, want)
				}
			}
			if err != io.EOF && !strings.HasPrefix(err.Error(), "zmtp: ") {
				t.Errorf("error %q lacks the zmtp: prefix", err)
			}
		})
	}
}

// errAfterReader returns its data, then err.
type errAfterReader struct {
	data []byte
	err  error
}

func (r *errAfterReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestReadFramePassesReadErrors(t *testing.T) {
	boom := errors.New("connection reset")
	for _, in := range [][]byte{nil, {0x00}, {0x00, 5, 'a'}, longHeader(0, 1<<20)} {
		_, err := NewReader(&errAfterReader{in, boom}, -1).ReadFrame()
		if !errors.Is(err, boom) {
			t.Errorf("after % x: error %v, want the reader's own", in, err)
		}
	}
}

// bytesAllocated runs f and returns how many bytes it allocated.
func bytesAllocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestReadFrameDoesNotAllocateDeclaredSize is the CVE-2019-6250 class of bug:
// a 9-byte header must not make us allocate what it declares.
func TestReadFrameDoesNotAllocateDeclaredSize(t *testing.T) {
	tests := []struct {
		name     string
		in       []byte
		max      int64
		maxAlloc uint64
	}{
		// Limited: refused at the header.
		{"2^62 against a 1 MiB max", longHeader(0, 1<<62), 1 << 20, 16 << 10},
		{"2^62 command", longHeader(FlagCommand, 1<<62), -1, 16 << 10},
		// Unlimited: nothing until the body starts, then what arrives
		// (rounded up to the first 256 KiB chunk).
		{"2^62 header alone, unlimited", longHeader(0, 1<<62), -1, 16 << 10},
		{"2^62 header and 1000 bytes, unlimited", append(longHeader(0, 1<<62), make([]byte, 1000)...), -1, bodyChunkSize + 16<<10},
		{"2^62 header and 600 KiB, unlimited", append(longHeader(0, 1<<62), make([]byte, 600<<10)...), -1, 4*600<<10 + 16<<10},
		{"2^62 header and exactly 512 KiB, unlimited", append(longHeader(0, 1<<62), make([]byte, 512<<10)...), -1, 3*512<<10/2 + 16<<10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(tt.in), tt.max)
			// The 64 KiB I/O buffer comes from a pool at the first read,
			// whatever the header says: take it before measuring.
			r.br.buf = getBuf()
			var err error
			n := bytesAllocated(func() { _, err = r.ReadFrame() })
			if err == nil {
				t.Fatal("ReadFrame succeeded on a frame it cannot have read")
			}
			if n > tt.maxAlloc {
				t.Errorf("ReadFrame allocated %d bytes, want at most %d (err %v)", n, tt.maxAlloc, err)
			}
		})
	}
}

func TestReadFrameAllocs(t *testing.T) {
	ping := frameStream(Frame{Flags: FlagCommand, Body: AppendCommandBody(nil, CmdPing, AppendPingData(nil, 0, nil))})
	data := frameStream(Frame{Body: make([]byte, 100)})
	for _, tt := range []struct {
		name  string
		frame []byte
	}{{"PING", ping}, {"100 B", data}} {
		r := NewReader(&repeatReader{frame: tt.frame}, -1)
		allocs := testing.AllocsPerRun(1000, func() {
			f, err := r.ReadFrame()
			if err != nil {
				t.Fatal(err)
			}
			if f.IsCommand() {
				if _, err := ParseCommand(f.Body); err != nil {
					t.Fatal(err)
				}
			}
		})
		if allocs > 1 {
			t.Errorf("%s: %v allocations per frame, want 1 (the body)", tt.name, allocs)
		}
	}
}

// repeatReader yields the same bytes forever.
type repeatReader struct {
	frame []byte
	off   int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.frame[r.off:])
		n += c
		r.off = (r.off + c) % len(r.frame)
	}
	return n, nil
}

func TestWriter(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	greeting := Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}.Append(nil)
	if _, err := w.Write(greeting); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteCommand(CmdReady, Metadata{{PropSocketType, []byte("PUSH")}}.Append(nil)); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(FlagMore, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(FlagLong, bytes.Repeat([]byte{'b'}, 256)); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 || w.Buffered() == 0 {
		t.Errorf("before Flush: %d bytes written, %d buffered; want 0 written", out.Len(), w.Buffered())
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if w.Buffered() != 0 {
		t.Errorf("after Flush: %d bytes buffered", w.Buffered())
	}
	want := append([]byte{}, greeting...)
	want = append(want, 0x04, 26, 5, 'R', 'E', 'A', 'D', 'Y', 11)
	want = append(want, "Socket-Type\x00\x00\x00\x04PUSH"...)
	want = append(want, 0x01, 1, 'a')
	want = append(want, longHeader(0, 256)...)
	want = append(want, bytes.Repeat([]byte{'b'}, 256)...)
	if diff := cmp.Diff(want, out.Bytes()); diff != "" {
		t.Errorf("written bytes mismatch (-want +got):\n%s", diff)
	}
}

func TestWriterRefusesBadFrames(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	for _, tt := range []struct {
		name    string
		write   func() error
		wantErr error
	}{
		{"reserved flag", func() error { return w.WriteFrame(0x08, []byte("x")) }, ErrReservedFlags},
		{"command with more", func() error { return w.WriteFrame(FlagCommand|FlagMore, []byte("\x04PING\x00\x00")) }, ErrReservedFlags},
		{"empty command name", func() error { return w.WriteCommand("", nil) }, ErrMalformedCommand},
		{"256-byte command name", func() error { return w.WriteCommand(strings.Repeat("A", 256), nil) }, ErrMalformedCommand},
	} {
		if err := tt.write(); !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.wantErr)
		}
	}
	if w.Buffered() != 0 {
		t.Errorf("refused frames left %d bytes in the buffer", w.Buffered())
	}
}

// TestWriterLargeBodyWritesThrough: a body larger than the buffer goes to
// the stream directly, and still in order after what was buffered.
func TestWriterLargeBodyWritesThrough(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	big := bytes.Repeat([]byte{'z'}, 3*ioBufferSize)
	if err := w.WriteFrame(0, []byte("small")); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(0, big); err != nil {
		t.Fatal(err)
	}
	if w.Buffered() != 0 {
		t.Errorf("%d bytes still buffered after a large write", w.Buffered())
	}
	r := NewReader(&out, -1)
	for _, want := range [][]byte{[]byte("small"), big} {
		f, err := r.ReadFrame()
		if err != nil || !bytes.Equal(f.Body, want) {
			t.Fatalf("read back %d bytes, err %v; want %d bytes", len(f.Body), err, len(want))
		}
	}
}

func TestWriterReaderRoundTrip(t *testing.T) {
	frames := []Frame{
		{Flags: FlagCommand, Body: AppendCommandBody(nil, CmdSubscribe, []byte("topic"))},
		{Flags: FlagMore, Body: nil},
		{Flags: FlagMore, Body: bytes.Repeat([]byte{1}, 255)},
		{Flags: FlagMore, Body: bytes.Repeat([]byte{2}, 256)},
		{Flags: 0, Body: bytes.Repeat([]byte{3}, 70000)},
	}
	var out bytes.Buffer
	w := NewWriter(&out)
	for _, f := range frames {
		var err error
		if f.IsCommand() {
			cmd, _ := ParseCommand(f.Body)
			err = w.WriteCommand(cmd.Name, cmd.Body)
		} else {
			err = w.WriteFrame(f.Flags, f.Body)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r := NewReader(&out, 1<<20)
	var got []Frame
	for range frames {
		f, err := r.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, f)
	}
	if diff := cmp.Diff(frames, got, equalBytes); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
	if _, err := r.ReadFrame(); err != io.EOF {
		t.Errorf("after the last frame: %v, want io.EOF", err)
	}
}

func BenchmarkReadPing(b *testing.B) {
	frame := frameStream(Frame{Flags: FlagCommand, Body: AppendCommandBody(nil, CmdPing, AppendPingData(nil, 10, nil))})
	r := NewReader(&repeatReader{frame: frame}, -1)
	b.ReportAllocs()
	for b.Loop() {
		f, err := r.ReadFrame()
		if err != nil {
			b.Fatal(err)
		}
		cmd, err := ParseCommand(f.Body)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := ParsePing(cmd.Body); err != nil {
			b.Fatal(err)
		}
	}
}

// TestReadFrameArena: small data bodies are carved from a shared arena
// (one allocation per many frames), each capped so that an append cannot
// reach its neighbour; command bodies, which the connection may keep (the
// metadata of READY), never are; and an arena is no bigger than what was
// buffered when it was made.
func TestReadFrameArena(t *testing.T) {
	for _, size := range []int{1, 100, arenaBody} {
		r := NewReader(&repeatReader{frame: frameStream(Frame{Body: make([]byte, size)})}, -1)
		allocs := testing.AllocsPerRun(1000, func() {
			if _, err := r.ReadFrame(); err != nil {
				t.Fatal(err)
			}
		})
		if want := float64(size)/float64(arenaSize) + 0.01; allocs > want {
			t.Errorf("%d B: %v allocations per frame, want at most %.3f", size, allocs, want)
		}
	}

	adjacent := func(a, b []byte) bool {
		return unsafe.Add(unsafe.Pointer(unsafe.SliceData(a)), len(a)) == unsafe.Pointer(unsafe.SliceData(b))
	}
	// The first frame of a stream takes the general path (nothing is
	// buffered yet); the rest are whole in the buffer. The bodies are past
	// the allocator's tiny size (16 B), whose blocks lie side by side, and
	// short of their size class, so that separate allocations never look
	// adjacent.
	cmd := Frame{Flags: FlagCommand, Body: AppendCommandBody(nil, CmdPing, AppendPingData(nil, 0, []byte("context-ctx-12")))}
	r := NewReader(bytes.NewReader(frameStream(Frame{Body: []byte("first")},
		Frame{Body: []byte("one-one-one-one-1")}, Frame{Body: []byte("two-two-two-two-2")}, cmd,
		Frame{Body: []byte("six-six-six-six-6")})), -1)
	var got [5][]byte
	for i := range got {
		f, err := r.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		got[i] = f.Body
		if cap(f.Body) != len(f.Body) {
			t.Errorf("frame %d: cap %d, len %d: an append would write past it", i, cap(f.Body), len(f.Body))
		}
	}
	if !adjacent(got[1], got[2]) {
		t.Error("two small data bodies read from one buffer do not share an arena")
	}
	if len(got[3]) != 21 {
		t.Fatalf("the PING body is %d bytes; the test wants 21", len(got[3]))
	}
	if adjacent(got[2], got[3]) || adjacent(got[3], got[4]) {
		t.Error("a command body was carved from the arena")
	}
	_ = append(got[1], "XYZ"...)
	if string(got[2]) != "two-two-two-two-2" {
		t.Errorf("appending to a body changed its neighbour: %q", got[2])
	}

	// One small message buffered: an arena of its frame's size, no more.
	r = NewReader(bytes.NewReader(frameStream(Frame{Body: []byte("first")}, Frame{Body: []byte("one")})), -1)
	for range 2 {
		if _, err := r.ReadFrame(); err != nil {
			t.Fatal(err)
		}
	}
	if len(r.arena) > 2 {
		t.Errorf("after a 3-byte body from a 5-byte frame, %d bytes of arena are left, want at most 2", len(r.arena))
	}
}
