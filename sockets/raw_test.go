package sockets

import (
	"testing"
	"time"

	"github.com/zmtpgo/zmtp/internal/rawpeer"
)

// rawWait bounds every wait of the raw peers of these tests.
const rawWait = 10 * time.Second

// rawListen listens on loopback and returns the endpoint and a function
// that accepts one connection and completes the handshake as typ.
func rawListen(t *testing.T, typ string, minor uint8) (string, func() *rawpeer.Peer) {
	t.Helper()
	return rawpeer.Listen(t, typ, minor, rawWait)
}

// rawDialPeer connects to a bound socket and completes the handshake as typ.
func rawDialPeer(t *testing.T, ep, typ string, minor uint8) *rawpeer.Peer {
	t.Helper()
	return rawpeer.Dial(t, ep, typ, minor, rawWait)
}
