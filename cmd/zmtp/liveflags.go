package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/zmtpgo/zmtp/sockets"
)

// liveFlags are the liveness options: ZMTP heartbeats and TCP keepalive.
type liveFlags struct {
	hbIvl, hbTTL, hbTimeout time.Duration
	keepalive               string
	kaIdle, kaIntvl         time.Duration
	kaCnt                   int
}

func (l *liveFlags) register(fs *flag.FlagSet) {
	fs.DurationVar(&l.hbIvl, "heartbeat-ivl", 0, "send a ZMTP PING this often; 0 sends none (ZMQ_HEARTBEAT_IVL)")
	fs.DurationVar(&l.hbTTL, "heartbeat-ttl", 0, "ask the peer to drop us after this long without traffic (ZMQ_HEARTBEAT_TTL)")
	fs.DurationVar(&l.hbTimeout, "heartbeat-timeout", 0, "declare the peer dead when nothing arrives this long after a PING; 0: the interval (ZMQ_HEARTBEAT_TIMEOUT)")
	fs.StringVar(&l.keepalive, "tcp-keepalive", "default", "TCP keepalive: on, off, or default (the OS's; ZMQ_TCP_KEEPALIVE)")
	fs.DurationVar(&l.kaIdle, "tcp-keepalive-idle", 0, "with -tcp-keepalive on: idle time before the first probe; 0: OS default (ZMQ_TCP_KEEPALIVE_IDLE)")
	fs.DurationVar(&l.kaIntvl, "tcp-keepalive-intvl", 0, "with -tcp-keepalive on: time between probes; 0: OS default (ZMQ_TCP_KEEPALIVE_INTVL)")
	fs.IntVar(&l.kaCnt, "tcp-keepalive-cnt", 0, "with -tcp-keepalive on: unanswered probes before the connection fails; 0: OS default (ZMQ_TCP_KEEPALIVE_CNT)")
}

func (l *liveFlags) validate() error {
	switch l.keepalive {
	case "default", "on", "off":
	default:
		return fmt.Errorf("-tcp-keepalive %q: want on, off or default", l.keepalive)
	}
	if l.hbIvl < 0 || l.hbTTL < 0 || l.hbTimeout < 0 || l.kaIdle < 0 || l.kaIntvl < 0 || l.kaCnt < 0 {
		return fmt.Errorf("heartbeat and keepalive settings cannot be negative")
	}
	if l.keepalive != "on" && (l.kaIdle > 0 || l.kaIntvl > 0 || l.kaCnt > 0) {
		return fmt.Errorf("-tcp-keepalive-idle, -intvl and -cnt need -tcp-keepalive on")
	}
	return nil
}

func (l *liveFlags) options() []sockets.Option {
	opts := []sockets.Option{sockets.WithHeartbeat(l.hbIvl, l.hbTTL, l.hbTimeout)}
	switch l.keepalive {
	case "on":
		opts = append(opts, sockets.WithTCPKeepAlive(l.kaIdle, l.kaIntvl, l.kaCnt))
	case "off":
		opts = append(opts, sockets.WithoutTCPKeepAlive())
	}
	return opts
}
