package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/zmtpgo/zmtp/sockets"
	"github.com/zmtpgo/zmtp/transport"
)

// perf is "zmtp perf", the pure-Go twin of the libzmq benchmark peer
// (shared/anchors/zmqbench.c): the same modes, arguments and RESULT lines,
// implemented with package sockets, so any pair of the two can be run
// against each other (ours→ours, libzmq→libzmq, ours→libzmq, libzmq→ours).
//
//	zmtp perf [-t limit_s] [-cpuprofile file] [-token-file file] MODE args...
//	  thr-recv EP | thr-send EP SIZE SECONDS
//	  lat-srv EP COUNT | lat-cli EP SIZE COUNT WARMUP
//	  conn-srv EP | conn-cli EP TOTAL WINDOW SECONDS
//	  mem-srv EP N SETTLE_MS | mem-cli EP N HOLD_S
//	  lat-tcp-srv EP | lat-tcp-cli EP SIZE COUNT WARMUP
//
// Every mode prints one line "RESULT impl=zmtpgo test=<t> key=value …" on
// standard output and is bounded by a watchdog (-t, default 60 s, 0 for
// none), like zmqbench's alarm(): past the limit the process exits with
// status 142, the status a shell reports for SIGALRM. Errors exit with 2,
// bad usage with 1, an interrupt with 130. A bound EP whose port is 0 takes
// a free port and names it on standard error ("bound tcp://…"), as the
// rest of the tool does. bench/compare.sh drives both programs.
func perf(ctx context.Context, argv []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("zmtp perf", flag.ContinueOnError)
	fs.SetOutput(stderr)
	limit := fs.Int("t", 60, "exit with status 142 after this many `seconds` (0: no limit)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the mode to `file`")
	tokenFile := fs.String("token-file", "", "authenticate with TOKEN-HMAC, key id \"perf\", the token read from `file` (both sides): what the mechanism costs against NULL")
	fs.Usage = func() {
		fmt.Fprint(stderr, perfUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(argv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 1 // the flag package has printed the error and the usage
	}
	if fs.NArg() < 2 {
		fs.Usage()
		return 1
	}
	name, ep, rest := fs.Arg(0), fs.Arg(1), fs.Args()[2:]
	m, ok := perfModes[name]
	if !ok || len(rest) != len(m.args) {
		fs.Usage()
		return 1
	}
	a, err := perfParseArgs(m.args, rest)
	if err != nil {
		fmt.Fprintf(stderr, "zmtp perf: %s: %v\n", name, err)
		return 1
	}
	if *limit > 0 {
		watchdog := time.AfterFunc(time.Duration(*limit)*time.Second, func() {
			fmt.Fprintf(stderr, "zmtp perf: %s: time limit of %d s reached\n", name, *limit)
			perfExit(142)
		})
		defer watchdog.Stop()
	}
	if *cpuprofile != "" {
		stop, err := perfStartProfile(*cpuprofile)
		if err != nil {
			fmt.Fprintf(stderr, "zmtp perf: %v\n", err)
			return 2
		}
		defer stop()
	}
	p := &perfRun{ctx: ctx, stdout: stdout, stderr: stderr}
	if *tokenFile != "" {
		if err := p.useToken(*tokenFile); err != nil {
			fmt.Fprintf(stderr, "zmtp perf: %v\n", err)
			return 1
		}
	}
	if err := m.run(p, ep, a); err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "zmtp perf: %s: interrupted\n", name)
			return 130
		}
		fmt.Fprintf(stderr, "zmtp perf: %s: %v\n", name, err)
		return 2
	}
	return 0
}

// perfExit ends the process when the watchdog fires.
var perfExit = os.Exit

// perfMode is one benchmark role: its argument names (after EP) and its body.
type perfMode struct {
	args []string
	run  func(p *perfRun, ep string, a perfArgs) error
}

var perfModes = map[string]perfMode{
	"thr-recv": {nil, func(p *perfRun, ep string, a perfArgs) error { return p.thrRecv(ep) }},
	"thr-send": {[]string{"SIZE", "SECONDS"}, func(p *perfRun, ep string, a perfArgs) error {
		return p.thrSend(ep, a.int(0), a.seconds(1))
	}},
	"lat-srv": {[]string{"COUNT"}, func(p *perfRun, ep string, a perfArgs) error { return p.latSrv(ep, a.int(0)) }},
	"lat-cli": {[]string{"SIZE", "COUNT", "WARMUP"}, func(p *perfRun, ep string, a perfArgs) error {
		return p.latCli(ep, a.int(0), a.int(1), a.int(2))
	}},
	"conn-srv": {nil, func(p *perfRun, ep string, a perfArgs) error { return p.connSrv(ep) }},
	"conn-cli": {[]string{"TOTAL", "WINDOW", "SECONDS"}, func(p *perfRun, ep string, a perfArgs) error {
		return p.connCli(ep, a.int(0), a.int(1), a.seconds(2))
	}},
	"lat-tcp-srv": {nil, func(p *perfRun, ep string, a perfArgs) error { return p.latTCPSrv(ep) }},
	"lat-tcp-cli": {[]string{"SIZE", "COUNT", "WARMUP"}, func(p *perfRun, ep string, a perfArgs) error {
		return p.latTCPCli(ep, a.int(0), a.int(1), a.int(2))
	}},
	"mem-srv": {[]string{"N", "SETTLE_MS"}, func(p *perfRun, ep string, a perfArgs) error {
		return p.memSrv(ep, a.int(0), time.Duration(a.int(1))*time.Millisecond)
	}},
	"mem-cli": {[]string{"N", "HOLD_S"}, func(p *perfRun, ep string, a perfArgs) error {
		return p.memCli(ep, a.int(0), a.seconds(1))
	}},
}

const perfUsage = `usage: zmtp perf [-t limit_s] [-cpuprofile file] [-token-file file] MODE args...
  thr-recv EP | thr-send EP SIZE SECONDS
  lat-srv EP COUNT | lat-cli EP SIZE COUNT WARMUP
  conn-srv EP | conn-cli EP TOTAL WINDOW SECONDS
  mem-srv EP N SETTLE_MS | mem-cli EP N HOLD_S
  lat-tcp-srv EP | lat-tcp-cli EP SIZE COUNT WARMUP

The modes, arguments and RESULT lines of shared/anchors/zmqbench.c, plus
lat-tcp: lat's round trips over plain TCP, the floor under lat, which
zmqbench lacks.
`

// perfArgs are a mode's numeric arguments, checked by perfParseArgs.
type perfArgs []float64

func (a perfArgs) int(i int) int               { return int(a[i]) }
func (a perfArgs) seconds(i int) time.Duration { return time.Duration(a[i] * float64(time.Second)) }

// perfParseArgs reads the arguments as numbers (SECONDS and HOLD_S may be
// fractional, as zmqbench's atof allows); none may be negative.
func perfParseArgs(names, vals []string) (perfArgs, error) {
	a := make(perfArgs, len(vals))
	for i, v := range vals {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			return nil, fmt.Errorf("%s: want a non-negative number, got %q", names[i], v)
		}
		a[i] = f
	}
	return a, nil
}

func perfStartProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// perfRun is one run of a mode: the context an interrupt cancels, and
// where its RESULT line and its bound endpoint go.
type perfRun struct {
	ctx            context.Context
	stdout, stderr io.Writer
	// Security options added to every bound (server) and connected
	// (client) socket; none for NULL.
	serverSec, clientSec []sockets.Option
}

// perfKeyID is the TOKEN-HMAC key id of -token-file.
const perfKeyID = "perf"

// useToken makes every socket of the run authenticate with TOKEN-HMAC
// using the token in file.
func (p *perfRun) useToken(file string) error {
	token, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	token = bytes.TrimRight(token, "\r\n")
	table := transport.NewTokenTable()
	if err := table.Add(perfKeyID, token); err != nil {
		return fmt.Errorf("-token-file: %w", err)
	}
	p.serverSec = []sockets.Option{sockets.WithTokenServer(table)}
	p.clientSec = []sockets.Option{sockets.WithTokenClient(perfKeyID, token)}
	return nil
}

// connected returns a socket of type t connected to ep.
func (p *perfRun) connected(t sockets.Type, ep string, opts ...sockets.Option) (*sockets.Socket, error) {
	return connected(t, ep, append(opts, p.clientSec...)...)
}

// result prints the mode's RESULT line.
func (p *perfRun) result(test, format string, v ...any) {
	fmt.Fprintf(p.stdout, "RESULT impl=zmtpgo test="+test+" "+format+"\n", v...)
}

// bound returns a socket of type t bound to ep; an ep with port 0 is named
// on standard error once bound.
func (p *perfRun) bound(ep string, t sockets.Type, opts ...sockets.Option) (*sockets.Socket, error) {
	s, err := p.boundQuiet(ep, t, opts...)
	if err == nil {
		p.announce(ep, s)
	}
	return s, err
}

// boundQuiet is bound without the announcement, for a mode that must make
// it later (mem-srv: once its baseline is read, so that a client waiting
// for it cannot connect too early).
func (p *perfRun) boundQuiet(ep string, t sockets.Type, opts ...sockets.Option) (*sockets.Socket, error) {
	s, err := sockets.New(t, append(opts, p.serverSec...)...)
	if err != nil {
		return nil, err
	}
	if err := s.Bind(ep); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// announce names on standard error the endpoint s took for ep, if ep asked
// for any free port.
func (p *perfRun) announce(ep string, s *sockets.Socket) {
	if strings.HasSuffix(ep, ":0") {
		fmt.Fprintln(p.stderr, "bound", s.LastEndpoint())
	}
}

// sleep waits for d, or until the run is interrupted.
func (p *perfRun) sleep(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-p.ctx.Done():
		return p.ctx.Err()
	}
}
