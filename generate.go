// Package zmtp is a pure-Go ZeroMQ (ZMTP 3.1) for networks you do not
// trust. The socket types live in package sockets; the wire protocol in
// package transport; the handshake state machine, generated from package
// spec, in package fsm.
//
// Run go generate ./... after changing the spec: it rewrites fsm/fsm_gen.go
// and docs/handshake.md, and a test fails while the committed copies differ.
package zmtp

//go:generate go run ./gen/cmd/zmtpgen -go fsm/fsm_gen.go -md docs/handshake.md
