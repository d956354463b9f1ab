// Package interop tests the sockets and transport packages against real
// libzmq, through github.com/pebbe/zmq4 (cgo). Every test file carries the
// build tag libzmq, so a plain "go test ./..." or "go vet ./..." sees only
// this file and needs no C library.
//
// To run the tests, install libzmq's headers (Debian and Ubuntu:
// libzmq3-dev, checked with libzmq 4.3.4; pkg-config must find libzmq) and
// run
//
//	go test -tags libzmq ./interop/
//
// They use loopback addresses only (tcp://127.0.0.1 and, when the machine
// has it, tcp://[::1]) and bound every wait: contexts on our side,
// ZMQ_RCVTIMEO, ZMQ_SNDTIMEO and ZMQ_LINGER on libzmq's.
package interop
