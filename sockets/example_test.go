package sockets_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zmtpgo/zmtp/fsm"
	"github.com/zmtpgo/zmtp/sockets"
	"github.com/zmtpgo/zmtp/transport"
)

// A PUSH socket connects to a bound PULL socket and sends a two-frame
// message.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	pull, _ := sockets.New(sockets.PULL)
	defer pull.Close()
	if err := pull.Bind("tcp://127.0.0.1:0"); err != nil {
		fmt.Println(err)
		return
	}

	push, _ := sockets.New(sockets.PUSH)
	defer push.Close()
	push.Connect(pull.LastEndpoint())

	push.Send(ctx, sockets.NewMsgString("job", "42"))
	m, err := pull.Recv(ctx)
	fmt.Println(m, err)
	// Output: job|42 <nil>
}

// REQ and REP alternate strictly: a request, then its reply.
func ExampleSocket_Recv_reqRep() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	rep, _ := sockets.New(sockets.REP)
	defer rep.Close()
	rep.Bind("tcp://127.0.0.1:0")
	req, _ := sockets.New(sockets.REQ)
	defer req.Close()
	req.Connect(rep.LastEndpoint())

	req.Send(ctx, sockets.NewMsgString("ping"))
	q, _ := rep.Recv(ctx)
	rep.Send(ctx, sockets.NewMsgString(q.String()+"-pong"))
	a, _ := req.Recv(ctx)
	fmt.Println(a)
	// Output: ping-pong
}

// A monitor reports why a connection failed, with a typed reason that
// errors.Is understands.
func ExampleWithMonitor() {
	failed := make(chan sockets.Event, 1)
	monitor := func(ev sockets.Event) {
		if ev.Kind == transport.EventHandshakeFailed {
			select {
			case failed <- ev:
			default:
			}
		}
	}
	a, _ := sockets.New(sockets.PUSH)
	defer a.Close()
	a.Bind("tcp://127.0.0.1:0")
	b, _ := sockets.New(sockets.PUSH, sockets.WithMonitor(monitor)) // PUSH cannot talk to PUSH
	defer b.Close()
	b.Connect(a.LastEndpoint())

	ev := <-failed
	fmt.Println(ev.Reason.String(), errors.Is(ev.Err, fsm.ReasonSocketTypeMismatch))
	// Output: SocketTypeMismatch true
}

// A receiver that is done with each message hands its frames back, so
// that later messages of 512 B or more are received into them.
func ExampleMsg_Free() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	pull, _ := sockets.New(sockets.PULL)
	defer pull.Close()
	if err := pull.Bind("tcp://127.0.0.1:0"); err != nil {
		fmt.Println(err)
		return
	}
	push, _ := sockets.New(sockets.PUSH)
	defer push.Close()
	push.Connect(pull.LastEndpoint())

	total := 0
	for range 3 {
		push.Send(ctx, sockets.NewMsg(make([]byte, 4096)))
		m, err := pull.Recv(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		total += len(m.Frames[0])
		m.Free() // m.Frames is nil now; the bytes may back the next message
	}
	fmt.Println(total)
	// Output: 12288
}
