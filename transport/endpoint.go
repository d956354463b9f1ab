package transport

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Transports accepted by ParseEndpoint.
const (
	TransportTCP = "tcp"
	TransportIPC = "ipc"
)

// Endpoint is a parsed endpoint such as "tcp://127.0.0.1:5555".
type Endpoint struct {
	// Transport is TransportTCP or TransportIPC.
	Transport string
	// Address is what net.Listen and net.Dial take: "host:port" for tcp,
	// with an IPv6 host in brackets and the wildcard "*" as an empty host
	// (":5555" listens on all interfaces); the socket path for ipc.
	Address string
}

// ParseEndpoint parses a libzmq-style endpoint:
//
//	tcp://127.0.0.1:5555  tcp://*:5555  tcp://[::1]:5555  tcp://localhost:0
//	ipc:///tmp/x.sock     ipc://@abstract (Linux abstract namespace)
//
// The port must be a decimal number from 0 to 65535, or "*" (libzmq's
// spelling of "any free port", the same as 0). An empty host is accepted:
// it means all interfaces for bind, and whether it is allowed for connect is
// the caller's concern. Transports other than tcp and ipc (inproc, pgm, ws,
// …) and libzmq's "source;destination" form are refused with
// ErrInvalidEndpoint, naming the problem.
func ParseEndpoint(s string) (Endpoint, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return Endpoint{}, fmt.Errorf("%w: %q has no transport, want e.g. tcp://host:port", ErrInvalidEndpoint, s)
	}
	switch scheme {
	case TransportTCP:
		addr, err := parseTCPAddress(rest)
		if err != nil {
			return Endpoint{}, fmt.Errorf("%w: %q: %s", ErrInvalidEndpoint, s, err)
		}
		return Endpoint{Transport: TransportTCP, Address: addr}, nil
	case TransportIPC:
		if rest == "" {
			return Endpoint{}, fmt.Errorf("%w: %q has an empty ipc path", ErrInvalidEndpoint, s)
		}
		if strings.IndexByte(rest, 0) >= 0 {
			return Endpoint{}, fmt.Errorf("%w: %q: ipc path contains a NUL byte", ErrInvalidEndpoint, s)
		}
		return Endpoint{Transport: TransportIPC, Address: rest}, nil
	case "":
		return Endpoint{}, fmt.Errorf("%w: %q has an empty transport, want tcp or ipc", ErrInvalidEndpoint, s)
	}
	return Endpoint{}, fmt.Errorf("%w: %q: transport %q is not supported, want tcp or ipc", ErrInvalidEndpoint, s, scheme)
}

// parseTCPAddress turns "host:port" as written in an endpoint into the
// net.Dial form. The error text is a bare reason; the caller adds context.
func parseTCPAddress(hostport string) (string, error) {
	if strings.Contains(hostport, ";") {
		return "", fmt.Errorf("source addresses (src;dst) are not supported")
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		// net's reasons ("missing port in address", "too many colons in
		// address" for an IPv6 host without brackets) are clear enough; its
		// full message would repeat the address.
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return "", errors.New(ae.Err)
		}
		return "", err
	}
	if strings.ContainsAny(host, "/[]@ \t\r\n") {
		return "", fmt.Errorf("invalid host %q", host)
	}
	if host == "*" {
		host = ""
	}
	switch {
	case port == "":
		return "", fmt.Errorf("missing port")
	case port == "*":
		port = "0"
	default:
		// Base 10 refuses signs, "0x" prefixes and underscores; bitSize 16
		// bounds the value to 65535.
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return "", fmt.Errorf("invalid port %q, want 0-65535", port)
		}
		port = strconv.FormatUint(p, 10) // "05555" -> "5555"
	}
	return net.JoinHostPort(host, port), nil
}

// String returns the canonical endpoint text, which ParseEndpoint accepts:
// "tcp://*:5555" for an empty host, IPv6 hosts in brackets.
func (e Endpoint) String() string {
	if e.Transport == TransportTCP {
		if host, port, err := net.SplitHostPort(e.Address); err == nil {
			if host == "" {
				host = "*"
			}
			return e.Transport + "://" + net.JoinHostPort(host, port)
		}
	}
	return e.Transport + "://" + e.Address
}
