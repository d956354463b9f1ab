package transport

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/zmtpgo/zmtp/fsm"
)

// A property over random handshake scripts: a real accepting engine (PULL,
// a TOKEN-HMAC or PLAIN server) runs over net.Pipe against a scripted
// client that sends valid, wrong, corrupted, cut and reordered mechanism
// commands. Whatever the script, the server reports HandshakeSucceeded
// only when the client proved it holds the token:
//
//   - TOKEN-HMAC: only the script that starts with the greeting, a
//     SALTREQUEST for k1 and a CLIENTPROOF made with k1's token over this
//     very connection's transcript, all three unaltered, may succeed. A
//     flipped byte anywhere in them (greeting padding included), a proof
//     over an earlier salt (a replay), another nonce or key id, another
//     token, or altered metadata must fail.
//   - PLAIN: the bytes the server read after the greeting must start with
//     the HELLO that carries k1's right password (PLAIN has no transcript,
//     so a flipped greeting padding byte may still pass, as in libzmq).
//
// And the canonical script itself must succeed, so the property cannot
// hold by refusing everyone.

type stepKind uint8

const (
	stGreeting      stepKind = iota // our mechanism's greeting
	stGreetingOther                 // another mechanism's greeting
	stSaltRequest                   // SALTREQUEST for k1
	stSaltRequestK2                 // SALTREQUEST for k2, whose token the client lacks
	stSaltRequestUnknown
	stProofValid      // CLIENTPROOF with k1's token over the real transcript
	stProofWrongToken // with another token
	stProofReplayed   // over another salt: a proof captured on an earlier connection
	stProofNonce      // over another client nonce
	stProofKeyID      // claiming key id k2 in the transcript
	stProofAltered    // valid MAC, then the metadata changed
	stHello           // PLAIN HELLO k1 / right password
	stHelloWrong      // wrong password
	stHelloUnknown    // unknown user
	stInitiate
	stReady
	stError
	stSalt // server commands sent by the client
	stServerProof
	stWelcome
	stMessage
	stGarbage
	numStepKinds
)

var stepNames = [...]string{"Greeting", "GreetingOther", "SaltRequest", "SaltRequestK2", "SaltRequestUnknown",
	"ProofValid", "ProofWrongToken", "ProofReplayed", "ProofNonce", "ProofKeyID", "ProofAltered",
	"Hello", "HelloWrong", "HelloUnknown", "Initiate", "Ready", "Error", "Salt", "ServerProof", "Welcome", "Message", "Garbage"}

func (k stepKind) String() string { return stepNames[k] }

// scriptStep is one thing the client sends, possibly with one byte flipped
// (at corrupt, modulo its length, XOR xor) or cut after cut bytes, after
// which the client stops.
type scriptStep struct {
	kind    stepKind
	corrupt int // -1: none
	xor     byte
	cut     int // -1: sent whole
}

func (s scriptStep) clean() bool { return s.corrupt < 0 && s.cut < 0 }

func (s scriptStep) String() string {
	out := s.kind.String()
	if s.corrupt >= 0 {
		out += fmt.Sprintf("[byte %d ^ %#x]", s.corrupt, s.xor)
	}
	if s.cut >= 0 {
		out += fmt.Sprintf("[cut at %d]", s.cut)
	}
	return out
}

func drawStep(t *rapid.T, kinds []stepKind, label string) scriptStep {
	s := scriptStep{kind: rapid.SampledFrom(kinds).Draw(t, label), corrupt: -1, cut: -1}
	return s
}

// canonical is the one script that proves the token (or password).
func canonical(mech string) []stepKind {
	if mech == MechanismToken {
		return []stepKind{stGreeting, stSaltRequest, stProofValid}
	}
	return []stepKind{stGreeting, stHello, stInitiate}
}

// drawScript draws either the canonical script, perhaps with extra steps
// and one mutation, or a random sequence of steps.
func drawScript(t *rapid.T, mech string) []scriptStep {
	all := make([]stepKind, numStepKinds)
	for i := range all {
		all[i] = stepKind(i)
	}
	var steps []scriptStep
	if rapid.Bool().Draw(t, "from canonical") {
		for _, k := range canonical(mech) {
			steps = append(steps, scriptStep{kind: k, corrupt: -1, cut: -1})
		}
		for i := range rapid.IntRange(0, 2).Draw(t, "extra") {
			steps = append(steps, drawStep(t, all, fmt.Sprintf("extra %d", i)))
		}
		i := rapid.IntRange(0, len(steps)-1).Draw(t, "mutate at")
		switch rapid.SampledFrom([]string{"none", "corrupt", "cut", "swap", "drop", "duplicate", "replace"}).Draw(t, "mutation") {
		case "corrupt":
			steps[i].corrupt = rapid.IntRange(0, 4096).Draw(t, "corrupt byte")
			steps[i].xor = rapid.Uint8Range(1, 255).Draw(t, "xor")
		case "cut":
			steps[i].cut = rapid.IntRange(0, 4096).Draw(t, "cut at")
		case "swap":
			j := rapid.IntRange(0, len(steps)-1).Draw(t, "swap with")
			steps[i], steps[j] = steps[j], steps[i]
		case "drop":
			steps = append(steps[:i], steps[i+1:]...)
		case "duplicate":
			steps = append(steps[:i+1], steps[i:]...)
		case "replace":
			steps[i] = drawStep(t, all, "replacement")
		}
		return steps
	}
	n := rapid.IntRange(1, 6).Draw(t, "steps")
	for i := range n {
		s := drawStep(t, all, fmt.Sprintf("step %d", i))
		if i == 0 && rapid.Bool().Draw(t, "greeting first") {
			s.kind = stGreeting
		}
		switch rapid.IntRange(0, 9).Draw(t, fmt.Sprintf("damage %d", i)) {
		case 0:
			s.corrupt = rapid.IntRange(0, 4096).Draw(t, "corrupt byte")
			s.xor = rapid.Uint8Range(1, 255).Draw(t, "xor")
		case 1:
			s.cut = rapid.IntRange(0, 4096).Draw(t, "cut at")
		}
		steps = append(steps, s)
	}
	return steps
}

// scriptClient is the scripted client's side of the pipe: a reader that
// drains everything the server sends (net.Pipe has no buffer), and what
// it learnt: the server's greeting and salts.
type scriptClient struct {
	nc       net.Conn
	greeting chan []byte
	salts    chan [NonceSize]byte
	done     chan struct{}

	mech    string
	sent    bytes.Buffer // every byte written, for the PLAIN oracle
	ours    []byte       // the greeting we meant to send, for our transcript
	nonce   [NonceSize]byte
	pending int  // SALTREQUESTs sent whose SALT has not been read
	greeted bool // the script began with a whole greeting, so the server sends all of its own
	// canon is set while every step sent so far is the canonical
	// script's, unaltered: only then must the server answer, and the
	// client waits for it as long as it takes. Off that path the server
	// may be waiting for bytes that never come (a damaged frame header) or
	// ignoring what it got (a SALTREQUEST once ready).
	canon    bool
	theirs   []byte
	lastSalt [NonceSize]byte
}

func newScriptClient(nc net.Conn, mech string) *scriptClient {
	c := &scriptClient{nc: nc, mech: mech, greeting: make(chan []byte, 1), salts: make(chan [NonceSize]byte, 8), done: make(chan struct{})}
	go c.read()
	return c
}

func (c *scriptClient) read() {
	defer close(c.done)
	defer close(c.salts)
	r := NewReader(c.nc, 1<<20)
	g := make([]byte, GreetingSize)
	if err := r.ReadFull(g); err != nil {
		close(c.greeting)
		io.Copy(io.Discard, c.nc)
		return
	}
	c.greeting <- g
	for {
		f, err := r.ReadFrame()
		if err != nil {
			io.Copy(io.Discard, c.nc) // keep draining until the pipe closes
			return
		}
		if cmd, err := ParseCommand(f.Body); err == nil && f.IsCommand() && cmd.Name == CmdSalt {
			if salt, err := ParseSalt(cmd.Body); err == nil {
				select {
				case c.salts <- salt:
				default:
				}
			}
		}
	}
}

// wait is how long the client waits for something the server should send.
// Off the canonical path not long: a SALT that comes later only makes the
// next proof wrong, and such a script must fail anyway.
func (c *scriptClient) wait() time.Duration {
	if c.canon {
		return netWait
	}
	return 20 * time.Millisecond
}

func (c *scriptClient) serverGreeting() []byte {
	if c.theirs == nil && c.greeted {
		select {
		case g, ok := <-c.greeting:
			if ok {
				c.theirs = g
			}
		case <-time.After(c.wait()):
		}
	}
	return c.theirs
}

func (c *scriptClient) salt() [NonceSize]byte {
	if c.pending > 0 {
		c.pending--
		select {
		case s, ok := <-c.salts:
			if ok {
				c.lastSalt = s
			} else {
				c.pending = 0 // the server closed
			}
		case <-time.After(c.wait()):
		}
	}
	return c.lastSalt
}

func (c *scriptClient) proof(token Secret, keyID string, nonce [NonceSize]byte, salt [NonceSize]byte, md []byte) []byte {
	tr := &Transcript{ClientGreeting: c.ours, ServerGreeting: c.serverGreeting(), KeyID: keyID, ClientNonce: nonce, ServerSalt: salt}
	if len(tr.ServerGreeting) != GreetingSize {
		tr.ServerGreeting = make([]byte, GreetingSize)
	}
	return AppendProof(nil, ClientMAC(token, tr, md), md)
}

// bytesOf builds the bytes of a step as the client means them.
func (c *scriptClient) bytesOf(k stepKind) []byte {
	cmd := func(name string, data []byte) []byte { return frame(FlagCommand, AppendCommandBody(nil, name, data)) }
	pushMD := metadataOf("PUSH")
	switch k {
	case stGreeting, stGreetingOther:
		mech := c.mech
		if k == stGreetingOther {
			mech = map[string]string{MechanismToken: MechanismPlain, MechanismPlain: MechanismToken}[c.mech]
		}
		g := Greeting{Major: 3, Minor: 1, Mechanism: mech}.Append(nil)
		if c.ours == nil {
			c.ours = append([]byte(nil), g...) // run may flip a byte of g: the transcript is what we meant
		}
		return g
	case stSaltRequest, stSaltRequestK2, stSaltRequestUnknown:
		c.nonce, _ = NewNonce()
		c.pending++
		key := map[stepKind]string{stSaltRequest: testKeyID, stSaltRequestK2: "k2", stSaltRequestUnknown: "nobody"}[k]
		return cmd(CmdSaltRequest, SaltRequest{KeyID: key, Nonce: c.nonce}.Append(nil))
	case stProofValid:
		return cmd(CmdClientProof, c.proof(testToken, testKeyID, c.nonce, c.salt(), pushMD))
	case stProofWrongToken:
		return cmd(CmdClientProof, c.proof(otherToken, testKeyID, c.nonce, c.salt(), pushMD))
	case stProofReplayed:
		c.salt() // consume the real one
		old, _ := NewNonce()
		return cmd(CmdClientProof, c.proof(testToken, testKeyID, c.nonce, old, pushMD))
	case stProofNonce:
		other, _ := NewNonce()
		return cmd(CmdClientProof, c.proof(testToken, testKeyID, other, c.salt(), pushMD))
	case stProofKeyID:
		return cmd(CmdClientProof, c.proof(testToken, "k2", c.nonce, c.salt(), pushMD))
	case stProofAltered:
		p := c.proof(testToken, testKeyID, c.nonce, c.salt(), pushMD)
		return cmd(CmdClientProof, bytes.Replace(p, []byte("PUSH"), []byte("PUB\x00"), 1))
	case stHello:
		return cmd(CmdHello, AppendHelloData(nil, []byte(testKeyID), testToken))
	case stHelloWrong:
		return cmd(CmdHello, AppendHelloData(nil, []byte(testKeyID), otherToken))
	case stHelloUnknown:
		return cmd(CmdHello, AppendHelloData(nil, []byte("nobody"), testToken))
	case stInitiate:
		return cmd(CmdInitiate, pushMD)
	case stReady:
		return readyFrame(Metadata{{Name: PropSocketType, Value: []byte("PUSH")}})
	case stError:
		return cmd(CmdError, AppendErrorData(nil, "400"))
	case stSalt:
		return cmd(CmdSalt, make([]byte, NonceSize))
	case stServerProof:
		return cmd(CmdServerProof, AppendProof(nil, [MACSize]byte{}, metadataOf("PULL")))
	case stWelcome:
		return cmd(CmdWelcome, nil)
	case stMessage:
		return frame(0, []byte("message"))
	case stGarbage:
		return []byte("\xffGET / HTTP/1.1\r\n\r\n")
	}
	panic("unknown step")
}

// run sends the script and closes the client's end.
func (c *scriptClient) run(steps []scriptStep) {
	defer c.nc.Close()
	path := canonical(c.mech)
	c.canon = true
	for i, s := range steps {
		c.greeted = c.greeted || i == 0 && (s.kind == stGreeting || s.kind == stGreetingOther) && s.cut < 0
		c.canon = c.canon && i < len(path) && s.kind == path[i] && s.clean()
		b := c.bytesOf(s.kind)
		if s.corrupt >= 0 && len(b) > 0 {
			b[s.corrupt%len(b)] ^= s.xor
		}
		stop := false
		if s.cut >= 0 && len(b) > 0 {
			b, stop = b[:s.cut%len(b)], true
		}
		c.sent.Write(b)
		if _, err := c.nc.Write(b); err != nil || stop {
			return
		}
	}
}

// serverOutcome runs one script against a fresh server engine and reports
// whether the server reached Ready, with the events it emitted.
func serverOutcome(t *rapid.T, mech string, steps []scriptStep) (succeeded bool, c *scriptClient, evs []string) {
	tt := NewTokenTable()
	tt.Add(testKeyID, testToken)
	tt.Add("k2", otherToken)
	sec := tokenServerSecurity(tt)
	if mech == MechanismPlain {
		sec = Security{Mechanism: MechanismPlain, Server: true, Authenticator: tt}
	}
	var ok atomic.Bool
	evch := make(chan string, 64)
	cfg := &Config{SocketType: PULL, Security: sec, Handler: dropHandler{}, HandshakeTimeout: netWait, Monitor: func(e Event) {
		if e.Kind == EventHandshakeSucceeded {
			ok.Store(true)
		}
		select {
		case evch <- e.String():
		default:
		}
	}}
	sc, cc := net.Pipe()
	e := newEngine(cfg, fsm.RoleAccept, "pipe://prop")
	e.attach(sc)
	if err := e.fire(fsm.EventStart, nil); err != nil {
		t.Fatalf("start: %v", err)
	}
	var stopping atomic.Bool
	done := make(chan struct{})
	go func() { defer close(done); e.run(&stopping) }()
	c = newScriptClient(cc, mech)
	c.run(steps)
	for _, ch := range []chan struct{}{done, c.done} {
		select {
		case <-ch:
		case <-time.After(2 * netWait):
			t.Fatalf("the server or the client's reader did not finish after the script %v", steps)
		}
	}
	close(evch)
	for s := range evch {
		evs = append(evs, s)
	}
	// Whatever the outcome, the handshake state, secrets and all, has gone
	// back to its pool.
	if e.auth != nil {
		t.Fatalf("the handshake state outlived the handshake (script %v)", steps)
	}
	// The server's verdict is its HandshakeSucceeded action (the machine
	// reached Ready), read after its goroutine ended. The monitor event
	// comes later, once the last handshake command is flushed, which fails
	// when the script has already hung up; it may never say more.
	if ok.Load() && !e.handshook {
		t.Fatalf("a handshake-succeeded event without the HandshakeSucceeded action: %v", steps)
	}
	return e.handshook, c, evs
}

func authScriptProp(mech string) func(*rapid.T) {
	return func(t *rapid.T) {
		steps := drawScript(t, mech)
		succeeded, c, evs := serverOutcome(t, mech, steps)
		isCanonical := len(steps) >= 3
		for i, k := range canonical(mech) {
			isCanonical = isCanonical && steps[i].kind == k && steps[i].clean()
		}
		switch {
		case isCanonical && !succeeded:
			t.Fatalf("the canonical %s script %v was refused: %s", mech, steps, strings.Join(evs, "; "))
		case !succeeded:
		case mech == MechanismToken && !isCanonical:
			t.Fatalf("TOKEN-HMAC server succeeded without a valid proof: %v: %s", steps, strings.Join(evs, "; "))
		case mech == MechanismPlain:
			hello := frame(FlagCommand, AppendCommandBody(nil, CmdHello, AppendHelloData(nil, []byte(testKeyID), testToken)))
			if sent := c.sent.Bytes(); len(sent) < GreetingSize || !bytes.HasPrefix(sent[GreetingSize:], hello) {
				t.Fatalf("PLAIN server succeeded without the right HELLO: %v: %s", steps, strings.Join(evs, "; "))
			}
		}
	}
}

func TestPropAuthServerNeedsValidProof(t *testing.T) {
	t.Run("TOKEN-HMAC", func(t *testing.T) { rapid.Check(t, authScriptProp(MechanismToken)) })
	t.Run("PLAIN", func(t *testing.T) { rapid.Check(t, authScriptProp(MechanismPlain)) })
}

// The same properties as fuzz targets, for long campaigns:
//
//	go test ./transport/ -run '^$' -fuzz '^FuzzTokenServerScript$' -fuzztime 60s
func FuzzTokenServerScript(f *testing.F) { f.Fuzz(rapid.MakeFuzz(authScriptProp(MechanismToken))) }
func FuzzPlainServerScript(f *testing.F) { f.Fuzz(rapid.MakeFuzz(authScriptProp(MechanismPlain))) }
