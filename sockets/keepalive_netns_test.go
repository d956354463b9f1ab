package sockets

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/zmtpgo/zmtp/fsm"
	"github.com/zmtpgo/zmtp/transport"
)

// TestKeepaliveAloneDetectsSilentPeer is the founding case with TCP
// keepalive and no heartbeats: the link under an established SUB–PUB
// connection stops carrying packets (no FIN, no RST), the kernel's
// keepalive probes go unanswered, the connection closes with reason
// KeepaliveFailed, and once the link is back the SUB reconnects and
// receives. A userspace relay cannot show this (its kernel answers the
// probes), so the test runs itself again in a private network namespace
// (unshare -n, as root) whose loopback it can take down; it touches no
// other interface.
func TestKeepaliveAloneDetectsSilentPeer(t *testing.T) {
	if os.Getenv("ZMTP_IN_NETNS") == "1" {
		keepaliveInNetns(t)
		return
	}
	if testing.Short() {
		t.Skip("takes about 4 s")
	}
	unshare, err1 := exec.LookPath("unshare")
	_, err2 := exec.LookPath("ip")
	if os.Geteuid() != 0 || err1 != nil || err2 != nil {
		t.Skip("needs root, unshare and ip to make a private network namespace")
	}
	cmd := exec.Command(unshare, "-n", os.Args[0], "-test.run", "^TestKeepaliveAloneDetectsSilentPeer$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "ZMTP_IN_NETNS=1")
	out, err := cmd.CombinedOutput()
	t.Logf("in a private network namespace:\n%s", out)
	if err != nil {
		t.Fatalf("the namespaced run failed: %v", err)
	}
}

func keepaliveInNetns(t *testing.T) {
	link := func(state string) {
		t.Helper()
		if out, err := exec.Command("ip", "link", "set", "lo", state).CombinedOutput(); err != nil {
			t.Fatalf("ip link set lo %s: %v %s", state, err, out)
		}
	}
	link("up")
	pub := newSock(t, PUB)
	if err := pub.Bind("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	events := make(eventLog, 1024)
	sub := newSock(t, SUB, WithTCPKeepAlive(time.Second, time.Second, 2), WithReconnectIvl(50*time.Millisecond), WithMonitor(events.add))
	sub.Subscribe(nil)
	if err := sub.Connect(pub.LastEndpoint()); err != nil {
		t.Fatal(err)
	}
	settleOn(t, pub, sub, "before")

	link("down")
	down := time.Now()
	ev := events.waitFor(t, "keepalive failure", func(ev Event) bool {
		return ev.Kind == transport.EventDisconnected && ev.Reason == fsm.ReasonKeepaliveFailed
	})
	t.Logf("keepalive declared the peer dead after %v: %v", time.Since(down), ev)
	link("up")
	settleOn(t, pub, sub, "after")
}
