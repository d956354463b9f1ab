package transport

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
)

// MechanismToken is this project's salt + HMAC mechanism: the token is
// never sent. The client asks for a salt, sending its own nonce; the server
// answers with a fresh random salt; the client proves it holds the token
// with an HMAC-SHA-256 over both nonces, both greetings, the key id and its
// metadata; the server checks it in constant time and proves itself back
// the same way. A captured handshake cannot be replayed (the server's salt
// is new each time) and an impostor server without the token is found out.
// Traffic after the handshake is neither encrypted nor authenticated: that
// is CURVE's job. libzmq does not know the mechanism, so a libzmq peer fails
// with a mechanism mismatch.
const MechanismToken = "TOKEN-HMAC"

// Command names of the token mechanism (letters only, as RFC 23 asks).
const (
	CmdSaltRequest = "SALTREQUEST"
	CmdSalt        = "SALT"
	CmdClientProof = "CLIENTPROOF"
	CmdServerProof = "SERVERPROOF"
)

// Sizes of the token mechanism's fields.
const (
	tokenVersion = 1
	NonceSize    = 32 // client nonce and server salt, from crypto/rand
	MACSize      = sha256.Size
	MaxKeyIDSize = 255
	// MinTokenSize is the shortest token accepted: 128 bits.
	MinTokenSize = 16
)

// ErrTokenMismatch is the proof check failing: the peer does not hold the
// token for the key id (or the transcript was tampered with).
var ErrTokenMismatch = errors.New("zmtp: token proof does not match")

// SaltRequest is the client's first command: the version, the id of the
// key (token) it will prove, and its nonce.
type SaltRequest struct {
	KeyID string
	Nonce [NonceSize]byte
}

// ParseSaltRequest decodes SALTREQUEST: version(1)=1 keyid-len(1) keyid
// nonce(32), nothing after.
func ParseSaltRequest(data []byte) (SaltRequest, error) {
	var r SaltRequest
	if len(data) < 2 {
		return r, fmt.Errorf("%w: SALTREQUEST of %d bytes", ErrMalformedCommand, len(data))
	}
	if data[0] != tokenVersion {
		return r, fmt.Errorf("%w: SALTREQUEST version %d, want %d", ErrMalformedCommand, data[0], tokenVersion)
	}
	klen := int(data[1])
	if len(data) != 2+klen+NonceSize {
		return r, fmt.Errorf("%w: SALTREQUEST of %d bytes, want %d for a %d-byte key id", ErrMalformedCommand, len(data), 2+klen+NonceSize, klen)
	}
	r.KeyID = string(data[2 : 2+klen])
	copy(r.Nonce[:], data[2+klen:])
	return r, nil
}

// Append appends the SALTREQUEST body.
func (r SaltRequest) Append(dst []byte) []byte {
	dst = append(dst, tokenVersion, byte(len(r.KeyID)))
	dst = append(dst, r.KeyID...)
	return append(dst, r.Nonce[:]...)
}

// ParseSalt decodes SALT: salt(32), nothing after.
func ParseSalt(data []byte) (salt [NonceSize]byte, err error) {
	if len(data) != NonceSize {
		return salt, fmt.Errorf("%w: SALT of %d bytes, want %d", ErrMalformedCommand, len(data), NonceSize)
	}
	copy(salt[:], data)
	return salt, nil
}

// ParseProof decodes CLIENTPROOF and SERVERPROOF: mac(32) then the
// sender's metadata.
func ParseProof(data []byte) (mac [MACSize]byte, md Metadata, err error) {
	if len(data) < MACSize {
		return mac, nil, fmt.Errorf("%w: proof of %d bytes, want at least %d", ErrMalformedCommand, len(data), MACSize)
	}
	copy(mac[:], data[:MACSize])
	md, err = ParseMetadata(data[MACSize:])
	return mac, md, err
}

// AppendProof appends a proof body: the MAC, then the metadata bytes.
func AppendProof(dst []byte, mac [MACSize]byte, metadata []byte) []byte {
	return append(append(dst, mac[:]...), metadata...)
}

// NewNonce returns NonceSize random bytes from crypto/rand.
func NewNonce() ([NonceSize]byte, error) {
	var n [NonceSize]byte
	_, err := rand.Read(n[:])
	return n, err
}

// Transcript is what both proofs cover. Greetings are the 64 bytes each
// side sent, in client-then-server order, so a proof cannot be moved to a
// connection with other greetings (a different mechanism or version).
type Transcript struct {
	ClientGreeting, ServerGreeting []byte
	KeyID                          string
	ClientNonce, ServerSalt        [NonceSize]byte
}

// Labels keep a client proof from being replayed as a server proof.
const (
	clientLabel = "ZMTP TOKEN-HMAC v1 client proof"
	serverLabel = "ZMTP TOKEN-HMAC v1 server proof"
)

// ClientMAC is the client's proof: HMAC-SHA-256 keyed with the token over
// the label, the transcript and the client's metadata (which carries its
// socket type).
func ClientMAC(token []byte, t *Transcript, clientMetadata []byte) [MACSize]byte {
	m := hmac.New(sha256.New, token)
	writeTranscript(m, clientLabel, t)
	writeField(m, clientMetadata)
	return sum(m)
}

// ServerMAC is the server's proof: the same over the server label, the
// transcript, the client's MAC (binding the two) and the server's metadata.
func ServerMAC(token []byte, t *Transcript, clientMAC [MACSize]byte, serverMetadata []byte) [MACSize]byte {
	m := hmac.New(sha256.New, token)
	writeTranscript(m, serverLabel, t)
	writeField(m, clientMAC[:])
	writeField(m, serverMetadata)
	return sum(m)
}

// VerifyMAC compares in constant time.
func VerifyMAC(got, want [MACSize]byte) bool { return hmac.Equal(got[:], want[:]) }

func writeTranscript(m hash.Hash, label string, t *Transcript) {
	writeField(m, []byte(label))
	writeField(m, t.ClientGreeting)
	writeField(m, t.ServerGreeting)
	writeField(m, []byte(t.KeyID))
	writeField(m, t.ClientNonce[:])
	writeField(m, t.ServerSalt[:])
}

// writeField writes a length-prefixed field, so that no two different
// transcripts hash the same bytes.
func writeField(m hash.Hash, b []byte) {
	var n [4]byte
	n[0], n[1], n[2], n[3] = byte(len(b)>>24), byte(len(b)>>16), byte(len(b)>>8), byte(len(b))
	m.Write(n[:])
	m.Write(b)
}

func sum(m hash.Hash) (out [MACSize]byte) {
	m.Sum(out[:0])
	return out
}
