package transport

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"

	"github.com/zmtpgo/zmtp/fsm"
)

// TestAuthServerRefusesBadCommands sends a TOKEN-HMAC and a PLAIN server
// truncated, oversized, malformed and out-of-order mechanism commands from
// a raw client. Each closes the connection with its typed reason and
// cause, the event names the peer, a refused login gets ERROR "400", and a
// good client of the same server still delivers afterwards.
func TestAuthServerRefusesBadCommands(t *testing.T) {
	var nonce [NonceSize]byte
	sr := SaltRequest{KeyID: testKeyID, Nonce: nonce}.Append(nil)
	cmd := func(name string, data []byte) []byte { return frame(FlagCommand, AppendCommandBody(nil, name, data)) }
	// A command frame whose header declares more than MaxCommandSize: it
	// is refused from the header, before anything is allocated or read.
	huge := []byte{FlagCommand | FlagLong, 0, 0, 0, 0, 0, 1, 0, 1}
	// validProof computes a real proof over what the raw client and the
	// server exchanged (the salt read from the server).
	type step func(p *rawPeer) []byte
	proof := func(token Secret, md []byte) step {
		return func(p *rawPeer) []byte {
			body, err := p.next(CmdSalt)
			if err != nil {
				return nil
			}
			salt, _ := ParseSalt(body)
			tr := &Transcript{ClientGreeting: p.ours, ServerGreeting: p.theirs, KeyID: testKeyID, ServerSalt: salt}
			return cmd(CmdClientProof, AppendProof(nil, ClientMAC(token, tr, md), md))
		}
	}
	bytesStep := func(b []byte) step { return func(*rawPeer) []byte { return b } }
	pushMD := metadataOf("PUSH")

	for _, mech := range []struct {
		name string
		sec  Security
		mech string
	}{
		{name: "TOKEN-HMAC", sec: tokenServerSecurity(testTable(t)), mech: MechanismToken},
		{name: "PLAIN", sec: Security{Mechanism: MechanismPlain, Server: true, Authenticator: testTable(t)}, mech: MechanismPlain},
	} {
		type tc = struct {
			name   string
			steps  []step
			reason fsm.Reason
			cause  error
			status string // the ERROR the raw client must receive, if any
		}
		var cases []tc
		if mech.mech == MechanismToken {
			cases = []tc{
				{"SALTREQUEST cut short in the nonce", []step{bytesStep(cmd(CmdSaltRequest, sr[:len(sr)-1]))}, fsm.ReasonProtocolViolation, ErrMalformedCommand, ""},
				{"SALTREQUEST with a trailing byte", []step{bytesStep(cmd(CmdSaltRequest, append(append([]byte{}, sr...), 0)))}, fsm.ReasonProtocolViolation, ErrMalformedCommand, ""},
				{"SALTREQUEST key id longer than the body", []step{bytesStep(cmd(CmdSaltRequest, []byte{1, 200, 'k'}))}, fsm.ReasonProtocolViolation, ErrMalformedCommand, ""},
				{"SALTREQUEST version 2", []step{bytesStep(cmd(CmdSaltRequest, append([]byte{2}, sr[1:]...)))}, fsm.ReasonProtocolViolation, ErrMalformedCommand, ""},
				{"empty SALTREQUEST", []step{bytesStep(cmd(CmdSaltRequest, nil))}, fsm.ReasonProtocolViolation, ErrMalformedCommand, ""},
				{"SALTREQUEST frame above the command limit", []step{bytesStep(huge)}, fsm.ReasonFrameTooLarge, ErrFrameTooLarge, ""},
				{"stream cut in the middle of SALTREQUEST", []step{bytesStep(cmd(CmdSaltRequest, sr)[:20])}, fsm.ReasonPeerClosed, nil, ""},
				{"CLIENTPROOF before SALTREQUEST", []step{bytesStep(cmd(CmdClientProof, make([]byte, MACSize)))}, fsm.ReasonProtocolViolation, fsm.ErrNotHandled, ""},
				{"SALTREQUEST twice", []step{bytesStep(cmd(CmdSaltRequest, sr)), bytesStep(cmd(CmdSaltRequest, sr))}, fsm.ReasonProtocolViolation, fsm.ErrNotHandled, ""},
				{"READY instead of SALTREQUEST", []step{bytesStep(readyFrame(Metadata{{Name: PropSocketType, Value: []byte("PUSH")}}))}, fsm.ReasonProtocolViolation, fsm.ErrNotHandled, ""},
				{"a message before the handshake", []step{bytesStep(frame(0, []byte("early")))}, fsm.ReasonProtocolViolation, ErrMalformedFrame, ""},
				{"CLIENTPROOF shorter than its MAC", []step{bytesStep(cmd(CmdSaltRequest, sr)), bytesStep(cmd(CmdClientProof, make([]byte, MACSize-1)))}, fsm.ReasonProtocolViolation, ErrMalformedCommand, ""},
				{"CLIENTPROOF with malformed metadata", []step{bytesStep(cmd(CmdSaltRequest, sr)), bytesStep(cmd(CmdClientProof, append(make([]byte, MACSize), pushMD[:len(pushMD)-1]...)))}, fsm.ReasonProtocolViolation, ErrMalformedMetadata, ""},
				{"CLIENTPROOF frame above the command limit", []step{bytesStep(cmd(CmdSaltRequest, sr)), bytesStep(huge)}, fsm.ReasonFrameTooLarge, ErrFrameTooLarge, ""},
				{"unknown key id", []step{bytesStep(cmd(CmdSaltRequest, SaltRequest{KeyID: "nobody"}.Append(nil)))}, fsm.ReasonAuthFailed, ErrAuthRefused, "400"},
				{"a proof made with the wrong token", []step{bytesStep(cmd(CmdSaltRequest, sr)), proof(otherToken, pushMD)}, fsm.ReasonAuthFailed, ErrTokenMismatch, "400"},
				{"a proof whose metadata was altered after signing", []step{bytesStep(cmd(CmdSaltRequest, sr)), func(p *rawPeer) []byte {
					b := proof(testToken, pushMD)(p)
					return bytes.Replace(b, []byte("PUSH"), []byte("PUB\x00"), 1)
				}}, fsm.ReasonAuthFailed, ErrTokenMismatch, "400"},
				{"a right proof from a socket type that cannot talk to ours", []step{bytesStep(cmd(CmdSaltRequest, sr)), proof(testToken, metadataOf("PULL"))}, fsm.ReasonSocketTypeMismatch, nil, "invalid socket type PULL for PULL"},
			}
		} else {
			hello := AppendHelloData(nil, []byte(testKeyID), testToken)
			cases = []tc{
				{"HELLO cut short in the password", []step{bytesStep(cmd(CmdHello, hello[:len(hello)-1]))}, fsm.ReasonProtocolViolation, ErrMalformedCommand, ""},
				{"HELLO with a trailing byte", []step{bytesStep(cmd(CmdHello, append(append([]byte{}, hello...), 0)))}, fsm.ReasonProtocolViolation, ErrMalformedCommand, ""},
				{"HELLO user name longer than the body", []step{bytesStep(cmd(CmdHello, []byte{200, 'a'}))}, fsm.ReasonProtocolViolation, ErrMalformedCommand, ""},
				{"empty HELLO", []step{bytesStep(cmd(CmdHello, nil))}, fsm.ReasonProtocolViolation, ErrMalformedCommand, ""},
				{"HELLO frame above the command limit", []step{bytesStep(huge)}, fsm.ReasonFrameTooLarge, ErrFrameTooLarge, ""},
				{"stream cut in the middle of HELLO", []step{bytesStep(cmd(CmdHello, hello)[:6])}, fsm.ReasonPeerClosed, nil, ""},
				{"INITIATE before HELLO", []step{bytesStep(cmd(CmdInitiate, pushMD))}, fsm.ReasonProtocolViolation, fsm.ErrNotHandled, ""},
				{"WELCOME from the client", []step{bytesStep(cmd(CmdWelcome, nil))}, fsm.ReasonProtocolViolation, fsm.ErrNotHandled, ""},
				{"HELLO twice", []step{bytesStep(cmd(CmdHello, hello)), bytesStep(cmd(CmdHello, hello))}, fsm.ReasonProtocolViolation, fsm.ErrNotHandled, ""},
				{"INITIATE with malformed metadata", []step{bytesStep(cmd(CmdHello, hello)), bytesStep(cmd(CmdInitiate, pushMD[:len(pushMD)-1]))}, fsm.ReasonProtocolViolation, ErrMalformedMetadata, ""},
				{"wrong password", []step{bytesStep(cmd(CmdHello, AppendHelloData(nil, []byte(testKeyID), otherToken)))}, fsm.ReasonAuthFailed, ErrAuthRefused, "400"},
				{"unknown user", []step{bytesStep(cmd(CmdHello, AppendHelloData(nil, []byte("nobody"), testToken)))}, fsm.ReasonAuthFailed, ErrAuthRefused, "400"},
			}
		}
		t.Run(mech.name, func(t *testing.T) {
			evs := newEvLog()
			pullH := newChanHandler()
			l := authListener(t, mech.sec, pullH, evs.add)
			good := goodClient(t, l.Endpoint(), mech.sec)
			recv(t, pullH.attached)
			for i, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					nc, err := net.Dial("tcp", l.Addr().String())
					if err != nil {
						t.Fatal(err)
					}
					defer nc.Close()
					p := newRawPeer(nc)
					if err := p.greet(mech.mech, false); err != nil {
						t.Fatal(err)
					}
					for _, s := range tc.steps {
						if b := s(p); len(b) > 0 {
							nc.Write(b)
						}
					}
					if tc.reason == fsm.ReasonPeerClosed {
						nc.(*net.TCPConn).CloseWrite()
					}
					status, _ := p.closedAfter()
					e := waitFailure(t, evs, nc.LocalAddr().String())
					if e.Reason != tc.reason || !errors.Is(e.Err, tc.reason) || (tc.cause != nil && !errors.Is(e.Err, tc.cause)) {
						t.Fatalf("%v\nwant reason %s, cause %v", e, tc.reason.String(), tc.cause)
					}
					if status != tc.status {
						t.Fatalf("the raw client received ERROR %q, want %q", status, tc.status)
					}
					if err := good.Send(context.Background(), [][]byte{{byte(i)}}); err != nil {
						t.Fatal(err)
					}
					if m := recv(t, pullH.msgs); m[0][0] != byte(i) {
						t.Fatalf("the good client's message %d arrived as %v", i, m)
					}
				})
			}
		})
	}
}

// goodClient connects a PUSH with the right credentials for sec's server
// and returns its connection once ready.
func goodClient(t *testing.T, endpoint string, server Security) *Conn {
	t.Helper()
	sec := tokenClientSecurity(testKeyID, testToken)
	if server.Mechanism == MechanismPlain {
		sec = Security{Mechanism: MechanismPlain, Username: testKeyID, Password: testToken}
	}
	h := newChanHandler()
	cn, err := Connect(endpoint, &Config{SocketType: PUSH, Security: sec, Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cn.Close)
	return recv(t, h.attached)
}

// TestAuthClientRefusesBadCommands: a raw server sends our TOKEN-HMAC and
// PLAIN clients truncated, oversized or out-of-place commands; each ends
// the handshake with its typed reason, and the client does not dial again.
func TestAuthClientRefusesBadCommands(t *testing.T) {
	cmd := func(name string, data []byte) []byte { return frame(FlagCommand, AppendCommandBody(nil, name, data)) }
	for _, tt := range []struct {
		name   string
		mech   string
		expect string // the command the raw server reads first
		reply  []byte
		reason fsm.Reason
		cause  error
	}{
		{"SALT cut short", MechanismToken, CmdSaltRequest, cmd(CmdSalt, make([]byte, NonceSize-1)), fsm.ReasonProtocolViolation, ErrMalformedCommand},
		{"SALT with a trailing byte", MechanismToken, CmdSaltRequest, cmd(CmdSalt, make([]byte, NonceSize+1)), fsm.ReasonProtocolViolation, ErrMalformedCommand},
		{"SALT frame above the command limit", MechanismToken, CmdSaltRequest, []byte{FlagCommand | FlagLong, 0, 0, 0, 0, 0, 1, 0, 1}, fsm.ReasonFrameTooLarge, ErrFrameTooLarge},
		{"SERVERPROOF instead of SALT", MechanismToken, CmdSaltRequest, cmd(CmdServerProof, make([]byte, MACSize)), fsm.ReasonProtocolViolation, fsm.ErrNotHandled},
		{"READY instead of SALT", MechanismToken, CmdSaltRequest, readyFrame(Metadata{{Name: PropSocketType, Value: []byte("PULL")}}), fsm.ReasonProtocolViolation, fsm.ErrNotHandled},
		{"ERROR instead of SALT", MechanismToken, CmdSaltRequest, cmd(CmdError, AppendErrorData(nil, "400")), fsm.ReasonErrorReceived, nil},
		{"WELCOME with a body", MechanismPlain, CmdHello, cmd(CmdWelcome, []byte{0}), fsm.ReasonProtocolViolation, ErrMalformedCommand},
		{"READY before WELCOME", MechanismPlain, CmdHello, readyFrame(Metadata{{Name: PropSocketType, Value: []byte("PULL")}}), fsm.ReasonProtocolViolation, fsm.ErrNotHandled},
		{"libzmq's ERROR 400", MechanismPlain, CmdHello, frame(FlagCommand, AppendPlainServerError(nil, "400")), fsm.ReasonErrorReceived, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			served := make(chan error, 1)
			go func() {
				nc, err := ln.Accept()
				if err != nil {
					served <- err
					return
				}
				defer nc.Close()
				p := newRawPeer(nc)
				if err := p.greet(tt.mech, true); err != nil {
					served <- err
					return
				}
				if _, err := p.next(tt.expect); err != nil {
					served <- err
					return
				}
				nc.Write(tt.reply)
				_, err = p.closedAfter()
				served <- err
			}()
			sec := tokenClientSecurity(testKeyID, testToken)
			if tt.mech == MechanismPlain {
				sec = Security{Mechanism: MechanismPlain, Username: testKeyID, Password: testToken}
			}
			cev := newEvLog()
			cn, err := Connect("tcp://"+ln.Addr().String(), &Config{SocketType: PUSH, Security: sec, Handler: newChanHandler(), Monitor: cev.add})
			if err != nil {
				t.Fatal(err)
			}
			defer cn.Close()
			if err := recv(t, served); err != nil {
				t.Fatalf("raw server: %v", err)
			}
			e := waitFailure(t, cev, ln.Addr().String())
			if e.Reason != tt.reason || (tt.cause != nil && !errors.Is(e.Err, tt.cause)) {
				t.Fatalf("%v\nwant reason %s, cause %v", e, tt.reason.String(), tt.cause)
			}
			recv(t, cn.Done()) // fatal: no second dial
		})
	}
}
