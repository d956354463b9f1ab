package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
)

// The lat-tcp modes are the floor under lat: the same round trips over a
// plain Go TCP connection, no ZMTP, no sockets package. bench/compare.sh
// runs them in the lat rounds, so that the latency of a run can be read
// against what the machine's loopback and scheduler allow at that moment
// (zmqbench has no such mode; the floor is the same for both).

// tcpAddress returns the host:port of a tcp:// endpoint.
func tcpAddress(ep string) (string, error) {
	addr, ok := strings.CutPrefix(ep, "tcp://")
	if !ok {
		return "", fmt.Errorf("lat-tcp wants a tcp:// endpoint, got %q", ep)
	}
	return addr, nil
}

// latTCPSrv accepts one TCP connection on ep (tcp://host:port) and echoes
// what it reads until the client closes.
func (p *perfRun) latTCPSrv(ep string) error {
	addr, err := tcpAddress(ep)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if strings.HasSuffix(ep, ":0") {
		fmt.Fprintln(p.stderr, "bound", "tcp://"+ln.Addr().String())
	}
	stop := context.AfterFunc(p.ctx, func() { ln.Close() })
	defer stop()
	c, err := ln.Accept()
	if err != nil {
		return err
	}
	defer c.Close()
	stopConn := context.AfterFunc(p.ctx, func() { c.Close() })
	defer stopConn()
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// latTCPCli connects to ep and makes warmup untimed and count timed round
// trips of size bytes, reported as lat-cli reports them (test=lat-tcp).
func (p *perfRun) latTCPCli(ep string, size, count, warmup int) error {
	if count < 1 {
		return fmt.Errorf("COUNT must be at least 1")
	}
	if size < 1 {
		return fmt.Errorf("SIZE must be at least 1 for a TCP echo")
	}
	addr, err := tcpAddress(ep)
	if err != nil {
		return err
	}
	var d net.Dialer
	c, err := d.DialContext(p.ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(p.ctx, func() { c.Close() })
	defer stop()
	out := bytes.Repeat([]byte{'x'}, size)
	in := make([]byte, size)
	rtt, err := timeRoundTrips(warmup, count, size, func() (int, error) {
		if _, err := c.Write(out); err != nil {
			return 0, err
		}
		return io.ReadFull(c, in)
	})
	if err != nil {
		return err
	}
	p.latResult("lat-tcp", size, rtt)
	return nil
}
