package transport

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Helpers of the PLAIN and TOKEN-HMAC tests: credentials, configurations,
// a recording TCP proxy, and a raw peer that speaks the mechanisms by hand.

var (
	testToken  = Secret("0123456789abcdef-token-A")
	otherToken = Secret("0123456789abcdef-token-B")
	testKeyID  = "k1"
)

// testTable holds k1 → testToken and k2 → otherToken.
func testTable(t testing.TB) *TokenTable {
	t.Helper()
	tt := NewTokenTable()
	if err := tt.Add(testKeyID, testToken); err != nil {
		t.Fatal(err)
	}
	if err := tt.Add("k2", otherToken); err != nil {
		t.Fatal(err)
	}
	return tt
}

func tokenServerSecurity(tt *TokenTable) Security {
	return Security{Mechanism: MechanismToken, Server: true, Tokens: tt, Authenticator: tt}
}

func tokenClientSecurity(keyID string, token Secret) Security {
	return Security{Mechanism: MechanismToken, KeyID: keyID, Token: token}
}

// authListener binds a PULL on loopback with sec, the handler and monitor.
func authListener(t testing.TB, sec Security, h Handler, mon func(Event)) *Listener {
	t.Helper()
	if h == nil {
		h = dropHandler{}
	}
	l, err := Listen("tcp://127.0.0.1:0", &Config{SocketType: PULL, Security: sec, Handler: h, Monitor: mon, HandshakeTimeout: netWait})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// recordingProxy relays TCP connections to target and keeps every byte
// each side sent, per connection.
type recordingProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
	c2s    []*lockedBuffer
	s2c    []*lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]byte(nil), l.b.Bytes()...)
}

func newRecordingProxy(t testing.TB, target string) *recordingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &recordingProxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *recordingProxy) endpoint() string { return "tcp://" + p.ln.Addr().String() }

func (p *recordingProxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.DialTimeout("tcp", p.target, netWait)
		if err != nil {
			in.Close()
			continue
		}
		c2s, s2c := &lockedBuffer{}, &lockedBuffer{}
		p.mu.Lock()
		p.conns = append(p.conns, in, out)
		p.c2s, p.s2c = append(p.c2s, c2s), append(p.s2c, s2c)
		p.mu.Unlock()
		relay := func(dst, src net.Conn, rec io.Writer) {
			defer p.wg.Done()
			io.Copy(io.MultiWriter(dst, rec), src)
			// Pass the close on, both ways, so the other relay ends too.
			dst.Close()
			src.Close()
		}
		p.wg.Add(2)
		go relay(out, in, c2s)
		go relay(in, out, s2c)
	}
}

// recorded returns what the client and the server of connection i sent.
func (p *recordingProxy) recorded(i int) (c2s, s2c []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i >= len(p.c2s) {
		return nil, nil
	}
	return p.c2s[i].Bytes(), p.s2c[i].Bytes()
}

func (p *recordingProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// splitStream splits a recorded stream into its greeting and frames.
func splitStream(t testing.TB, b []byte) (greeting []byte, frames []Frame) {
	t.Helper()
	if len(b) < GreetingSize {
		t.Fatalf("stream of %d bytes has no whole greeting", len(b))
	}
	r := NewReader(bytes.NewReader(b[GreetingSize:]), -1)
	for {
		f, err := r.ReadFrame()
		if err == io.EOF {
			return b[:GreetingSize], frames
		}
		if err != nil {
			t.Fatalf("recorded stream: %v", err)
		}
		frames = append(frames, f)
	}
}

// mustCommand parses a frame as the named command.
func mustCommand(t testing.TB, f Frame, name string) []byte {
	t.Helper()
	cmd, err := ParseCommand(f.Body)
	if err != nil || !f.IsCommand() || cmd.Name != name {
		t.Fatalf("want %s, got frame %q (%v)", name, f.Body, err)
	}
	return cmd.Body
}

// rawPeer is one side of a handshake written by hand, for the tests that
// send what a real peer never would.
type rawPeer struct {
	nc net.Conn
	r  *Reader
	// The greetings, once exchanged.
	ours, theirs []byte
}

func newRawPeer(nc net.Conn) *rawPeer {
	nc.SetDeadline(time.Now().Add(netWait))
	return &rawPeer{nc: nc, r: NewReader(nc, 1<<20)}
}

// greet sends a whole greeting for mechanism and reads the peer's.
func (p *rawPeer) greet(mechanism string, asServer bool) error {
	p.ours = Greeting{Major: 3, Minor: 1, Mechanism: mechanism, AsServer: asServer}.Append(nil)
	if _, err := p.nc.Write(p.ours); err != nil {
		return err
	}
	p.theirs = make([]byte, GreetingSize)
	return p.r.ReadFull(p.theirs)
}

func (p *rawPeer) command(name string, data []byte) error {
	_, err := p.nc.Write(frame(FlagCommand, AppendCommandBody(nil, name, data)))
	return err
}

// next reads one command, which must be name, and returns its data.
func (p *rawPeer) next(name string) ([]byte, error) {
	f, err := p.r.ReadFrame()
	if err != nil {
		return nil, err
	}
	cmd, err := ParseCommand(f.Body)
	if err != nil {
		return nil, err
	}
	if cmd.Name != name {
		return nil, fmt.Errorf("want %s, got %s %q", name, cmd.Name, cmd.Body)
	}
	return cmd.Body, nil
}

// closedAfter reads until the peer closes and returns the ERROR reason it
// sent on the way, if any.
func (p *rawPeer) closedAfter() (errorReason string, err error) {
	for {
		f, err := p.r.ReadFrame()
		if err == io.EOF || isConnReset(err) {
			return errorReason, nil
		}
		if err != nil {
			return errorReason, err
		}
		if cmd, perr := ParseCommand(f.Body); perr == nil && cmd.Name == CmdError {
			errorReason, _ = ParseError(cmd.Body)
		}
	}
}

// metadataOf is the wire form of a Socket-Type property.
func metadataOf(socketType string) []byte {
	return Metadata{{Name: PropSocketType, Value: []byte(socketType)}}.Append(nil)
}
