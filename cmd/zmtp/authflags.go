package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/zmtpgo/zmtp/fsm"
	"github.com/zmtpgo/zmtp/sockets"
	"github.com/zmtpgo/zmtp/transport"
)

// authFlags are the flags of the security mechanisms. Secrets come from a
// file or an environment variable, never from the command line (where ps
// and shell history would show them), and no message of the tool ever
// contains one: errors name the file, the variable or the line, not its
// content.
type authFlags struct {
	plainUser, plainPassFile, plainPassEnv string
	plainServerTokens                      string
	tokenKeyID, tokenFile, tokenEnv        string
	tokenServerTokens                      string

	// Loaded by load.
	opt sockets.Option
}

func (a *authFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.plainUser, "plain-user", "", "PLAIN client: user name (with -plain-password-file or -plain-password-env)")
	fs.StringVar(&a.plainPassFile, "plain-password-file", "", "PLAIN client: read the password from this file (one trailing newline is dropped)")
	fs.StringVar(&a.plainPassEnv, "plain-password-env", "", "PLAIN client: read the password from this environment variable")
	fs.StringVar(&a.plainServerTokens, "plain-server-tokens", "", "PLAIN server: a file of \"user password\" lines (# comments); passwords of 16 bytes or more")
	fs.StringVar(&a.tokenKeyID, "token-key-id", "", "TOKEN-HMAC client: the key id (with -token-file or -token-env)")
	fs.StringVar(&a.tokenFile, "token-file", "", "TOKEN-HMAC client: read the token from this file (one trailing newline is dropped)")
	fs.StringVar(&a.tokenEnv, "token-env", "", "TOKEN-HMAC client: read the token from this environment variable")
	fs.StringVar(&a.tokenServerTokens, "token-server-tokens", "", "TOKEN-HMAC server: a file of \"keyid token\" lines (# comments); tokens of 16 bytes or more")
}

// load checks the flags, reads the secrets and builds the socket option.
// Every error is a usage error (exit 2).
func (a *authFlags) load() error {
	var mechs []string
	plainClient := a.plainUser != "" || a.plainPassFile != "" || a.plainPassEnv != ""
	tokenClient := a.tokenKeyID != "" || a.tokenFile != "" || a.tokenEnv != ""
	for _, m := range []struct {
		on   bool
		name string
	}{
		{plainClient, "PLAIN client (-plain-user…)"}, {a.plainServerTokens != "", "PLAIN server (-plain-server-tokens)"},
		{tokenClient, "TOKEN-HMAC client (-token-key-id…)"}, {a.tokenServerTokens != "", "TOKEN-HMAC server (-token-server-tokens)"},
	} {
		if m.on {
			mechs = append(mechs, m.name)
		}
	}
	switch {
	case len(mechs) > 1:
		return fmt.Errorf("one security mechanism per socket; got %s", strings.Join(mechs, " and "))
	case plainClient:
		if a.plainUser == "" {
			return errors.New("-plain-password-file and -plain-password-env need -plain-user")
		}
		pass, err := secret("-plain-password-file", a.plainPassFile, "-plain-password-env", a.plainPassEnv)
		if err != nil {
			return err
		}
		a.opt = sockets.WithPlainClient(a.plainUser, pass)
	case a.plainServerTokens != "":
		tt, err := tokenTable("-plain-server-tokens", a.plainServerTokens)
		if err != nil {
			return err
		}
		a.opt = sockets.WithPlainServer(tt)
	case tokenClient:
		if a.tokenKeyID == "" {
			return errors.New("-token-file and -token-env need -token-key-id")
		}
		tok, err := secret("-token-file", a.tokenFile, "-token-env", a.tokenEnv)
		if err != nil {
			return err
		}
		if len(tok) < transport.MinTokenSize {
			return fmt.Errorf("the token is %d bytes; TOKEN-HMAC tokens are at least %d random bytes", len(tok), transport.MinTokenSize)
		}
		a.opt = sockets.WithTokenClient(a.tokenKeyID, tok)
	case a.tokenServerTokens != "":
		tt, err := tokenTable("-token-server-tokens", a.tokenServerTokens)
		if err != nil {
			return err
		}
		a.opt = sockets.WithTokenServer(tt)
	}
	return nil
}

func (a *authFlags) options() []sockets.Option {
	if a.opt == nil {
		return nil
	}
	return []sockets.Option{a.opt}
}

// secret reads a password or token from exactly one of a file or an
// environment variable.
func secret(fileFlag, file, envFlag, env string) ([]byte, error) {
	switch {
	case file != "" && env != "":
		return nil, fmt.Errorf("give %s or %s, not both", fileFlag, envFlag)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fileFlag, err) // *PathError: the path and the cause, not the content
		}
		b = bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
		if len(b) == 0 {
			return nil, fmt.Errorf("%s %s: the file is empty", fileFlag, file)
		}
		return b, nil
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok || v == "" {
			return nil, fmt.Errorf("%s %s: the environment variable is not set or empty", envFlag, env)
		}
		return []byte(v), nil
	default:
		return nil, fmt.Errorf("give %s or %s", fileFlag, envFlag)
	}
}

// tokenTable reads a file of "keyid token" lines: blank lines and lines
// starting with # are skipped, and a token may not contain spaces.
func tokenTable(flagName, file string) (*transport.TokenTable, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flagName, err)
	}
	defer f.Close()
	tt := transport.NewTokenTable()
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		// The line is never quoted back: it holds a token.
		if len(fields) != 2 {
			return nil, fmt.Errorf("%s %s:%d: want \"keyid token\" (two fields), got %d fields", flagName, file, n, len(fields))
		}
		if seen[fields[0]] {
			return nil, fmt.Errorf("%s %s:%d: key id %q appears twice", flagName, file, n, fields[0])
		}
		seen[fields[0]] = true
		if err := tt.Add(fields[0], []byte(fields[1])); err != nil {
			return nil, fmt.Errorf("%s %s:%d: %w", flagName, file, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s %s: %w", flagName, file, err)
	}
	if len(seen) == 0 {
		return nil, fmt.Errorf("%s %s: no \"keyid token\" lines", flagName, file)
	}
	return tt, nil
}

// refusals ends a run whose every connected endpoint was refused for good
// (a fatal reason, such as a wrong token answered by ERROR): the socket
// will not dial them again, so waiting to send would wait forever.
type refusals struct {
	want   int // connected endpoints; 0 (a socket that also binds) never ends the run
	cancel context.CancelCauseFunc
	mu     sync.Mutex // the monitor runs on connection goroutines
	seen   map[string]bool
	done   bool
}

// errRefused is the cause of a run that ended because every connected
// endpoint refused us for good.
var errRefused = errors.New("refused")

func (r *refusals) monitor(ev sockets.Event) {
	if r.want == 0 || ev.Kind != transport.EventHandshakeFailed || !ev.Reason.Fatal() || ev.Reason == fsm.ReasonClosed {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return
	}
	r.seen[ev.Endpoint] = true
	if len(r.seen) >= r.want {
		r.done = true
		r.cancel(fmt.Errorf("%w: %s: reason %s, not retrying: %w", errRefused, ev.Endpoint, ev.Reason.String(), ev.Err))
	}
}
