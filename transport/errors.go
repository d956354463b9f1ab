// Package transport is the ZMTP 3.x wire codec: the greeting, frames,
// commands, metadata, socket types and endpoints (RFC 23, RFC 37).
//
// Everything here is pure: parsers take bytes and return values, appenders
// take values and return bytes, and Reader and Writer only wrap an io.Reader
// or io.Writer with a buffer. Nothing starts a goroutine or owns a connection,
// so the handshake can be tested message by message in memory.
package transport

import "errors"

// Sentinel errors. Parsers wrap them with detail ("%w: declared %d bytes,
// limit %d"), so callers test with errors.Is and log the full text.
//
// All of them are protocol errors: the connection that produced one must be
// closed, since the byte stream can no longer be trusted to be in sync.
var (
	// ErrNotZMTP means the peer does not speak a versioned ZMTP: the first
	// byte is not 0xFF (a ZMTP 1.0 identity frame, or another protocol such as
	// HTTP), or bit 0 of byte 9 is clear (a ZMTP 1.0 long identity frame).
	ErrNotZMTP = errors.New("zmtp: peer does not speak ZMTP")

	// ErrUnsupportedVersion means the peer speaks ZMTP below 3.0 (a 2.0 peer
	// sends major version 1). We do not downgrade: RFC 37's security
	// considerations call a crafted old header a downgrade attack.
	ErrUnsupportedVersion = errors.New("zmtp: unsupported ZMTP version")

	// ErrMalformedGreeting means the 64-byte greeting is not well formed, for
	// example a mechanism name with characters RFC 23 does not allow.
	ErrMalformedGreeting = errors.New("zmtp: malformed greeting")

	// ErrFrameTooLarge means a frame header declared a body larger than the
	// limit in force (the max message size, or MaxCommandSize for commands).
	// It is returned before anything is allocated for the body.
	ErrFrameTooLarge = errors.New("zmtp: frame too large")

	// ErrReservedFlags means a frame's flags byte has a reserved bit (3–7)
	// set, or marks a command with MORE, which RFC 23 forbids.
	ErrReservedFlags = errors.New("zmtp: reserved frame flags")

	// ErrMalformedCommand means a command frame's body does not follow the
	// command grammar (name length, name, data) or the named command's own
	// layout (ERROR, PING, PONG).
	ErrMalformedCommand = errors.New("zmtp: malformed command")

	// ErrMalformedMetadata means a metadata block (READY, INITIATE) is
	// truncated, has trailing bytes, or has an invalid property name.
	ErrMalformedMetadata = errors.New("zmtp: malformed metadata")

	// ErrMalformedFrame covers the other framing problems, such as a stream
	// that ends in the middle of a frame.
	ErrMalformedFrame = errors.New("zmtp: malformed frame")

	// ErrUnknownSocketType means a Socket-Type value is not one of the socket
	// types this library implements.
	ErrUnknownSocketType = errors.New("zmtp: unknown socket type")

	// ErrInvalidEndpoint means an endpoint string such as "tcp://host:port"
	// could not be parsed.
	ErrInvalidEndpoint = errors.New("zmtp: invalid endpoint")
)
