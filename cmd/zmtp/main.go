// Command zmtp binds or connects a ZeroMQ socket from the shell: it sends
// messages from its arguments or standard input, prints what it receives,
// echoes for REP and ROUTER, and reports monitor events on standard error.
//
//	zmtp -type PULL -bind tcp://127.0.0.1:5555 -count 3
//	zmtp -type PUSH -connect tcp://127.0.0.1:5555 hello world again
//	zmtp demo
//	zmtp perf thr-recv tcp://127.0.0.1:5555
//
// Run "zmtp -h" for every flag. "zmtp perf" is the benchmark peer that
// bench/compare.sh runs against libzmq's (see perf.go and BENCHMARKS.md).
package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/zmtpgo/zmtp/sockets"
	"github.com/zmtpgo/zmtp/transport"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type config struct {
	typ        string
	binds      listFlag
	connects   listFlag
	stdin      bool
	multipart  string
	count      int
	timeout    time.Duration
	hexOut     bool
	echo       bool
	events     bool
	identity   string
	sndhwm     int
	rcvhwm     int
	maxMsgSize int64
	handshake  time.Duration
	reconnect  time.Duration
	reconnMax  time.Duration
	linger     time.Duration
	mandatory  bool
	verbose    bool
	verboser   bool
	subscribe  listFlag
	gate       gateFlags
	live       liveFlags
	auth       authFlags
	refused    *refusals
	messages   []string
}

const usage = `usage: zmtp [flags] [message ...]
       zmtp demo
       zmtp perf [-t limit_s] [-cpuprofile file] [-token-file file] MODE args...

Binds and/or connects one socket, sends each message argument (or each line
of standard input with -stdin), then prints received messages one per line.
"zmtp demo" shows the library on loopback; "zmtp perf" runs one side of a
benchmark, the same modes as libzmq's zmqbench ("zmtp perf -h" lists them).

Examples:
  zmtp -type PULL -bind tcp://127.0.0.1:5555 -count 2
  zmtp -type PUSH -connect tcp://127.0.0.1:5555 hello world
  zmtp -type REP  -bind tcp://*:5556 -echo -events
  zmtp -type REQ  -connect tcp://127.0.0.1:5556 -multipart '|' 'a|b'
  zmtp -type SUB  -connect tcp://127.0.0.1:5557 -subscribe news. -count 10
  zmtp -type PULL -bind tcp://*:5558 -token-server-tokens tokens.txt
  zmtp -type PUSH -connect tcp://127.0.0.1:5558 -token-key-id alice -token-env ZMTP_TOKEN hi

Flags:
`

func parse(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("zmtp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	fs.StringVar(&c.typ, "type", "", "socket type: PAIR PUB SUB XPUB XSUB PUSH PULL REQ REP DEALER ROUTER (required)")
	fs.Var(&c.binds, "bind", "endpoint to bind, e.g. tcp://*:5555 (repeatable)")
	fs.Var(&c.connects, "connect", "endpoint to connect, e.g. tcp://127.0.0.1:5555 (repeatable)")
	fs.BoolVar(&c.stdin, "stdin", false, "send each line of standard input as a message")
	fs.StringVar(&c.multipart, "multipart", "", "split each message into frames at this separator")
	fs.IntVar(&c.count, "count", -1, "stop after receiving this many messages (-1: until -timeout or interrupt)")
	fs.DurationVar(&c.timeout, "timeout", 0, "stop after this long (0: no limit)")
	fs.BoolVar(&c.hexOut, "hex", false, "print received frames in hex")
	fs.BoolVar(&c.echo, "echo", false, "send every received message back (REP, ROUTER, PAIR, DEALER)")
	fs.BoolVar(&c.events, "events", false, "print monitor events on standard error")
	fs.StringVar(&c.identity, "identity", "", "routing id sent to ROUTER peers (ZMQ_ROUTING_ID)")
	fs.IntVar(&c.sndhwm, "sndhwm", 1000, "send high-water mark per connection (ZMQ_SNDHWM)")
	fs.IntVar(&c.rcvhwm, "rcvhwm", 1000, "receive queue size (ZMQ_RCVHWM)")
	fs.Int64Var(&c.maxMsgSize, "maxmsgsize", -1, "largest message accepted, bytes; -1 unlimited (ZMQ_MAXMSGSIZE)")
	fs.DurationVar(&c.handshake, "handshake-timeout", transport.DefaultHandshakeTimeout, "handshake time limit (ZMQ_HANDSHAKE_IVL)")
	fs.DurationVar(&c.reconnect, "reconnect-ivl", transport.DefaultReconnectIvl, "wait before reconnecting; negative disables (ZMQ_RECONNECT_IVL)")
	fs.DurationVar(&c.reconnMax, "reconnect-ivl-max", 0, "cap of the exponential reconnect backoff (ZMQ_RECONNECT_IVL_MAX)")
	fs.DurationVar(&c.linger, "linger", 5*time.Second, "how long to wait at exit for queued messages (ZMQ_LINGER)")
	fs.BoolVar(&c.mandatory, "router-mandatory", false, "ROUTER: fail on unroutable messages, and wait for room at a peer's high-water mark instead of dropping (ZMQ_ROUTER_MANDATORY)")
	fs.BoolVar(&c.verbose, "xpub-verbose", false, "XPUB: receive every subscribe, not only a topic's first (ZMQ_XPUB_VERBOSE)")
	fs.BoolVar(&c.verboser, "xpub-verboser", false, "XPUB: receive every subscribe and every cancel (ZMQ_XPUB_VERBOSER)")
	fs.Var(&c.subscribe, "subscribe", "SUB/XSUB: subscribe to this prefix; \"\" for everything (repeatable, ZMQ_SUBSCRIBE)")
	c.gate.register(fs)
	c.live.register(fs)
	c.auth.register(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	c.messages = fs.Args()
	if c.typ == "" {
		return nil, errors.New("-type is required (PAIR PUB SUB XPUB XSUB PUSH PULL REQ REP DEALER ROUTER)")
	}
	if len(c.binds)+len(c.connects) == 0 {
		return nil, errors.New("give at least one -bind or -connect endpoint")
	}
	for _, ep := range append(append([]string{}, c.binds...), c.connects...) {
		if _, err := transport.ParseEndpoint(ep); err != nil {
			return nil, err
		}
	}
	if err := c.live.validate(); err != nil {
		return nil, err
	}
	if err := c.gate.validate(); err != nil {
		return nil, err
	}
	if err := c.auth.load(); err != nil {
		return nil, err
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "demo" {
		if err := demo(ctx, stdout); err != nil {
			fmt.Fprintln(stderr, "zmtp demo:", err)
			return 1
		}
		return 0
	}
	if len(args) > 0 && args[0] == "perf" {
		return perf(ctx, args[1:], stdout, stderr)
	}
	c, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "zmtp:", strings.TrimPrefix(err.Error(), "zmtp: "))
		return 2
	}
	if err := c.run(ctx, stdin, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "zmtp:", strings.TrimPrefix(err.Error(), "zmtp: "))
		return 1
	}
	return 0
}

func (c *config) socket(stderr io.Writer) (*sockets.Socket, error) {
	typ, err := transport.ParseSocketType(strings.ToUpper(c.typ))
	if err != nil {
		return nil, err
	}
	opts := []sockets.Option{
		sockets.WithSendHWM(c.sndhwm), sockets.WithRecvHWM(c.rcvhwm), sockets.WithMaxMsgSize(c.maxMsgSize),
		sockets.WithHandshakeTimeout(c.handshake), sockets.WithReconnectIvl(c.reconnect),
		sockets.WithReconnectIvlMax(c.reconnMax), sockets.WithLinger(c.linger),
	}
	opts = append(opts, c.gate.options()...)
	opts = append(opts, c.live.options()...)
	opts = append(opts, c.auth.options()...)
	if c.identity != "" {
		opts = append(opts, sockets.WithIdentity([]byte(c.identity)))
	}
	if c.mandatory {
		opts = append(opts, sockets.WithRouterMandatory())
	}
	if c.verbose {
		opts = append(opts, sockets.WithXPubVerbose())
	}
	if c.verboser {
		opts = append(opts, sockets.WithXPubVerboser())
	}
	opts = append(opts, sockets.WithMonitor(func(ev sockets.Event) {
		if c.events {
			fmt.Fprintln(stderr, "event:", ev)
		}
		if c.refused != nil {
			c.refused.monitor(ev)
		}
	}))
	s, err := sockets.New(typ, opts...)
	if err != nil {
		return nil, err
	}
	for _, topic := range c.subscribe {
		if err := s.Subscribe([]byte(topic)); err != nil {
			s.Close()
			return nil, fmt.Errorf("-subscribe on a %s socket: %w", typ, err)
		}
	}
	for _, ep := range c.binds {
		if err := s.Bind(ep); err != nil {
			s.Close()
			return nil, err
		}
		if c.events || strings.HasSuffix(ep, ":0") {
			fmt.Fprintln(stderr, "bound", s.LastEndpoint())
		}
	}
	for _, ep := range c.connects {
		if err := s.Connect(ep); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// run runs the socket. A run whose every connected endpoint refused us
// for good (a wrong token answered by ERROR, a socket-type mismatch) ends
// with that error, rather than waiting for peers that will never take a
// message.
func (c *config) run(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	c.refused = &refusals{cancel: cancel, seen: map[string]bool{}}
	if len(c.binds) == 0 {
		c.refused.want = len(c.connects)
	}
	err := c.serve(ctx, stdin, stdout, stderr)
	if cause := context.Cause(ctx); errors.Is(cause, errRefused) {
		return cause
	}
	return err
}

func (c *config) serve(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	s, err := c.socket(stderr)
	if err != nil {
		return err
	}
	defer s.Close()
	defer c.gate.report(stderr, s)
	out := bufio.NewWriter(stdout)
	defer out.Flush()

	typ := s.Type()
	canRecv := typ != sockets.PUSH && typ != sockets.PUB
	canSend := typ != sockets.PULL && typ != sockets.SUB
	received := 0
	// exchange sends one message and, for REQ, prints its reply.
	exchange := func(text string) error {
		if !canSend {
			return fmt.Errorf("a %s socket cannot send", typ)
		}
		if err := s.Send(ctx, c.msg(text)); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		if typ == sockets.REQ {
			m, err := s.Recv(ctx)
			if err != nil {
				return fmt.Errorf("waiting for the reply: %w", err)
			}
			c.print(out, m)
			received++
		}
		return nil
	}
	for _, text := range c.messages {
		if err := exchange(text); err != nil {
			return err
		}
	}
	if c.stdin {
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			if err := exchange(sc.Text()); err != nil {
				return err
			}
			out.Flush()
		}
		if err := sc.Err(); err != nil {
			return err
		}
	}
	sent := len(c.messages) > 0 || c.stdin
	if !canRecv || typ == sockets.REQ || (sent && c.count < 0 && !c.echo) {
		return nil
	}
	for c.count < 0 || received < c.count {
		m, err := s.Recv(ctx)
		if err != nil {
			if ctx.Err() != nil && c.count < 0 {
				return nil // -timeout or interrupt ends an unbounded receive normally
			}
			return fmt.Errorf("receive: %w", err)
		}
		received++
		c.print(out, m)
		out.Flush()
		if c.echo || typ == sockets.REP {
			if err := s.Send(ctx, m); err != nil {
				return fmt.Errorf("echo: %w", err)
			}
		}
	}
	return nil
}

func (c *config) msg(text string) sockets.Msg {
	if c.multipart == "" {
		return sockets.NewMsgString(text)
	}
	return sockets.NewMsgString(strings.Split(text, c.multipart)...)
}

func (c *config) print(w io.Writer, m sockets.Msg) {
	sep := c.multipart
	if sep == "" {
		sep = "|"
	}
	parts := make([]string, len(m.Frames))
	for i, f := range m.Frames {
		if c.hexOut {
			parts[i] = hex.EncodeToString(f)
		} else {
			parts[i] = string(f)
		}
	}
	fmt.Fprintln(w, strings.Join(parts, sep))
}
