package transport

import (
	"net"
	"time"
)

// KeepAliveMode says whether TCP keepalive is on, as libzmq's
// ZMQ_TCP_KEEPALIVE does.
type KeepAliveMode int8

// Keepalive modes. The zero value leaves the operating system's default,
// as libzmq's -1 does (Linux: off).
const (
	KeepAliveDefault KeepAliveMode = iota
	KeepAliveOff
	KeepAliveOn
)

// KeepAlive configures TCP keepalive on both connecting and accepted
// connections (libzmq's ZMQ_TCP_KEEPALIVE, _IDLE, _INTVL and _CNT). A zero
// Idle, Interval or Count leaves that setting at the OS default. With
// keepalive on, a peer whose host vanished is found when the probes go
// unanswered, and the connection closes with reason KeepaliveFailed.
type KeepAlive struct {
	Mode     KeepAliveMode
	Idle     time.Duration // quiet time before the first probe
	Interval time.Duration // between probes
	Count    int           // unanswered probes before the connection fails
}

// keepAliveFor is the Go form of k: the KeepAlive duration of net.Dialer
// and net.ListenConfig (-1: leave the socket alone) and its config.
func (k KeepAlive) keepAliveFor() (time.Duration, net.KeepAliveConfig) {
	orDefault := func(d time.Duration) time.Duration {
		if d <= 0 {
			return -1 // Go leaves the socket option alone
		}
		return d
	}
	switch k.Mode {
	case KeepAliveOn:
		count := k.Count
		if count <= 0 {
			count = -1
		}
		return 0, net.KeepAliveConfig{Enable: true, Idle: orDefault(k.Idle), Interval: orDefault(k.Interval), Count: count}
	default:
		// Off is applied after the connection exists (SetKeepAlive(false)),
		// since Go's "negative" means "do not touch", not "disable".
		return -1, net.KeepAliveConfig{}
	}
}

// applyKeepAlive turns keepalive off on c when the mode asks for it.
func (k KeepAlive) apply(c net.Conn) {
	if k.Mode != KeepAliveOff {
		return
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetKeepAlive(false)
	}
}
