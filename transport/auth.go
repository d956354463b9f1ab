package transport

import (
	"context"
	"fmt"
	"time"

	"github.com/zmtpgo/zmtp/fsm"
)

// authState is one connection's PLAIN or TOKEN-HMAC transcript and
// verdicts, owned by the engine's goroutine and reset for each connection.
type authState struct {
	ourGreeting, peerGreeting [GreetingSize]byte
	// PLAIN, server side: what the client sent.
	username string
	password Secret
	// TOKEN-HMAC.
	keyID       string
	token       Secret
	nonce, salt [NonceSize]byte
	clientMAC   [MACSize]byte // ours or the peer's, whichever side is the client
	peerMAC     [MACSize]byte
	peerMetaRaw []byte // the metadata bytes the peer's proof covers
	// The verdict.
	userID string
}

// Mechanism guards: which arm of GreetingReceived this side takes.

func (e *engine) MechanismIsNull() bool { return e.mechanism() == MechanismNull }
func (e *engine) MechanismIsPlainClient() bool {
	return e.mechanism() == MechanismPlain && !e.cfg.Security.Server
}
func (e *engine) MechanismIsPlainServer() bool {
	return e.mechanism() == MechanismPlain && e.cfg.Security.Server
}
func (e *engine) MechanismIsTokenClient() bool {
	return e.mechanism() == MechanismToken && !e.cfg.Security.Server
}
func (e *engine) MechanismIsTokenServer() bool {
	return e.mechanism() == MechanismToken && e.cfg.Security.Server
}

func (e *engine) mechanism() string { return e.cfg.Security.mechanism() }

// authenticate asks the authenticator, bounded by the handshake deadline;
// a refusal sets the ERROR text to the ZAP status, as libzmq sends it.
func (e *engine) authenticate(req AuthRequest) bool {
	a := e.cfg.Security.Authenticator
	if a == nil { // a token server without an authenticator admits every proven key
		e.auth.userID = req.Username
		return true
	}
	ctx := context.Background()
	if dl, ok := e.deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl)
		defer cancel()
	}
	req.Address = e.remote()
	res := a.Authenticate(ctx, req)
	if res.Status == "200" {
		e.auth.userID = res.UserID
		return true
	}
	status := res.Status
	if len(status) != 3 || status[0] < '3' || status[0] > '5' {
		status = "500" // an authenticator that says neither yes nor a refusal code
	}
	e.refusal = status
	e.cause = fmt.Errorf("%w: %s %q: status %s %s", ErrAuthRefused, req.Mechanism, req.Username, status, res.Text)
	return false
}

func (e *engine) deadline() (time.Time, bool) {
	d := e.cfg.handshakeTimeout()
	if d <= 0 || e.hsStart.IsZero() {
		return time.Time{}, false
	}
	return e.hsStart.Add(d), true
}

// PLAIN.

func (e *engine) CredentialsAccepted() bool {
	ok := e.authenticate(AuthRequest{Mechanism: MechanismPlain, Username: e.auth.username, Password: e.auth.password})
	clear(e.auth.password) // our copy of the frame: no longer needed, not kept for the connection's life
	e.auth.password = nil
	return ok
}

func (e *engine) SendHello() {
	sec := &e.cfg.Security
	e.w.WriteCommand(CmdHello, AppendHelloData(nil, []byte(sec.Username), sec.Password))
}

func (e *engine) SendWelcome() { e.w.WriteCommand(CmdWelcome, nil) }

func (e *engine) SendInitiate() { e.writeMetadataCommand(CmdInitiate) }

// TOKEN-HMAC.

// transcript is the connection's transcript, in client-then-server order.
func (e *engine) transcript() *Transcript {
	t := &Transcript{KeyID: e.auth.keyID, ClientNonce: e.auth.nonce, ServerSalt: e.auth.salt}
	if e.cfg.Security.Server {
		t.ClientGreeting, t.ServerGreeting = e.auth.peerGreeting[:], e.auth.ourGreeting[:]
	} else {
		t.ClientGreeting, t.ServerGreeting = e.auth.ourGreeting[:], e.auth.peerGreeting[:]
	}
	return t
}

func (e *engine) KeyKnown() bool {
	tok, ok := e.cfg.Security.Tokens.Token(e.auth.keyID)
	switch {
	case !ok:
		e.refusal = "400"
		e.cause = fmt.Errorf("%w: unknown key id %q", ErrAuthRefused, e.auth.keyID)
		return false
	case len(tok) < MinTokenSize:
		// A TokenSource of the user's own that answers with an empty or
		// short token would let anyone compute a proof: refuse, and say
		// so in our log, not to the peer.
		e.refusal = "500"
		e.cause = fmt.Errorf("%w: the token source gave key id %q a token of %d bytes, need at least %d", ErrAuthRefused, e.auth.keyID, len(tok), MinTokenSize)
		return false
	}
	e.auth.token = tok
	return true
}

func (e *engine) ClientProofValid() bool {
	want := ClientMAC(e.auth.token, e.transcript(), e.auth.peerMetaRaw)
	if !VerifyMAC(e.auth.peerMAC, want) {
		e.refusal = "400"
		e.cause = fmt.Errorf("%w: %w for key id %q (wrong token, or a replayed or altered proof)", ErrAuthRefused, ErrTokenMismatch, e.auth.keyID)
		return false
	}
	e.auth.clientMAC = e.auth.peerMAC
	return true
}

func (e *engine) Authorized() bool {
	return e.authenticate(AuthRequest{Mechanism: MechanismToken, Username: e.auth.keyID})
}

func (e *engine) ServerProofValid() bool {
	want := ServerMAC(e.cfg.Security.Token, e.transcript(), e.auth.clientMAC, e.auth.peerMetaRaw)
	if !VerifyMAC(e.auth.peerMAC, want) {
		e.refusal = "server proof does not match"
		e.cause = fmt.Errorf("%w: the server does not hold the token for key id %q", ErrTokenMismatch, e.auth.keyID)
		return false
	}
	e.auth.userID = e.auth.keyID
	return true
}

func (e *engine) SendSaltRequest() {
	e.auth.keyID, e.auth.token = e.cfg.Security.KeyID, e.cfg.Security.Token
	e.auth.nonce, _ = NewNonce() // crypto/rand does not fail on Linux
	e.w.WriteCommand(CmdSaltRequest, SaltRequest{KeyID: e.auth.keyID, Nonce: e.auth.nonce}.Append(nil))
}

func (e *engine) SendSalt() {
	e.auth.salt, _ = NewNonce()
	e.w.WriteCommand(CmdSalt, e.auth.salt[:])
}

func (e *engine) SendClientProof() {
	md := e.ourMetadata()
	e.auth.clientMAC = ClientMAC(e.auth.token, e.transcript(), md)
	e.w.WriteCommand(CmdClientProof, AppendProof(nil, e.auth.clientMAC, md))
}

func (e *engine) SendServerProof() {
	md := e.ourMetadata()
	mac := ServerMAC(e.auth.token, e.transcript(), e.auth.clientMAC, md)
	e.w.WriteCommand(CmdServerProof, AppendProof(nil, mac, md))
}

// authCommand turns a mechanism command into its event, after parsing it;
// ok is false for a command that is not a mechanism command.
func (e *engine) authCommand(cmd Command) (err error, ok bool) {
	bad := func(err error) (error, bool) { return e.fire(fsm.EventProtocolViolation, err), true }
	switch cmd.Name {
	case CmdHello:
		u, p, err := ParseHello(cmd.Body)
		if err != nil {
			return bad(err)
		}
		e.auth.username, e.auth.password = string(u), Secret(p)
		return e.fire(fsm.EventHelloReceived, nil), true
	case CmdWelcome:
		if len(cmd.Body) != 0 {
			return bad(fmt.Errorf("%w: WELCOME with a %d-byte body", ErrMalformedCommand, len(cmd.Body)))
		}
		return e.fire(fsm.EventWelcomeReceived, nil), true
	case CmdInitiate:
		md, err := ParseMetadata(cmd.Body)
		if err != nil {
			return bad(err)
		}
		e.meta = md
		return e.fire(fsm.EventInitiateReceived, nil), true
	case CmdSaltRequest:
		r, err := ParseSaltRequest(cmd.Body)
		if err != nil {
			return bad(err)
		}
		e.auth.keyID, e.auth.nonce = r.KeyID, r.Nonce
		return e.fire(fsm.EventSaltRequestReceived, nil), true
	case CmdSalt:
		salt, err := ParseSalt(cmd.Body)
		if err != nil {
			return bad(err)
		}
		e.auth.salt = salt
		return e.fire(fsm.EventSaltReceived, nil), true
	case CmdClientProof, CmdServerProof:
		mac, md, err := ParseProof(cmd.Body)
		if err != nil {
			return bad(err)
		}
		e.auth.peerMAC, e.meta, e.auth.peerMetaRaw = mac, md, cmd.Body[MACSize:]
		if cmd.Name == CmdClientProof {
			return e.fire(fsm.EventClientProofReceived, nil), true
		}
		return e.fire(fsm.EventServerProofReceived, nil), true
	}
	return nil, false
}
