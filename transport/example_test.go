package transport_test

import (
	"bytes"
	"fmt"

	"github.com/zmtpgo/zmtp/transport"
)

// A NULL handshake's first half, in memory: one side writes its greeting
// and READY, the other reads and checks them.
func Example() {
	var wire bytes.Buffer
	w := transport.NewWriter(&wire)
	w.Write(transport.Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}.Append(nil))
	ready := transport.Metadata{
		{Name: transport.PropSocketType, Value: []byte(transport.DEALER.String())},
		{Name: transport.PropIdentity, Value: nil},
	}
	w.WriteCommand(transport.CmdReady, ready.Append(nil))
	w.Flush()

	r := transport.NewReader(&wire, 1<<20)
	g, err := r.ReadGreeting()
	if err != nil {
		panic(err)
	}
	f, err := r.ReadFrame()
	if err != nil {
		panic(err)
	}
	cmd, err := transport.ParseCommand(f.Body)
	if err != nil {
		panic(err)
	}
	md, err := transport.ParseMetadata(cmd.Body)
	if err != nil {
		panic(err)
	}
	v, _ := md.Get("socket-type")
	peer, err := transport.ParseSocketType(string(v))
	if err != nil {
		panic(err)
	}
	fmt.Printf("ZMTP %d.%d %s, %s from a %v peer; ROUTER may talk to it: %v\n",
		g.Major, g.Minor, g.Mechanism, cmd.Name, peer, transport.CompatibleWith(transport.ROUTER, peer))
	// Output: ZMTP 3.1 NULL, READY from a DEALER peer; ROUTER may talk to it: true
}

func ExampleParseEndpoint() {
	for _, s := range []string{"tcp://*:5555", "tcp://[::1]:5556", "ipc:///tmp/feed.sock", "inproc://x"} {
		e, err := transport.ParseEndpoint(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s listens or dials %s %q\n", e, e.Transport, e.Address)
	}
	// Output:
	// tcp://*:5555 listens or dials tcp ":5555"
	// tcp://[::1]:5556 listens or dials tcp "[::1]:5556"
	// ipc:///tmp/feed.sock listens or dials ipc "/tmp/feed.sock"
	// zmtp: invalid endpoint: "inproc://x": transport "inproc" is not supported, want tcp or ipc
}
