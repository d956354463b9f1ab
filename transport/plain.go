package transport

import "fmt"

// MechanismPlain is the PLAIN mechanism (RFC 24): the client sends a user
// name and password in clear, and the server says yes or no. It is the
// weak form of token authentication: a captured handshake reveals the
// token. It interoperates with libzmq's ZMQ_PLAIN_SERVER/USERNAME/PASSWORD.
const MechanismPlain = "PLAIN"

// ParseHello decodes a PLAIN HELLO body (RFC 24: username-size(1)
// username password-size(1) password; nothing may follow). The returned
// slices alias data.
func ParseHello(data []byte) (username, password []byte, err error) {
	if len(data) < 1 {
		return nil, nil, fmt.Errorf("%w: PLAIN HELLO without a user name length", ErrMalformedCommand)
	}
	ulen := int(data[0])
	if len(data) < 1+ulen+1 {
		return nil, nil, fmt.Errorf("%w: PLAIN HELLO cut short in the user name (%d bytes, need %d)", ErrMalformedCommand, len(data), 1+ulen+1)
	}
	username = data[1 : 1+ulen]
	plen := int(data[1+ulen])
	rest := data[2+ulen:]
	if len(rest) != plen {
		return nil, nil, fmt.Errorf("%w: PLAIN HELLO password is %d bytes, length byte says %d", ErrMalformedCommand, len(rest), plen)
	}
	return username, rest, nil
}

// AppendHelloData appends a PLAIN HELLO body. Names and passwords longer
// than 255 bytes cannot be sent; the caller checks that at configuration.
func AppendHelloData(dst []byte, username, password []byte) []byte {
	dst = append(dst, byte(len(username)))
	dst = append(dst, username...)
	dst = append(dst, byte(len(password)))
	return append(dst, password...)
}

// AppendPlainServerError appends the body of the ERROR command a PLAIN
// server sends, in the form libzmq's PLAIN clients read: libzmq spells its
// ERROR prefix "\x05ERROR" in C (src/plain_common.hpp, 4.3.4 and still in
// later releases), which compiles to "\x5eRROR" (see libzmq43ErrorPrefix),
// and its PLAIN client recognises ERROR only by those bytes. Sent the RFC
// form, a libzmq client reports EVENT_HANDSHAKE_FAILED_PROTOCOL with
// ZMTP_UNEXPECTED_COMMAND instead of EVENT_HANDSHAKE_FAILED_AUTH with the
// ZAP status; sent this form, it reports the status (400), as it does
// against a libzmq server. Our own client reads both forms. A client that
// parses commands strictly sees a malformed command and closes: the
// refusal still ends the handshake, only the status is lost to it.
func AppendPlainServerError(dst []byte, reason string) []byte {
	dst = append(dst, libzmq43ErrorPrefix...)
	return AppendErrorData(dst, reason)
}
