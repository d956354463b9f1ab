// Command zmtpgen writes the generated state machine and handshake
// documents from package spec. go generate runs it (see generate.go).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/zmtpgo/zmtp/gen"
	"github.com/zmtpgo/zmtp/spec"
)

func main() {
	goOut := flag.String("go", "", "write the Go state machine (package fsm) to this file")
	mdOut := flag.String("md", "", "write the Markdown handshake document to this file")
	flag.Parse()
	if *goOut == "" && *mdOut == "" {
		fmt.Fprintln(os.Stderr, "zmtpgen: nothing to do: give -go and/or -md")
		os.Exit(2)
	}
	if err := run(*goOut, *mdOut); err != nil {
		fmt.Fprintln(os.Stderr, "zmtpgen:", err)
		os.Exit(1)
	}
}

func run(goOut, mdOut string) error {
	if goOut != "" {
		src, err := gen.GoCode(&spec.Handshake, "fsm")
		if err != nil {
			return err
		}
		if err := os.WriteFile(goOut, src, 0o644); err != nil {
			return err
		}
	}
	if mdOut != "" {
		doc, err := gen.Markdown(&spec.Handshake)
		if err != nil {
			return err
		}
		if err := os.WriteFile(mdOut, doc, 0o644); err != nil {
			return err
		}
	}
	return nil
}
