package transport

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// Command names defined by RFC 37 (NULL, subscriptions, heartbeats) and by
// the PLAIN and CURVE mechanisms (RFC 24, RFC 26).
const (
	CmdReady     = "READY"
	CmdError     = "ERROR"
	CmdSubscribe = "SUBSCRIBE"
	CmdCancel    = "CANCEL"
	CmdPing      = "PING"
	CmdPong      = "PONG"
	CmdHello     = "HELLO"
	CmdWelcome   = "WELCOME"
	CmdInitiate  = "INITIATE"
	CmdMessage   = "MESSAGE" // CURVE's encrypted message box
)

// MaxPingContext is the longest PING context a PONG echoes (RFC 37
// §Connection Heartbeating: ping-context = 0*16OCTET).
const MaxPingContext = 16

// Command is a decoded command frame body.
type Command struct {
	// Name is the command name, e.g. CmdReady.
	Name string
	// Body is the command data after the name. It aliases the frame body
	// passed to ParseCommand.
	Body []byte
}

// ParseCommand splits a command frame body into name and data (RFC 23:
// command-body = command-name command-data; command-name = short-size
// 1*255command-name-char).
//
// The name's characters are not checked: RFC 23 allows only letters, but
// libzmq does not check either, and an unknown name is for the caller to
// ignore or refuse. Names this package knows are returned as constants, so
// parsing a PING, PONG or SUBSCRIBE does not allocate.
func ParseCommand(frameBody []byte) (Command, error) {
	if len(frameBody) == 0 {
		return Command{}, fmt.Errorf("%w: empty command frame", ErrMalformedCommand)
	}
	n := int(frameBody[0])
	if n == 0 {
		return Command{}, fmt.Errorf("%w: empty command name", ErrMalformedCommand)
	}
	if len(frameBody)-1 < n {
		if bytes.HasPrefix(frameBody, libzmq43ErrorPrefix) {
			return Command{Name: CmdError, Body: frameBody[len(libzmq43ErrorPrefix):]}, nil
		}
		return Command{}, fmt.Errorf("%w: name length %d, only %d bytes follow",
			ErrMalformedCommand, n, len(frameBody)-1)
	}
	return Command{Name: commandName(frameBody[1 : 1+n]), Body: frameBody[1+n:]}, nil
}

// libzmq43ErrorPrefix is how libzmq 4.3's PLAIN server starts its ERROR
// command. Its source (plain_common.hpp) spells the prefix "\x05ERROR", and C
// reads the hex escape greedily as \x5E followed by "RROR", so the name
// length byte says 94 and the name is 4 bytes (recorded in
// testdata/libzmq/plain-error.bin). libzmq's own client compares against the
// same bytes, so libzmq never noticed. ParseCommand accepts this exact prefix
// as ERROR, but only where the frame is otherwise malformed, so that a
// refused PLAIN login is reported as the ERROR (with its ZAP status) that it
// is, rather than as a protocol error.
var libzmq43ErrorPrefix = []byte("\x5eRROR")

// commandName returns the constant for a known name, or a copy otherwise.
func commandName(b []byte) string {
	switch string(b) { // no allocation for a switch on string(bytes)
	case CmdReady:
		return CmdReady
	case CmdError:
		return CmdError
	case CmdSubscribe:
		return CmdSubscribe
	case CmdCancel:
		return CmdCancel
	case CmdPing:
		return CmdPing
	case CmdPong:
		return CmdPong
	case CmdHello:
		return CmdHello
	case CmdWelcome:
		return CmdWelcome
	case CmdInitiate:
		return CmdInitiate
	case CmdMessage:
		return CmdMessage
	}
	return string(b)
}

// AppendCommandBody appends a command frame body (name length, name, data)
// to dst. name must be 1–255 bytes; it panics otherwise, since names are
// constants chosen by the program, not input.
func AppendCommandBody(dst []byte, name string, data []byte) []byte {
	if len(name) == 0 || len(name) > maxShortSize {
		panic("zmtp: command name must be 1-255 bytes")
	}
	dst = append(dst, byte(len(name)))
	dst = append(dst, name...)
	return append(dst, data...)
}

// ParseError decodes ERROR command data: a 1-byte reason length and the
// reason (RFC 37: error-reason = short-size 0*255VCHAR). Bytes after the
// reason are an error. The reason's characters are not checked: it is only
// for logs (libzmq's servers put a ZAP status code such as "400" there).
func ParseError(data []byte) (reason string, err error) {
	if len(data) == 0 {
		return "", fmt.Errorf("%w: ERROR has no reason length", ErrMalformedCommand)
	}
	n := int(data[0])
	if len(data)-1 != n {
		return "", fmt.Errorf("%w: ERROR reason length %d, %d bytes follow",
			ErrMalformedCommand, n, len(data)-1)
	}
	return string(data[1:]), nil
}

// AppendErrorData appends ERROR command data for reason, cut to 255 bytes
// (at a UTF-8 boundary, so a log line does not end in half a character).
func AppendErrorData(dst []byte, reason string) []byte {
	if len(reason) > maxShortSize {
		cut := maxShortSize
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut]
	}
	dst = append(dst, byte(len(reason)))
	return append(dst, reason...)
}

// ParsePing decodes PING command data: a big-endian TTL in tenths of a
// second, then a context of 0–16 bytes that the PONG must echo (RFC 37
// §Connection Heartbeating). context aliases data.
//
// A context longer than 16 bytes is cut to 16 rather than refused, as libzmq
// does (zmtp_engine.cpp, process_heartbeat_message): a PING must be answered,
// and refusing it would turn a peer's slip into a dropped connection.
func ParsePing(data []byte) (ttl uint16, context []byte, err error) {
	if len(data) < 2 {
		return 0, nil, fmt.Errorf("%w: PING data is %d bytes, need at least 2 for the TTL",
			ErrMalformedCommand, len(data))
	}
	context = data[2:]
	if len(context) > MaxPingContext {
		context = context[:MaxPingContext]
	}
	return binary.BigEndian.Uint16(data), context, nil
}

// AppendPingData appends PING command data: ttl in tenths of a second and a
// context, cut to 16 bytes.
func AppendPingData(dst []byte, ttl uint16, context []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, ttl)
	return append(dst, context[:min(len(context), MaxPingContext)]...)
}

// ParsePong decodes PONG command data: the echoed PING context. Unlike a
// PING, a PONG longer than 16 bytes is refused: it cannot be the echo of a
// context we sent, and nothing needs answering. context aliases data.
func ParsePong(data []byte) (context []byte, err error) {
	if len(data) > MaxPingContext {
		return nil, fmt.Errorf("%w: PONG context is %d bytes, limit %d",
			ErrMalformedCommand, len(data), MaxPingContext)
	}
	return data, nil
}
