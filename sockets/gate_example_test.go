package sockets_test

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/zmtpgo/zmtp/sockets"
	"github.com/zmtpgo/zmtp/transport"
)

// A bound socket with a peer cap and a per-IP cap changes its accept-from
// lists after Bind: a peer from the denied address is refused right after
// accept, with a typed reason in the monitor event and a counter.
func ExampleSocket_SetAcceptFrom() {
	rejected := make(chan sockets.Event, 1)
	pull, err := sockets.New(sockets.PULL, sockets.WithMaxPeers(100), sockets.WithMaxPeersPerIP(4),
		sockets.WithMonitor(func(ev sockets.Event) {
			if ev.Kind == transport.EventRejected {
				select {
				case rejected <- ev:
				default:
				}
			}
		}))
	if err != nil {
		panic(err)
	}
	defer pull.Close()
	if err := pull.Bind("tcp://127.0.0.1:0"); err != nil {
		panic(err)
	}
	// Refuse 127.0.0.2 from now on, and drop its live connections.
	if err := pull.SetAcceptFrom(nil, []string{"127.0.0.2/32"}, true); err != nil {
		panic(err)
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	if nc, err := d.Dial("tcp", strings.TrimPrefix(pull.LastEndpoint(), "tcp://")); err == nil {
		defer nc.Close()
	}
	ev := <-rejected
	var re *transport.RejectError
	errors.As(ev.Err, &re)
	fmt.Println(ev.Reason.String(), re, pull.GateStats().RejectedACL)

	// Text that is not a prefix is an error at the call; nothing changes.
	err = pull.SetAcceptFrom([]string{"10.0.0/8"}, nil, false)
	fmt.Println(errors.Is(err, transport.ErrInvalidPrefix))
	// Output:
	// ACLDenied zmtp: 127.0.0.2 is denied by 127.0.0.2/32 1
	// true
}
