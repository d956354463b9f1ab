package transport

import (
	"fmt"
	"strconv"
)

// SocketType is a ZeroMQ socket type. The numeric values are libzmq's
// (ZMQ_PAIR = 0 … ZMQ_XSUB = 10), so they can be compared with libzmq's
// option values and monitor output.
type SocketType uint8

// The socket types this library implements, in libzmq's numeric order.
const (
	PAIR SocketType = iota
	PUB
	SUB
	REQ
	REP
	DEALER
	ROUTER
	PULL
	PUSH
	XPUB
	XSUB

	numSocketTypes = iota
)

// socketTypeNames are the names as sent in the Socket-Type property.
var socketTypeNames = [numSocketTypes]string{
	PAIR:   "PAIR",
	PUB:    "PUB",
	SUB:    "SUB",
	REQ:    "REQ",
	REP:    "REP",
	DEALER: "DEALER",
	ROUTER: "ROUTER",
	PULL:   "PULL",
	PUSH:   "PUSH",
	XPUB:   "XPUB",
	XSUB:   "XSUB",
}

// String returns the wire name, e.g. "DEALER", or "SocketType(N)" for a
// value outside the known range.
func (t SocketType) String() string {
	if int(t) < len(socketTypeNames) {
		return socketTypeNames[t]
	}
	return "SocketType(" + strconv.Itoa(int(t)) + ")"
}

// ParseSocketType returns the socket type for a Socket-Type property value.
// Matching is exact, as in libzmq (mechanism.cpp, check_socket_type): the
// RFC makes property names case-insensitive, not values. Types defined by
// RFC 37 that this library does not implement (CLIENT, SERVER, RADIO, …)
// give ErrUnknownSocketType.
func ParseSocketType(name string) (SocketType, error) {
	for t, n := range socketTypeNames {
		if n == name {
			return SocketType(t), nil
		}
	}
	return 0, fmt.Errorf("%w: %q", ErrUnknownSocketType, name)
}

// compatible[a] has bit b set when a may talk to b (RFC 37 §The Socket-Type
// Property, the same pairs as libzmq's check_socket_type).
var compatible = func() [numSocketTypes]uint16 {
	var c [numSocketTypes]uint16
	pair := func(a, b SocketType) {
		c[a] |= 1 << b
		c[b] |= 1 << a
	}
	pair(REQ, REP)
	pair(REQ, ROUTER)
	pair(REP, DEALER)
	pair(DEALER, DEALER)
	pair(DEALER, ROUTER)
	pair(ROUTER, ROUTER)
	for _, pub := range []SocketType{PUB, XPUB} {
		for _, sub := range []SocketType{SUB, XSUB} {
			pair(pub, sub)
		}
	}
	pair(PUSH, PULL)
	pair(PAIR, PAIR)
	return c
}()

// CompatibleWith reports whether sockets of types a and b may be connected:
// REQ–REP, REQ–ROUTER, REP–DEALER, DEALER–DEALER, DEALER–ROUTER,
// ROUTER–ROUTER, PUB/XPUB–SUB/XSUB, PUSH–PULL and PAIR–PAIR. It is
// symmetric. A peer of any other type gets ERROR and the connection closes.
func CompatibleWith(a, b SocketType) bool {
	if int(a) >= numSocketTypes || int(b) >= numSocketTypes {
		return false
	}
	return compatible[a]&(1<<b) != 0
}

// SendsIdentity reports whether sockets of type t put an Identity property
// in their READY. libzmq does so for REQ, DEALER and ROUTER only (the types
// whose peers route by identity; mechanism.cpp, basic_properties_len), and a
// ROUTER peer reads it as the routing id.
func (t SocketType) SendsIdentity() bool {
	return t == REQ || t == DEALER || t == ROUTER
}
