// Command zmtpbench is the pure-Go twin of the libzmq benchmark peer
// (shared/anchors/zmqbench.c): the same modes, arguments and RESULT lines,
// implemented with package sockets, so any pair of the two can be run
// against each other (ours→ours, libzmq→libzmq, ours→libzmq, libzmq→ours).
//
//	zmtpbench [-t limit_s] [-cpuprofile file] MODE args...
//	  thr-recv EP | thr-send EP SIZE SECONDS
//	  lat-srv EP COUNT | lat-cli EP SIZE COUNT WARMUP
//	  conn-srv EP | conn-cli EP TOTAL WINDOW SECONDS
//	  mem-srv EP N SETTLE_MS | mem-cli EP N HOLD_S
//
// Every mode prints one line "RESULT impl=zmtpgo test=<t> key=value …" on
// standard output and is bounded by a watchdog (-t, default 60 s, 0 for
// none), like zmqbench's alarm(): past the limit the process exits with
// status 142, the status a shell reports for SIGALRM. Errors exit with 2,
// bad usage with 1. bench/run.sh drives both programs.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/zmtpgo/zmtp/sockets"
)

// mode is one benchmark role: its argument names (after EP) and its body.
type mode struct {
	args []string
	run  func(ep string, a args) error
}

var modes = map[string]mode{
	"thr-recv": {nil, func(ep string, a args) error { return thrRecv(ep) }},
	"thr-send": {[]string{"SIZE", "SECONDS"}, func(ep string, a args) error {
		return thrSend(ep, a.int(0), a.seconds(1))
	}},
	"lat-srv": {[]string{"COUNT"}, func(ep string, a args) error { return latSrv(ep, a.int(0)) }},
	"lat-cli": {[]string{"SIZE", "COUNT", "WARMUP"}, func(ep string, a args) error {
		return latCli(ep, a.int(0), a.int(1), a.int(2))
	}},
	"conn-srv": {nil, func(ep string, a args) error { return connSrv(ep) }},
	"conn-cli": {[]string{"TOTAL", "WINDOW", "SECONDS"}, func(ep string, a args) error {
		return connCli(ep, a.int(0), a.int(1), a.seconds(2))
	}},
	"mem-srv": {[]string{"N", "SETTLE_MS"}, func(ep string, a args) error {
		return memSrv(ep, a.int(0), time.Duration(a.int(1))*time.Millisecond)
	}},
	"mem-cli": {[]string{"N", "HOLD_S"}, func(ep string, a args) error {
		return memCli(ep, a.int(0), a.seconds(1))
	}},
}

const usage = `usage: zmtpbench [-t limit_s] [-cpuprofile file] MODE args...
  thr-recv EP | thr-send EP SIZE SECONDS
  lat-srv EP COUNT | lat-cli EP SIZE COUNT WARMUP
  conn-srv EP | conn-cli EP TOTAL WINDOW SECONDS
  mem-srv EP N SETTLE_MS | mem-cli EP N HOLD_S
`

func main() {
	limit := flag.Int("t", 60, "exit with status 142 after this many `seconds` (0: no limit)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the mode to `file`")
	flag.Usage = func() {
		fmt.Fprint(os.Stderr, usage)
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() < 2 {
		flag.Usage()
		os.Exit(1)
	}
	name, ep, rest := flag.Arg(0), flag.Arg(1), flag.Args()[2:]
	m, ok := modes[name]
	if !ok || len(rest) != len(m.args) {
		flag.Usage()
		os.Exit(1)
	}
	a, err := parseArgs(m.args, rest)
	if err != nil {
		fmt.Fprintf(os.Stderr, "zmtpbench: %s: %v\n", name, err)
		os.Exit(1)
	}
	if *limit > 0 {
		time.AfterFunc(time.Duration(*limit)*time.Second, func() {
			fmt.Fprintf(os.Stderr, "zmtpbench: %s: time limit of %d s reached\n", name, *limit)
			os.Exit(142)
		})
	}
	if *cpuprofile != "" {
		stop, err := startProfile(*cpuprofile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "zmtpbench: %v\n", err)
			os.Exit(2)
		}
		defer stop()
	}
	if err := m.run(ep, a); err != nil {
		fmt.Fprintf(os.Stderr, "zmtpbench: %s: %v\n", name, err)
		os.Exit(2)
	}
}

// args are a mode's numeric arguments, checked by parseArgs.
type args []float64

func (a args) int(i int) int               { return int(a[i]) }
func (a args) seconds(i int) time.Duration { return time.Duration(a[i] * float64(time.Second)) }

// parseArgs reads the arguments as numbers (SECONDS and HOLD_S may be
// fractional, as zmqbench's atof allows); none may be negative.
func parseArgs(names, vals []string) (args, error) {
	a := make(args, len(vals))
	for i, v := range vals {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			return nil, fmt.Errorf("%s: want a non-negative number, got %q", names[i], v)
		}
		a[i] = f
	}
	return a, nil
}

func startProfile(path string) (stop func(), err error) {
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

// result prints the mode's RESULT line.
func result(test, format string, v ...any) {
	fmt.Printf("RESULT impl=zmtpgo test="+test+" "+format+"\n", v...)
}

// bound returns a socket of type t bound to ep.
func bound(ep string, t sockets.Type, opts ...sockets.Option) (*sockets.Socket, error) {
	s, err := sockets.New(t, opts...)
	if err != nil {
		return nil, err
	}
	if err := s.Bind(ep); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// connected returns a socket of type t connected to ep.
func connected(ep string, t sockets.Type, opts ...sockets.Option) (*sockets.Socket, error) {
	s, err := sockets.New(t, opts...)
	if err != nil {
		return nil, err
	}
	if err := s.Connect(ep); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}
