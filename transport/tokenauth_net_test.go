package transport

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zmtpgo/zmtp/fsm"
)

// TestTokenHandshakeOverTCP runs the real client against the real server:
// the right token delivers with the key id as user id; a wrong token, an
// unknown key id and a server that holds another token for the key id are
// refused with ERROR "400", AuthFailed on the server (naming the peer) and
// ErrorReceived on the client, which stops for good.
func TestTokenHandshakeOverTCP(t *testing.T) {
	for _, tt := range []struct {
		name   string
		keyID  string
		token  Secret
		server *TokenTable
		cause  error // the server's cause; nil: the handshake succeeds
		text   string
	}{
		{"right token", testKeyID, testToken, testTable(t), nil, ""},
		{"wrong token", testKeyID, otherToken, testTable(t), ErrTokenMismatch, "wrong token"},
		{"unknown key id", "nobody", testToken, testTable(t), ErrAuthRefused, `unknown key id "nobody"`},
		{"server without the token", testKeyID, testToken, func() *TokenTable {
			tt := NewTokenTable()
			tt.Add(testKeyID, otherToken)
			return tt
		}(), ErrTokenMismatch, "wrong token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sev, cev := newEvLog(), newEvLog()
			sh := newChanHandler()
			l := authListener(t, tokenServerSecurity(tt.server), sh, sev.add)
			ch := newChanHandler()
			cn, err := Connect(l.Endpoint(), &Config{SocketType: PUSH, Security: tokenClientSecurity(tt.keyID, tt.token),
				Handler: ch, Monitor: cev.add, ReconnectIvl: 10 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer cn.Close()
			if tt.cause == nil {
				c := recv(t, ch.attached)
				if err := c.Send(context.Background(), [][]byte{[]byte("hi")}); err != nil {
					t.Fatal(err)
				}
				if m := recv(t, sh.msgs); string(m[0]) != "hi" {
					t.Fatalf("received %q", m)
				}
				if s := recv(t, sh.attached); s.UserID() != testKeyID || c.UserID() != testKeyID {
					t.Fatalf("user ids: server side %q, client side %q", s.UserID(), c.UserID())
				}
				return
			}
			sev.waitCount(t, EventHandshakeFailed, fsm.ReasonAuthFailed, "", 1)
			cev.waitCount(t, EventHandshakeFailed, fsm.ReasonErrorReceived, "", 1)
			se, _ := sev.find(EventHandshakeFailed, "127.0.0.1:")
			ce, _ := cev.find(EventHandshakeFailed, "127.0.0.1:")
			if !errors.Is(se.Err, tt.cause) || !errors.Is(se.Err, fsm.ReasonAuthFailed) || !strings.Contains(se.Err.Error(), tt.text) {
				t.Errorf("server: %v; want AuthFailed, %v, %q", se, tt.cause, tt.text)
			}
			if !strings.Contains(ce.Err.Error(), `ERROR "400"`) {
				t.Errorf("client: %v; want the ERROR's status 400", ce)
			}
			select {
			case <-cn.Done(): // a fatal reason: the connector stopped
			case <-time.After(netWait):
				t.Fatal("the refused client is still reconnecting")
			}
			if n := sev.count(EventAccepted, fsm.ReasonNone, ""); n != 1 {
				t.Errorf("the server accepted %d connections, want 1", n)
			}
			for _, e := range append(sev.All(), cev.All()...) {
				if s := e.String(); strings.Contains(s, string(testToken)) || strings.Contains(s, string(otherToken)) {
					t.Errorf("an event shows a token: %s", s)
				}
			}
		})
	}
}

// TestTokenReplayRefused records, through a proxy, every byte a real client
// sent in a successful handshake, then replays them verbatim on a new
// connection to the same server. The server draws a fresh salt, so the
// recorded proof no longer matches: AuthFailed with ErrTokenMismatch.
func TestTokenReplayRefused(t *testing.T) {
	sev := newEvLog()
	sh := newChanHandler()
	l := authListener(t, tokenServerSecurity(testTable(t)), sh, sev.add)
	proxy := newRecordingProxy(t, l.Addr().String())

	ch := newChanHandler()
	cn, err := Connect(proxy.endpoint(), &Config{SocketType: PUSH, Security: tokenClientSecurity(testKeyID, testToken), Handler: ch})
	if err != nil {
		t.Fatal(err)
	}
	c := recv(t, ch.attached)
	if err := c.Send(context.Background(), [][]byte{[]byte("genuine")}); err != nil {
		t.Fatal(err)
	}
	recv(t, sh.msgs)
	cn.Close()
	sev.waitCount(t, EventDisconnected, fsm.ReasonNone, "", 1)

	c2s, s2c := proxy.recorded(0)
	_, cframes := splitStream(t, c2s)
	_, sframes := splitStream(t, s2c)
	mustCommand(t, cframes[0], CmdSaltRequest)
	mustCommand(t, cframes[1], CmdClientProof)
	oldSalt := mustCommand(t, sframes[0], CmdSalt)

	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	p := newRawPeer(nc)
	if _, err := nc.Write(c2s); err != nil {
		t.Fatal(err)
	}
	if err := p.r.ReadFull(make([]byte, GreetingSize)); err != nil {
		t.Fatal(err)
	}
	newSalt, err := p.next(CmdSalt)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(newSalt, oldSalt) {
		t.Fatal("the server sent the same salt twice")
	}
	reason, err := p.closedAfter()
	if err != nil || reason != "400" {
		t.Fatalf("after the replayed proof: ERROR %q, %v; want ERROR 400 and a close", reason, err)
	}
	e := waitFailure(t, sev, nc.LocalAddr().String())
	if e.Reason != fsm.ReasonAuthFailed || !errors.Is(e.Err, ErrTokenMismatch) {
		t.Fatalf("replay: %v; want AuthFailed and ErrTokenMismatch", e)
	}
	if n := sev.count(EventHandshakeSucceeded, fsm.ReasonNone, ""); n != 1 {
		t.Fatalf("%d handshakes succeeded, want only the genuine one", n)
	}
}

// waitFailure waits for the handshake failure of the connection from peer.
func waitFailure(t *testing.T, l *evLog, peer string) Event {
	t.Helper()
	_, e := l.Await(t.Fatalf, netWait, 0, peerIs(EventHandshakeFailed, peer), "handshake failure from "+peer)
	return e
}

// fakeTokenServer accepts connections on a loopback listener and runs each
// through SALT, then answers the client's proof with whatever forge makes
// of it. It counts the connections and keeps what the client sent after
// the SERVERPROOF (an ERROR, when it found us out).
type fakeTokenServer struct {
	ln       net.Listener
	accepted atomic.Int32
	errs     chan string
	done     chan struct{}
}

func newFakeTokenServer(t *testing.T, forge func(tr *Transcript, clientMAC [MACSize]byte) [MACSize]byte) *fakeTokenServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeTokenServer{ln: ln, errs: make(chan string, 16), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			f.accepted.Add(1)
			f.serve(nc, forge)
		}
	}()
	t.Cleanup(func() { ln.Close(); <-f.done })
	return f
}

func (f *fakeTokenServer) serve(nc net.Conn, forge func(tr *Transcript, clientMAC [MACSize]byte) [MACSize]byte) {
	defer nc.Close()
	p := newRawPeer(nc)
	if err := p.greet(MechanismToken, true); err != nil {
		return
	}
	body, err := p.next(CmdSaltRequest)
	if err != nil {
		return
	}
	req, err := ParseSaltRequest(body)
	if err != nil {
		return
	}
	salt, _ := NewNonce()
	p.command(CmdSalt, salt[:])
	body, err = p.next(CmdClientProof)
	if err != nil {
		return
	}
	clientMAC, _, err := ParseProof(body)
	if err != nil {
		return
	}
	tr := &Transcript{ClientGreeting: p.theirs, ServerGreeting: p.ours, KeyID: req.KeyID, ClientNonce: req.Nonce, ServerSalt: salt}
	mac := forge(tr, clientMAC)
	p.command(CmdServerProof, AppendProof(nil, mac, metadataOf("PULL")))
	reason, _ := p.closedAfter()
	f.errs <- reason
}

// TestTokenImpostorServer: a server that does not hold the token completes
// SALT, takes the client's proof and answers with a forged SERVERPROOF.
// Our client must find it out before it sends a message: ServerNotAuthentic
// (fatal: it does not dial again), with an ERROR to the impostor.
func TestTokenImpostorServer(t *testing.T) {
	for _, tt := range []struct {
		name  string
		forge func(tr *Transcript, clientMAC [MACSize]byte) [MACSize]byte
	}{
		{"random proof", func(*Transcript, [MACSize]byte) (m [MACSize]byte) {
			copy(m[:], bytes.Repeat([]byte{0x5a}, MACSize))
			return m
		}},
		{"the client's own proof reflected", func(_ *Transcript, c [MACSize]byte) [MACSize]byte { return c }},
		{"a proof made with another token", func(tr *Transcript, c [MACSize]byte) [MACSize]byte {
			return ServerMAC(otherToken, tr, c, metadataOf("PULL"))
		}},
		{"a client-label proof with the right token", func(tr *Transcript, c [MACSize]byte) [MACSize]byte {
			// What a server that holds the token but mixes up the labels
			// would send: the labels keep the two proofs apart.
			return ClientMAC(testToken, tr, metadataOf("PULL"))
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeTokenServer(t, tt.forge)
			cev := newEvLog()
			ch := newChanHandler()
			cn, err := Connect("tcp://"+fake.ln.Addr().String(), &Config{SocketType: PUSH, Security: tokenClientSecurity(testKeyID, testToken),
				Handler: ch, Monitor: cev.add, ReconnectIvl: 10 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer cn.Close()
			cev.waitCount(t, EventHandshakeFailed, fsm.ReasonNone, "", 1)
			e, _ := cev.find(EventHandshakeFailed, "127.0.0.1:")
			if e.Reason != fsm.ReasonServerNotAuthentic || !errors.Is(e.Err, ErrTokenMismatch) || e.Peer != fake.ln.Addr().String() {
				t.Fatalf("client: %v; want ServerNotAuthentic, ErrTokenMismatch and the server named", e)
			}
			if reason := recv(t, fake.errs); reason == "" {
				t.Error("the client closed without an ERROR")
			}
			select {
			case <-cn.Done():
			case <-time.After(netWait):
				t.Fatal("the client is still reconnecting to an impostor")
			}
			if n := fake.accepted.Load(); n != 1 {
				t.Errorf("the client connected %d times, want 1", n)
			}
			select {
			case c := <-ch.attached:
				t.Fatalf("the client attached a connection to the impostor: %v", c.RemoteAddr())
			default:
			}
		})
	}
}
