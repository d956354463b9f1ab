package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// TestGateFlags runs a PULL with -deny and -gate-stats: a peer from the
// denied address is refused, a PUSH from 127.0.0.1 delivers, and the
// counters printed at exit say so.
func TestGateFlags(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pull := startBound(ctx, t, "-type", "PULL", "-bind", "tcp://127.0.0.1:0", "-count", "1", "-deny", "127.0.0.2",
		"-max-peers-per-ip", "4", "-gate-stats")
	ep := pull.ep
	// The denied peer sees a reset, at connect or at its first read.
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	if nc, err := d.DialContext(ctx, "tcp", strings.TrimPrefix(ep, "tcp://")); err == nil {
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		if n, err := nc.Read(make([]byte, 1)); n != 0 || err == nil {
			t.Fatalf("the denied peer read %d bytes (%v)", n, err)
		}
		nc.Close()
	}
	var pushOut, pushErr bytes.Buffer
	if code := run(ctx, []string{"-type", "PUSH", "-connect", ep, "hi"}, nil, &pushOut, &pushErr); code != 0 {
		t.Fatalf("push exit %d: %s", code, pushErr.String())
	}
	if code := <-pull.done; code != 0 {
		t.Fatalf("pull exit %d: %s", code, pull.errb.String())
	}
	if got := pull.out.String(); got != "hi\n" {
		t.Errorf("pull printed %q", got)
	}
	if want := "gate: accepted=1 rejected-acl=1 rejected-max-peers=0"; !strings.Contains(pull.errb.String(), want) {
		t.Errorf("stderr %q lacks %q", pull.errb.String(), want)
	}
}
