package transport

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSocketTypeNames(t *testing.T) {
	// libzmq's numbering (zmq.h) and wire names.
	want := map[SocketType]string{
		0: "PAIR", 1: "PUB", 2: "SUB", 3: "REQ", 4: "REP", 5: "DEALER",
		6: "ROUTER", 7: "PULL", 8: "PUSH", 9: "XPUB", 10: "XSUB",
	}
	got := map[SocketType]string{}
	for ty := range SocketType(numSocketTypes) {
		got[ty] = ty.String()
		parsed, err := ParseSocketType(ty.String())
		if err != nil || parsed != ty {
			t.Errorf("ParseSocketType(%q) = %v, %v; want %v", ty.String(), parsed, err, ty)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("names mismatch (-want +got):\n%s", diff)
	}
	if s := SocketType(11).String(); s != "SocketType(11)" {
		t.Errorf("SocketType(11).String() = %q", s)
	}
}

func TestParseSocketTypeUnknown(t *testing.T) {
	// Exact match, as libzmq: values are not case-insensitive. RFC 37 types
	// we do not implement are unknown.
	for _, name := range []string{"", "dealer", "Dealer", "DEALER ", "STREAM", "CLIENT", "RADIO", "PEER"} {
		if _, err := ParseSocketType(name); !errors.Is(err, ErrUnknownSocketType) {
			t.Errorf("ParseSocketType(%q) error = %v, want ErrUnknownSocketType", name, err)
		}
	}
}

func TestCompatibleWith(t *testing.T) {
	// ZMTP.md / RFC 37's table, one direction each.
	valid := map[[2]SocketType]bool{
		{REQ, REP}: true, {REQ, ROUTER}: true, {REP, DEALER}: true,
		{DEALER, DEALER}: true, {DEALER, ROUTER}: true, {ROUTER, ROUTER}: true,
		{PUB, SUB}: true, {PUB, XSUB}: true, {XPUB, SUB}: true, {XPUB, XSUB}: true,
		{PUSH, PULL}: true, {PAIR, PAIR}: true,
	}
	for a := range SocketType(numSocketTypes) {
		for b := range SocketType(numSocketTypes) {
			want := valid[[2]SocketType{a, b}] || valid[[2]SocketType{b, a}]
			if got := CompatibleWith(a, b); got != want {
				t.Errorf("CompatibleWith(%v, %v) = %v, want %v", a, b, got, want)
			}
		}
	}
	if CompatibleWith(PAIR, 200) || CompatibleWith(200, PAIR) {
		t.Error("an out-of-range type is compatible with PAIR")
	}
}

func TestSendsIdentity(t *testing.T) {
	for ty := range SocketType(numSocketTypes) {
		want := ty == REQ || ty == DEALER || ty == ROUTER
		if got := ty.SendsIdentity(); got != want {
			t.Errorf("%v.SendsIdentity() = %v, want %v", ty, got, want)
		}
	}
}
