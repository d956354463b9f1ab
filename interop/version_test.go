//go:build libzmq

package interop

import (
	"context"
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
	zmq "github.com/pebbe/zmq4"

	"github.com/zmtpgo/zmtp/sockets"
	"github.com/zmtpgo/zmtp/transport"
)

// connHandler hands a transport connection and its messages to channels.
type connHandler struct {
	attached chan *transport.Conn
	msgs     chan [][]byte
}

func newConnHandler() *connHandler {
	return &connHandler{attached: make(chan *transport.Conn, 4), msgs: make(chan [][]byte, 16)}
}

func (h *connHandler) Attach(c *transport.Conn) bool {
	select {
	case h.attached <- c:
		return true
	default:
		return false
	}
}

func (h *connHandler) Message(c *transport.Conn, frames [][]byte) {
	select {
	case h.msgs <- frames:
	case <-c.Done():
	}
}

func (*connHandler) Command(*transport.Conn, string, []byte) {}
func (*connHandler) Detach(*transport.Conn, error)           {}

// peerInfo is what our side learnt about a libzmq peer in its handshake.
type peerInfo struct {
	Minor    uint8
	Type     transport.SocketType
	Identity string
}

// TestPeerVersion checks what libzmq announces in its greeting and READY,
// seen through transport.Conn (the sockets package does not expose its
// connections): libzmq 4.3.4 speaks ZMTP 3.1, and a DEALER sends its
// routing id as Identity.
func TestPeerVersion(t *testing.T) {
	major, minor, patch := zmq.Version()
	t.Logf("libzmq %d.%d.%d", major, minor, patch)
	if major != 4 || minor < 3 || minor == 3 && patch < 3 {
		t.Skipf("libzmq %d.%d.%d announces ZMTP 3.0; 3.1 came with 4.3.3", major, minor, patch)
	}
	want := peerInfo{Minor: 1, Type: transport.DEALER, Identity: "carol"}
	for _, topo := range topologies {
		t.Run(topo.name, func(t *testing.T) {
			c := zctx(t)
			z := zsock(t, c, zmq.DEALER, func(s *zmq.Socket) error { return s.SetIdentity("carol") })
			h := newConnHandler()
			cfg := &transport.Config{SocketType: transport.ROUTER, Handler: h}
			if topo.oursBind {
				ln, err := transport.Listen("tcp://127.0.0.1:0", cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { ln.Close() })
				zconnect(t, z, ln.Endpoint())
			} else {
				cn, err := transport.Connect(zbind(t, z, "127.0.0.1"), cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(cn.Close)
			}
			var conn *transport.Conn
			select {
			case conn = <-h.attached:
			case <-ctxT(t).Done():
				t.Fatal("no handshake with libzmq")
			}
			got := peerInfo{Minor: conn.PeerMinor(), Type: conn.PeerType(), Identity: string(conn.Identity())}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("libzmq peer (-want +got):\n%s", diff)
			}
			// The connection works, too.
			zsend(t, z, "hi")
			select {
			case m := <-h.msgs:
				if diff := cmp.Diff([]string{"hi"}, strs(m)); diff != "" {
					t.Errorf("received (-want +got):\n%s", diff)
				}
			case <-ctxT(t).Done():
				t.Fatal("no message from libzmq")
			}
		})
	}
}

// TestIPv6 talks PAIR to PAIR over tcp://[::1], both topologies (libzmq
// needs ZMQ_IPV6 for that).
func TestIPv6(t *testing.T) {
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("IPv6 loopback unavailable: %v", err)
	}
	ln.Close()
	ipv6 := []func(*zmq.Socket) error{func(s *zmq.Socket) error { return s.SetIpv6(true) }}
	for _, topo := range topologies {
		t.Run(topo.name, func(t *testing.T) {
			o, z := connectPairOn(t, "[::1]", topo, sockets.PAIR, zmq.PAIR, nil, ipv6)
			osend(t, o, "over", "v6")
			zrecv(t, z, "over", "v6")
			zsend(t, z, "back")
			orecv(t, o, "back")
		})
	}
}
