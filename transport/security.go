package transport

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
)

// Secret is a password or token. It prints as "[redacted]" with every fmt
// verb (%d and %x included), in log/slog records (text and JSON) and in
// encoding/json, so it never reaches a log line, an error text or a dumped
// configuration by accident. Use the bytes themselves ([]byte(s)) only to
// send or check them.
type Secret []byte

const redacted = "[redacted]"

func (Secret) String() string   { return redacted }
func (Secret) GoString() string { return redacted }

// Format implements fmt.Formatter, so that verbs such as %d, %c or %b,
// which fmt would otherwise apply to each byte, print "[redacted]" too.
func (Secret) Format(f fmt.State, _ rune) { io.WriteString(f, redacted) }

// LogValue implements slog.LogValuer: log/slog prints a []byte as text.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText implements encoding.TextMarshaler, which encoding/json and
// others use: a marshalled Secret is "[redacted]", not the base64 bytes.
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Security says which mechanism a socket's connections use and with what
// credentials. The zero value is NULL (no authentication), as in libzmq.
type Security struct {
	// Mechanism is MechanismNull, MechanismPlain or MechanismToken.
	Mechanism string
	// Server makes this side the mechanism's server: it checks the
	// client's credentials. PLAIN servers need Authenticator; TOKEN-HMAC
	// servers need Tokens.
	Server bool
	// Username and Password are a PLAIN client's credentials.
	Username string
	Password Secret
	// KeyID and Token are a TOKEN-HMAC client's credentials.
	KeyID string
	Token Secret
	// Authenticator decides, on the server, whether a PLAIN login or a
	// proven TOKEN-HMAC key id may connect, and which user id it gets.
	Authenticator Authenticator
	// Tokens gives a TOKEN-HMAC server the token for a key id.
	Tokens TokenSource
}

// Errors of a security configuration.
var (
	ErrBadSecurity = errors.New("zmtp: invalid security settings")
	// ErrAuthRefused is the cause of an AuthFailed close on the server.
	ErrAuthRefused = errors.New("zmtp: authentication refused")
)

// Validate reports what is missing or wrong, without echoing secrets.
func (s *Security) Validate() error {
	switch s.Mechanism {
	case "", MechanismNull:
		return nil
	case MechanismPlain:
		switch {
		case s.Server && s.Authenticator == nil:
			return fmt.Errorf("%w: a PLAIN server needs an authenticator (a TokenTable, or your own) to decide who may connect", ErrBadSecurity)
		case !s.Server && (len(s.Username) > 255 || len(s.Password) > 255):
			return fmt.Errorf("%w: PLAIN user names and passwords are at most 255 bytes", ErrBadSecurity)
		}
	case MechanismToken:
		switch {
		case s.Server && s.Tokens == nil:
			return fmt.Errorf("%w: a TOKEN-HMAC server needs a token table", ErrBadSecurity)
		case !s.Server && len(s.Token) < MinTokenSize:
			return fmt.Errorf("%w: a TOKEN-HMAC token must be at least %d bytes (it has %d)", ErrBadSecurity, MinTokenSize, len(s.Token))
		case len(s.KeyID) > MaxKeyIDSize:
			return fmt.Errorf("%w: key ids are at most %d bytes", ErrBadSecurity, MaxKeyIDSize)
		}
	default:
		return fmt.Errorf("%w: unknown mechanism %q (want NULL, PLAIN or TOKEN-HMAC)", ErrBadSecurity, s.Mechanism)
	}
	return nil
}

func (s *Security) mechanism() string {
	if s == nil || s.Mechanism == "" {
		return MechanismNull
	}
	return s.Mechanism
}

// AuthRequest is what an authenticator is asked, in the spirit of a ZAP
// request (RFC 27).
type AuthRequest struct {
	Mechanism string   // MechanismPlain or MechanismToken
	Address   net.Addr // the peer's address
	// Username is the PLAIN user name, or the TOKEN-HMAC key id the peer
	// has already proven it holds the token for.
	Username string
	// Password is the PLAIN password; nil for TOKEN-HMAC. It is valid only
	// during the call: the connection wipes it afterwards.
	Password Secret
}

// AuthResult is an authenticator's answer, in ZAP's terms.
type AuthResult struct {
	// Status is a ZAP status code: "200" admits; "300" (temporary
	// failure), "400" (refused) and "500" (internal error) refuse. It is
	// what a refused client receives in ERROR, as from libzmq.
	Status string
	// Text explains the status, for our logs; it is not sent.
	Text string
	// UserID names the peer on its received messages, like ZAP's user id.
	UserID string
}

// Authenticator decides who may connect to a server. It runs on the
// connection's goroutine during the handshake; ctx ends at the handshake
// deadline.
type Authenticator interface {
	Authenticate(ctx context.Context, req AuthRequest) AuthResult
}

// TokenSource gives a TOKEN-HMAC server the token for a key id.
type TokenSource interface {
	Token(keyID string) (Secret, bool)
}

// TokenTable is a ready-made Authenticator and TokenSource: a set of key
// ids with their tokens, safe for concurrent use and changeable at any
// time (Add a new token, move clients over, Remove the old one). For
// PLAIN, the user name is the key id and the password the token. The user
// id is the key id.
type TokenTable struct {
	mu     sync.RWMutex
	tokens map[string]Secret
}

// NewTokenTable returns an empty table.
func NewTokenTable() *TokenTable { return &TokenTable{tokens: map[string]Secret{}} }

// Add stores token under keyID, replacing any earlier one. Tokens shorter
// than MinTokenSize are refused: TOKEN-HMAC proofs can be attacked offline
// when tokens are guessable.
func (t *TokenTable) Add(keyID string, token []byte) error {
	if len(keyID) > MaxKeyIDSize {
		return fmt.Errorf("%w: key id longer than %d bytes", ErrBadSecurity, MaxKeyIDSize)
	}
	if len(token) < MinTokenSize {
		return fmt.Errorf("%w: token for key id %q is %d bytes, need at least %d", ErrBadSecurity, keyID, len(token), MinTokenSize)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tokens[keyID] = append(Secret(nil), token...)
	return nil
}

// Remove forgets keyID.
func (t *TokenTable) Remove(keyID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.tokens, keyID)
}

// Token implements TokenSource.
func (t *TokenTable) Token(keyID string) (Secret, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	tok, ok := t.tokens[keyID]
	return tok, ok
}

// Authenticate implements Authenticator: a TOKEN-HMAC key id is admitted
// when it is (still) in the table; a PLAIN login when the password equals
// the user name's token, compared in constant time.
func (t *TokenTable) Authenticate(_ context.Context, req AuthRequest) AuthResult {
	tok, ok := t.Token(req.Username)
	switch {
	case !ok:
		return AuthResult{Status: "400", Text: fmt.Sprintf("unknown key id %q", req.Username)}
	case req.Mechanism == MechanismToken:
		return AuthResult{Status: "200", UserID: req.Username}
	case subtle.ConstantTimeCompare(tok, req.Password) == 1:
		return AuthResult{Status: "200", UserID: req.Username}
	default:
		return AuthResult{Status: "400", Text: fmt.Sprintf("wrong password for %q", req.Username)}
	}
}
