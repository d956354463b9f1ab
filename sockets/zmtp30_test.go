package sockets

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/zmtpgo/zmtp/internal/rawpeer"
	"github.com/zmtpgo/zmtp/internal/settle"
	"github.com/zmtpgo/zmtp/transport"
)

// rawFrame is a frame as these tests compare it.
type rawFrame struct {
	Command bool
	Body    string
}

// mustNext reads p's next frame as a rawFrame.
func mustNext(p *rawpeer.Peer) rawFrame {
	f := p.MustNext()
	return rawFrame{f.IsCommand(), string(f.Body)}
}

// TestSubscriptionsByPeerVersion: SUB and XSUB send a ZMTP 3.1 publisher
// SUBSCRIBE and CANCEL commands, and a 3.0 publisher (libzmq before 4.3.3)
// messages starting with 1 or 0, as libzmq does (interop/ checks libzmq
// sends the same).
func TestSubscriptionsByPeerVersion(t *testing.T) {
	for _, typ := range []Type{SUB, XSUB} {
		for _, minor := range []uint8{0, 1} {
			t.Run(fmt.Sprintf("%v to 3.%d", typ, minor), func(t *testing.T) {
				sub := func(s *Socket, on bool, topic string) {
					if typ == XSUB {
						flag := "\x00"
						if on {
							flag = "\x01"
						}
						mustSend(t, s, flag+topic)
						return
					}
					if on {
						s.Subscribe([]byte(topic))
					} else {
						s.Unsubscribe([]byte(topic))
					}
				}
				ep, accept := rawListen(t, "PUB", minor)
				s := newSock(t, typ)
				connectTo(t, s, ep)
				raw := accept()
				waitPeers(t, s, 1)
				sub(s, true, "t")
				sub(s, true, "t")
				sub(s, false, "t")
				sub(s, false, "t")
				var want []rawFrame
				for _, f := range []struct {
					cmd, msg string
				}{{transport.CmdSubscribe, "\x01t"}, {transport.CmdSubscribe, "\x01t"}, {transport.CmdCancel, "\x00t"}} {
					if minor == 0 {
						want = append(want, rawFrame{false, f.msg})
					} else {
						want = append(want, rawFrame{true, string(transport.AppendCommandBody(nil, f.cmd, []byte("t")))})
					}
				}
				var got []rawFrame
				for range want {
					got = append(got, mustNext(raw))
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("(-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestPublisherTakesZMTP30Subscriptions: PUB and XPUB take subscriptions
// sent as messages by a ZMTP 3.0 subscriber, filter by them, and XPUB
// reports them; a cancel of a topic the peer does not hold is ignored,
// as by libzmq.
func TestPublisherTakesZMTP30Subscriptions(t *testing.T) {
	for _, typ := range []Type{PUB, XPUB} {
		t.Run(typ.String(), func(t *testing.T) {
			pub := newSock(t, typ)
			raw := rawDialPeer(t, bindAny(t, pub), "SUB", 0)
			waitPeers(t, pub, 1)
			raw.Send("\x00never")
			raw.Send("\x01t")
			raw.Send("\x01sync")
			settle.Marker(t, func() { mustSend(t, pub, "sync") }, raw.NextBody, "sync", 10*time.Second)
			mustSend(t, pub, "u1")
			mustSend(t, pub, "t1", "two")
			want := []rawFrame{{false, "t1"}, {false, "two"}}
			if diff := cmp.Diff(want, []rawFrame{mustNext(raw), mustNext(raw)}); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
			if typ == XPUB {
				mustRecv(t, pub, "\x01t")
				mustRecv(t, pub, "\x01sync")
				if m := drain(pub, 100*time.Millisecond); len(m) != 0 {
					t.Fatalf("XPUB also received %v", m)
				}
			}
		})
	}
}
