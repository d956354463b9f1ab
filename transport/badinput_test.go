package transport

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/zmtpgo/zmtp/fsm"
)

// frame returns a frame with the given flags and body.
func frame(flags byte, body []byte) []byte {
	return append(AppendFrameHeader(nil, flags, len(body)), body...)
}

func readyFrame(md Metadata) []byte {
	return frame(FlagCommand, AppendCommandBody(nil, CmdReady, md.Append(nil)))
}

func nullGreeting() []byte { return Greeting{Major: 3, Minor: 1, Mechanism: MechanismNull}.Append(nil) }

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// TestBadInputRefusedWithTypedReason sends each kind of bad input to a
// bound PULL and checks the typed reason and the cause, and that a good
// PUSH connected to the same listener still delivers afterwards.
func TestBadInputRefusedWithTypedReason(t *testing.T) {
	pushReady := readyFrame(Metadata{{Name: PropSocketType, Value: []byte("PUSH")}})
	longName := make([]byte, 0, 300)
	longName = append(longName, 0xFF) // name-len 255, but only 3 bytes of name follow
	longName = append(longName, "abc"...)
	tests := []struct {
		name   string
		input  []byte
		reason fsm.Reason
		cause  error // nil: only the reason is checked
	}{
		{"HTTP request", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), fsm.ReasonNotZMTP, ErrNotZMTP},
		{"random bytes", []byte{0x13, 0x37, 0xde, 0xad, 0xbe, 0xef}, fsm.ReasonNotZMTP, ErrNotZMTP},
		{"ZMTP 1.0 greeting", []byte{0x01, 0x00}, fsm.ReasonNotZMTP, ErrNotZMTP},
		{"ZMTP 2.0 greeting", []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 0x01, 0x07}, fsm.ReasonUnsupportedVersion, ErrUnsupportedVersion},
		{"mechanism mismatch", Greeting{Major: 3, Minor: 1, Mechanism: "PLAIN"}.Append(nil), fsm.ReasonMechanismMismatch, nil},
		{"malformed mechanism name", func() []byte { g := nullGreeting(); g[13] = '!'; return g }(), fsm.ReasonProtocolViolation, ErrMalformedGreeting},
		{"command before the greeting is complete", cat(nullGreeting()[:SignatureSize], pushReady, make([]byte, 64)), fsm.ReasonProtocolViolation, nil},
		{"message before READY", cat(nullGreeting(), frame(0, []byte("early"))), fsm.ReasonProtocolViolation, ErrMalformedFrame},
		{"reserved flag bits", cat(nullGreeting(), []byte{0x84, 0}), fsm.ReasonProtocolViolation, ErrReservedFlags},
		{"command with MORE", cat(nullGreeting(), []byte{FlagCommand | FlagMore, 0}), fsm.ReasonProtocolViolation, ErrReservedFlags},
		{"metadata with trailing bytes", cat(nullGreeting(), frame(FlagCommand, AppendCommandBody(nil, CmdReady,
			append(Metadata{{Name: PropSocketType, Value: []byte("PUSH")}}.Append(nil), 0x01)))), fsm.ReasonProtocolViolation, ErrMalformedMetadata},
		{"metadata name longer than its bytes", cat(nullGreeting(), frame(FlagCommand, AppendCommandBody(nil, CmdReady, longName))), fsm.ReasonProtocolViolation, ErrMalformedMetadata},
		{"command frame above the command limit", cat(nullGreeting(), []byte{FlagCommand | FlagLong, 0, 0, 0, 1, 0, 0, 0, 0}), fsm.ReasonFrameTooLarge, ErrFrameTooLarge},
		{"invalid socket-type pair", cat(nullGreeting(), readyFrame(Metadata{{Name: PropSocketType, Value: []byte("PULL")}})), fsm.ReasonSocketTypeMismatch, nil},
		{"unknown socket type", cat(nullGreeting(), readyFrame(Metadata{{Name: PropSocketType, Value: []byte("TOASTER")}})), fsm.ReasonSocketTypeMismatch, nil},
		{"identity starting with a zero byte", cat(nullGreeting(), readyFrame(Metadata{{Name: PropSocketType, Value: []byte("PUSH")}, {Name: PropIdentity, Value: []byte{0, 1}}})), fsm.ReasonBadIdentity, nil},
		{"ERROR during the handshake", cat(nullGreeting(), frame(FlagCommand, AppendCommandBody(nil, CmdError, AppendErrorData(nil, "go away")))), fsm.ReasonErrorReceived, nil},
		{"data frame above the message limit", cat(nullGreeting(), pushReady, []byte{FlagLong, 0x7f, 0, 0, 0, 0, 0, 0, 0}), fsm.ReasonFrameTooLarge, ErrFrameTooLarge},
		{"endless empty frames flagged MORE", cat(nullGreeting(), pushReady, bytes.Repeat([]byte{FlagMore, 0}, MaxFrames+1)), fsm.ReasonFrameTooLarge, ErrFrameTooLarge},
	}
	evs := newEvents()
	pullH := newChanHandler()
	ln, err := Listen("tcp://127.0.0.1:0", &Config{SocketType: PULL, Handler: pullH, Monitor: evs.add, MaxMsgSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pushH := newChanHandler()
	good, err := Connect(ln.Endpoint(), &Config{SocketType: PUSH, Handler: pushH})
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	goodConn := recv(t, pushH.attached)
	recv(t, pullH.attached)
	evs.wait(t, EventHandshakeSucceeded)

	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.Write(tt.input)
			var ev Event
			for {
				ev = evs.wait(t, 0)
				if ev.Kind == EventHandshakeFailed || ev.Kind == EventDisconnected {
					break
				}
			}
			if ev.Reason != tt.reason {
				t.Fatalf("reason %s, want %s: %v", ev.Reason.String(), tt.reason.String(), ev.Err)
			}
			if !errors.Is(ev.Err, tt.reason) || (tt.cause != nil && !errors.Is(ev.Err, tt.cause)) {
				t.Fatalf("error %v does not match reason %s and cause %v", ev.Err, tt.reason.String(), tt.cause)
			}
			if ev.Peer != nc.LocalAddr().String() {
				t.Fatalf("event names peer %q, want %q", ev.Peer, nc.LocalAddr())
			}
			// The good connection is undisturbed.
			if err := goodConn.Send(context.Background(), [][]byte{{byte(i)}}); err != nil {
				t.Fatal(err)
			}
			if m := recv(t, pullH.msgs); m[0][0] != byte(i) {
				t.Fatalf("good peer's message %d arrived as %v", i, m)
			}
		})
	}
}

// TestSilentPeerTimesOut checks the handshake timer: a peer that connects
// and sends nothing is closed with HandshakeTimeout.
func TestSilentPeerTimesOut(t *testing.T) {
	evs := newEvents()
	listenRaw(t, &Config{SocketType: PULL, Handler: newChanHandler(), Monitor: evs.add, HandshakeTimeout: 100 * time.Millisecond}) // connects, says nothing
	ev := evs.wait(t, EventHandshakeFailed)
	if ev.Reason != fsm.ReasonHandshakeTimeout {
		t.Fatalf("got %v", ev)
	}
}
