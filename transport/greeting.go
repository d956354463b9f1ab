package transport

import (
	"encoding/binary"
	"fmt"
)

// GreetingSize is the length of a ZMTP 3.x greeting (RFC 23 §Greeting).
const GreetingSize = 64

// SignatureSize is the length of the greeting prefix that decides the
// protocol version: bytes 0–9 are the signature (0xFF, 8 bytes of padding,
// 0x7F) and byte 10 is the major version. RFC 37 §Version Negotiation lets a
// peer judge the version from these 11 bytes alone.
const SignatureSize = 11

// Offsets inside the greeting.
const (
	greetMajor     = 10
	greetMinor     = 11
	greetMechanism = 12
	greetAsServer  = 32
	mechanismSize  = 20
)

// Greeting is the decoded 64-byte greeting that each peer sends first.
type Greeting struct {
	// Major and Minor are the ZMTP version: 3.0 or 3.1 today. A peer must
	// accept any higher version (RFC 37 §Version Negotiation).
	Major, Minor uint8

	// Mechanism is the security mechanism name without its NUL padding:
	// "NULL", "PLAIN", "CURVE", …
	Mechanism string

	// AsServer reports whether the peer acts as the server of the security
	// handshake (PLAIN, CURVE). NULL ignores it.
	AsServer bool
}

// Append appends the 64-byte wire form of g to dst.
//
// Bytes 1–8 carry the big-endian value 1, as libzmq sends for an empty
// identity (it sends identity length + 1 so that a ZMTP 1.0 peer reads the
// signature as the start of an identity frame). RFC 37 says peers must not
// interpret the padding, so the value only matters to those old peers.
// Mechanism names longer than 20 bytes are cut to 20.
func (g Greeting) Append(dst []byte) []byte {
	var b [GreetingSize]byte
	b[0] = 0xFF
	binary.BigEndian.PutUint64(b[1:9], 1)
	b[9] = 0x7F
	b[greetMajor] = g.Major
	b[greetMinor] = g.Minor
	copy(b[greetMechanism:greetMechanism+mechanismSize], g.Mechanism)
	if g.AsServer {
		b[greetAsServer] = 1
	}
	return append(dst, b[:]...)
}

// CheckSignature judges the first bytes of a peer's greeting, so a reader can
// reject an old or foreign peer before waiting for all 64 bytes: a ZMTP 2.0
// peer sends 12 bytes and then waits for us, and a ZMTP 1.0 peer may send
// only its 2-byte identity frame.
//
// b holds the first len(b) bytes received; bytes past SignatureSize are
// ignored. CheckSignature checks only the bytes present and returns nil when
// they could still begin a ZMTP 3 greeting, so it can be called after the
// first byte and again after the eleventh.
//
// Like libzmq (zmtp_engine.cpp, receive_greeting), it checks byte 0 == 0xFF
// and only bit 0 of byte 9: a ZMTP 1.0 long identity frame has its flags byte
// there, and that flag byte has bit 0 clear. The padding in bytes 1–8 is not
// looked at (RFC 37: "MUST NOT validate this").
func CheckSignature(b []byte) error {
	if len(b) >= 1 && b[0] != 0xFF {
		return fmt.Errorf("%w: first byte is %#02x, want 0xff", ErrNotZMTP, b[0])
	}
	if len(b) >= 10 && b[9]&0x01 == 0 {
		return fmt.Errorf("%w: byte 9 is %#02x, bit 0 must be set", ErrNotZMTP, b[9])
	}
	if len(b) >= SignatureSize && b[greetMajor] < 3 {
		// ZMTP 2.0 sends major 1 (its "revision"); ZMTP 1.0 framed as a
		// signature would send 0. Either way we do not downgrade.
		return fmt.Errorf("%w: peer speaks ZMTP major version %d, need 3 or later",
			ErrUnsupportedVersion, b[greetMajor])
	}
	return nil
}

// ParseGreeting decodes a full 64-byte greeting.
//
// It checks the signature as CheckSignature does, and the mechanism field
// against RFC 23's grammar: uppercase letters, digits, '-', '_', '.', '+',
// NUL-padded, not empty, and nothing but NULs after the first NUL.
//
// It is lenient where libzmq is: the padding and the filler (bytes 33–63) are
// ignored, and any non-zero as-server byte counts as "server" (libzmq never
// reads that byte; RFC 23 allows only 0 and 1).
func ParseGreeting(b []byte) (Greeting, error) {
	if len(b) != GreetingSize {
		return Greeting{}, fmt.Errorf("%w: %d bytes, want %d", ErrMalformedGreeting, len(b), GreetingSize)
	}
	if err := CheckSignature(b[:SignatureSize]); err != nil {
		return Greeting{}, err
	}
	mech, err := parseMechanism(b[greetMechanism : greetMechanism+mechanismSize])
	if err != nil {
		return Greeting{}, err
	}
	return Greeting{
		Major:     b[greetMajor],
		Minor:     b[greetMinor],
		Mechanism: mech,
		AsServer:  b[greetAsServer] != 0,
	}, nil
}

// parseMechanism validates the 20-byte NUL-padded mechanism field and returns
// the name. Known names are returned as constants so that the common
// greetings do not allocate.
func parseMechanism(f []byte) (string, error) {
	n := 0
	for n < len(f) && f[n] != 0 {
		if !isMechanismChar(f[n]) {
			return "", fmt.Errorf("%w: mechanism byte %d is %q", ErrMalformedGreeting, n, f[n])
		}
		n++
	}
	if n == 0 {
		return "", fmt.Errorf("%w: empty mechanism name", ErrMalformedGreeting)
	}
	for i := n; i < len(f); i++ {
		if f[i] != 0 {
			return "", fmt.Errorf("%w: mechanism byte %d is %#02x after the NUL padding began",
				ErrMalformedGreeting, i, f[i])
		}
	}
	switch string(f[:n]) { // the compiler does not allocate for a switch on string(bytes)
	case "NULL":
		return "NULL", nil
	case "PLAIN":
		return "PLAIN", nil
	case "CURVE":
		return "CURVE", nil
	}
	return string(f[:n]), nil
}

// isMechanismChar reports whether c may appear in a mechanism name (RFC 23:
// mechanism-char = "A"-"Z" | DIGIT | "-" | "_" | "." | "+").
func isMechanismChar(c byte) bool {
	return 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '+'
}
