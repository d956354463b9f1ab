package spec

// Section references into the ZMTP RFCs, cited by transitions and commands.
const (
	refGreeting  = "RFC 37 §Version Negotiation"
	refMechanism = "RFC 37 §Authentication and Confidentiality"
	refNull      = "RFC 37 §The NULL Security Mechanism"
	refPlain     = "RFC 24 §The PLAIN Mechanism"
	refToken     = "docs/handshake.md §TOKEN-HMAC (this project)"
	refMetadata  = "RFC 37 §Connection Metadata"
	refSemantics = "RFC 37 §Socket Semantics"
	refErrors    = "RFC 37 §Error Handling"
	refFraming   = "RFC 37 §Framing"
	refSecurity  = "RFC 37 §Security Considerations"
	refHeartbeat = "RFC 37 §Connection Heartbeating"
	refSubscribe = "RFC 37 §Publish-Subscribe"
)

// peerChecks are the checks of the peer's metadata that every mechanism
// ends with: its socket type can talk to ours, and its Identity is valid.
// A failure is answered with ERROR before closing.
var peerChecks = []Check{
	{Guard: "SocketTypeCompatible", Reason: "SocketTypeMismatch", Else: []string{"SendError"}},
	{Guard: "IdentityValid", Reason: "BadIdentity", Else: []string{"SendError"}},
}

// Role names.
const (
	RoleConnect = "Connect"
	RoleAccept  = "Accept"
)

// Handshake is the extended ZMTP 3.1 connection handshake of this project.
//
// Adding a mechanism (PLAIN, the salt/HMAC mechanism) means adding states,
// a guard that selects it after the greeting (When), its commands' events,
// and arms; the generator does not change.
var Handshake = Spec{
	Name: "ZMTP 3.1 connection handshake",
	Doc: "How one TCP connection goes from accepted or dialled to carrying messages, and every way it ends. " +
		"The accepting side checks the accept-from list and the peer caps before it spends anything on a peer; " +
		"both sides then exchange greetings in two steps as libzmq does (signature and version, then the rest), " +
		"never waiting for the peer's whole greeting before sending their own, check the version and the mechanism, run the mechanism's commands, and " +
		"exchange READY metadata with the socket-type check. The connecting side reconnects after a close unless " +
		"the reason is fatal.",
	Roles: []Role{
		{Name: RoleConnect, Initial: "Idle", CloseTo: "Backoff", FatalTo: "Stopped",
			Doc: "The side that dials. One machine lives as long as the endpoint is connected: after a close it waits in Backoff and dials again, unless the reason is fatal or the socket closed."},
		{Name: RoleAccept, Initial: "Accepted", CloseTo: "Closed", FatalTo: "Closed",
			Doc: "The side that accepted a TCP connection on a bound endpoint. One machine per accepted connection; it never reconnects."},
	},
	States: []State{
		{Name: "Idle", Doc: "Connect side before the first dial."},
		{Name: "Dialing", Doc: "A TCP connect to the endpoint is in progress."},
		{Name: "Backoff", Doc: "The last connection closed or failed; waiting for the reconnect interval (with backoff and jitter) to pass."},
		{Name: "Accepted", Conn: true, Doc: "A TCP connection was accepted; nothing has been read, allocated or started for it yet."},
		{Name: "Greeting", Conn: true, Doc: "The first 11 bytes of our greeting are queued; waiting for the first 11 bytes of the peer's (signature and major version)."},
		{Name: "GreetingBody", Conn: true, Doc: "The peer's signature and version are good; waiting for the rest of its 64-byte greeting."},
		{Name: "NullPeerFirst", Conn: true, Doc: "NULL mechanism, connecting side: waiting for the peer's READY before sending ours, for at most the ready grace. A libzmq peer that refuses our socket type closes without a word once it reads our READY; reading its READY first lets us name the refusal, and not retry it, instead of seeing a bare EOF."},
		{Name: "NullReady", Conn: true, Doc: "NULL mechanism: our READY is queued; waiting for the peer's READY."},
		{Name: "PlainClientWelcome", Conn: true, Doc: "PLAIN client: HELLO (user name and password) sent; waiting for WELCOME."},
		{Name: "PlainClientReady", Conn: true, Doc: "PLAIN client: INITIATE (our metadata) sent; waiting for the server's READY."},
		{Name: "PlainServerHello", Conn: true, Doc: "PLAIN server: waiting for the client's HELLO."},
		{Name: "PlainServerInitiate", Conn: true, Doc: "PLAIN server: credentials accepted and WELCOME sent; waiting for INITIATE."},
		{Name: "TokenClientSalt", Conn: true, Doc: "TOKEN-HMAC client: SALTREQUEST (key id and our nonce) sent; waiting for the server's salt."},
		{Name: "TokenClientProof", Conn: true, Doc: "TOKEN-HMAC client: CLIENTPROOF sent; waiting for the server to prove it holds the token too."},
		{Name: "TokenServerRequest", Conn: true, Doc: "TOKEN-HMAC server: waiting for the client's SALTREQUEST."},
		{Name: "TokenServerProof", Conn: true, Doc: "TOKEN-HMAC server: a fresh salt sent; waiting for the client's proof."},
		{Name: "Ready", Doc: "Handshake complete: the connection carries messages.", Ready: true, Conn: true},
		{Name: "Closed", Doc: "Accept side: the connection is closed and its slot freed.", Final: true},
		{Name: "Stopped", Doc: "Connect side: closed for good (fatal reason, or the socket closed or disconnected the endpoint).", Final: true},
	},
	Events: []Event{
		{Name: "Dial", Doc: "The socket asks the connect side to start."},
		{Name: "Connected", Doc: "The TCP connect succeeded."},
		{Name: "ConnectFailed", Doc: "The TCP connect failed (refused, unreachable, timed out)."},
		{Name: "RetryElapsed", Doc: "The reconnect timer fired."},
		{Name: "Start", Doc: "The listener hands over an accepted TCP connection."},
		{Name: "SignatureReceived", Doc: "The first 11 bytes of the peer's greeting arrived."},
		{Name: "GreetingReceived", Doc: "The rest of the peer's greeting arrived and parsed."},
		{Name: "ReadyReceived", Doc: "A READY command with well-formed metadata arrived."},
		{Name: "ReadyGraceElapsed", Doc: "The peer sent no READY within the ready grace; we send ours first."},
		{Name: "HelloReceived", Doc: "A well-formed PLAIN HELLO arrived."},
		{Name: "WelcomeReceived", Doc: "A PLAIN WELCOME (empty) arrived."},
		{Name: "InitiateReceived", Doc: "A PLAIN INITIATE with well-formed metadata arrived."},
		{Name: "SaltRequestReceived", Doc: "A well-formed TOKEN-HMAC SALTREQUEST arrived."},
		{Name: "SaltReceived", Doc: "A well-formed TOKEN-HMAC SALT arrived."},
		{Name: "ClientProofReceived", Doc: "A well-formed TOKEN-HMAC CLIENTPROOF arrived."},
		{Name: "ServerProofReceived", Doc: "A well-formed TOKEN-HMAC SERVERPROOF arrived."},
		{Name: "ErrorReceived", Doc: "An ERROR command arrived."},
		{Name: "ProtocolViolation", Doc: "The peer sent bytes the codec rejects, or a command or message not valid in this state."},
		{Name: "FrameTooLarge", Doc: "A frame header declared a size above the maximum message size."},
		{Name: "PeerClosed", Doc: "The connection ended: EOF, reset, or a failed write."},
		{Name: "HandshakeTimeout", Doc: "The handshake timer fired before the handshake completed."},
		{Name: "HeartbeatTimeout", Doc: "Nothing arrived from the peer within the heartbeat timeout after our PING, or within the TTL the peer asked for."},
		{Name: "KeepaliveFailed", Doc: "The operating system gave up on the connection: TCP keepalive probes went unanswered."},
		{Name: "Close", Doc: "The local socket closes, disconnects or unbinds this connection."},
	},
	Guards: []Guard{
		{Name: "ACLAllows", Doc: "The peer's address passes the accept-from lists: it is in no deny prefix and, when the allow list is not empty, in an allow prefix (deny wins; allow-all by default). An IPv4-mapped IPv6 address is matched as IPv4; a peer without an IP address (ipc) passes."},
		{Name: "PeerLimitAllows", Doc: "A peer slot is free under the socket's MaxPeers (handshaking and established peers both count; unlimited by default). Takes the slot; the connection's close frees it."},
		{Name: "PeerLimitPerIPAllows", Doc: "A peer slot is free under MaxPeersPerIP for the peer's source address (or its IPv6 prefix, /64 when so configured). Takes the slot; the connection's close frees it."},
		{Name: "HandshakeLimitAllows", Doc: "A handshake slot is free under MaxHandshakes, the cap on handshakes in progress, so that slow or silent peers cannot hold every slot. Takes the slot; HandshakeSucceeded or the close, whichever comes first, frees it."},
		{Name: "HandshakeLimitPerIPAllows", Doc: "A handshake slot is free under MaxHandshakesPerIP for the peer's source address (or IPv6 prefix). Takes the slot; HandshakeSucceeded or the close frees it."},
		{Name: "SignatureValid", Doc: "Byte 0 is 0xFF and byte 9 has its low bit set: the peer speaks ZMTP 2.0 or later, not HTTP or noise."},
		{Name: "VersionSupported", Doc: "The peer's major version is 3 or more (ZMTP 1.0 and 2.0 are refused)."},
		{Name: "MechanismMatches", Doc: "The peer's mechanism name equals ours."},
		{Name: "MechanismIsNull", Doc: "Our mechanism is NULL."},
		{Name: "MechanismIsPlainClient", Doc: "Our mechanism is PLAIN and we are its client (we hold a user name and password)."},
		{Name: "MechanismIsPlainServer", Doc: "Our mechanism is PLAIN and we are its server (we have an authenticator)."},
		{Name: "MechanismIsTokenClient", Doc: "Our mechanism is TOKEN-HMAC and we are its client (we hold a key id and its token)."},
		{Name: "MechanismIsTokenServer", Doc: "Our mechanism is TOKEN-HMAC and we are its server (we hold a token table)."},
		{Name: "CredentialsAccepted", Doc: "The authenticator accepts the PLAIN user name and password (ZAP status 200)."},
		{Name: "KeyKnown", Doc: "The server holds a token for the key id the client named."},
		{Name: "ClientProofValid", Doc: "The client's HMAC equals the one computed with the token over this connection's transcript (compared in constant time)."},
		{Name: "Authorized", Doc: "The authenticator accepts the proven key id (ZAP status 200); it also names the user id."},
		{Name: "ServerProofValid", Doc: "The server's HMAC proves it holds the same token and saw the same transcript and our proof."},
		{Name: "SocketTypeCompatible", Doc: "The peer's Socket-Type is a valid partner of ours."},
		{Name: "IdentityValid", Doc: "The peer's Identity, if any, is at most 255 bytes and does not start with a zero byte."},
	},
	Actions: []Action{
		{Name: "StartDial", Doc: "Begin a TCP connect to the endpoint."},
		{Name: "SendGreeting", Doc: "Queue the first 11 bytes of our greeting (signature and major version); they are flushed before anything is read."},
		{Name: "SendGreetingRest", Doc: "Queue the other 53 bytes of our greeting, once the peer's signature is good. libzmq does the same: a libzmq peer that reads a wrong mechanism closes at once, so a peer that sent all 64 bytes first would see only EOF, not the peer's mechanism."},
		{Name: "SendReady", Doc: "Queue a READY command with our Socket-Type (and Identity where the socket type sends one)."},
		{Name: "SendError", Doc: "Queue an ERROR command whose reason says why we refuse the peer (for a refused login, the ZAP status code, as libzmq sends). A PLAIN server sends it in the form libzmq's PLAIN clients recognise, name length 0x5E then \"RROR\" (libzmq's own spelling of \"\\x05ERROR\"; transport/plain.go): sent the RFC form, a libzmq client reports a protocol error instead of the status."},
		{Name: "SendHello", Doc: "PLAIN client: queue HELLO with our user name and password."},
		{Name: "SendWelcome", Doc: "PLAIN server: queue WELCOME."},
		{Name: "SendInitiate", Doc: "PLAIN client: queue INITIATE with our metadata."},
		{Name: "SendSaltRequest", Doc: "TOKEN-HMAC client: draw a nonce from crypto/rand and queue SALTREQUEST with our key id and the nonce."},
		{Name: "SendSalt", Doc: "TOKEN-HMAC server: draw a fresh salt from crypto/rand and queue SALT."},
		{Name: "SendClientProof", Doc: "TOKEN-HMAC client: queue CLIENTPROOF, our HMAC over the transcript and our metadata, with the metadata."},
		{Name: "SendServerProof", Doc: "TOKEN-HMAC server: queue SERVERPROOF, our HMAC over the transcript, the client's proof and our metadata, with the metadata."},
		{Name: "HandshakeSucceeded", Doc: "Record the peer's metadata and report the handshake as succeeded."},
	},
	Reasons: []Reason{
		{Name: "ACLDenied", Doc: "The peer's address is not allowed by the accept-from lists."},
		{Name: "PeerLimit", Doc: "The socket's peer cap (MaxPeers) was reached."},
		{Name: "PeerLimitPerIP", Doc: "The peer cap of the peer's source address (MaxPeersPerIP) was reached."},
		{Name: "HandshakeLimit", Doc: "The cap on handshakes in progress (MaxHandshakes) was reached."},
		{Name: "HandshakeLimitPerIP", Doc: "The cap on handshakes in progress from the peer's source address (MaxHandshakesPerIP) was reached."},
		{Name: "ConnectFailed", Doc: "The TCP connect failed."},
		{Name: "NotZMTP", Doc: "The peer's first bytes are not a ZMTP greeting (HTTP, noise).", Fatal: true},
		{Name: "UnsupportedVersion", Doc: "The peer speaks ZMTP 1.0 or 2.0.", Fatal: true},
		{Name: "MechanismMismatch", Doc: "The peer's security mechanism differs from ours.", Fatal: true},
		{Name: "SocketTypeMismatch", Doc: "The peer's socket type cannot talk to ours.", Fatal: true},
		{Name: "BadIdentity", Doc: "The peer's Identity is invalid.", Fatal: true},
		{Name: "ErrorReceived", Doc: "The peer sent ERROR; libzmq does not retry with the same settings.", Fatal: true},
		{Name: "ProtocolViolation", Doc: "The peer broke the protocol (malformed frame, command or metadata; a command out of place).", Fatal: true},
		{Name: "AuthFailed", Doc: "The peer's credentials were refused: a wrong password or token, an unknown key id, a proof that does not match, or the authenticator said no.", Fatal: true},
		{Name: "ServerNotAuthentic", Doc: "The server could not prove it holds the token: an impostor, or a different token under the same key id.", Fatal: true},
		{Name: "FrameTooLarge", Doc: "The peer declared a frame larger than the maximum message size.", Fatal: true},
		{Name: "PeerClosed", Doc: "The connection ended (EOF, reset, write failure)."},
		{Name: "HandshakeTimeout", Doc: "The handshake did not complete in time."},
		{Name: "HeartbeatTimeout", Doc: "The peer went silent: no traffic within the heartbeat timeout or its TTL."},
		{Name: "KeepaliveFailed", Doc: "TCP keepalive probes went unanswered: the peer's host is unreachable."},
		{Name: "Closed", Doc: "The local socket closed, disconnected or unbound the connection.", Fatal: true},
	},
	Transitions: []Transition{
		// Connect side: dial, and reconnect after a non-fatal close.
		{Roles: []string{RoleConnect}, From: "Idle", On: "Dial", Do: []string{"StartDial"}, To: "Dialing"},
		{Roles: []string{RoleConnect}, From: "Dialing", On: "Connected", Do: []string{"SendGreeting"}, To: "Greeting", Ref: refGreeting},
		{Roles: []string{RoleConnect}, From: "Dialing", On: "ConnectFailed", Close: "ConnectFailed"},
		{Roles: []string{RoleConnect}, From: "Backoff", On: "RetryElapsed", Do: []string{"StartDial"}, To: "Dialing"},

		// Accept side: the gate runs before anything is spent on the peer.
		// The per-address caps come before the socket-wide ones, so a single
		// address over its own quota never holds, even for a moment, a slot
		// that other peers share.
		{Roles: []string{RoleAccept}, From: "Accepted", On: "Start",
			Checks: []Check{
				{Guard: "ACLAllows", Reason: "ACLDenied"},
				{Guard: "PeerLimitPerIPAllows", Reason: "PeerLimitPerIP"},
				{Guard: "HandshakeLimitPerIPAllows", Reason: "HandshakeLimitPerIP"},
				{Guard: "PeerLimitAllows", Reason: "PeerLimit"},
				{Guard: "HandshakeLimitAllows", Reason: "HandshakeLimit"},
			},
			Do: []string{"SendGreeting"}, To: "Greeting", Ref: refSecurity},

		// Greeting, read in two steps so a ZMTP 1.0/2.0 peer or an HTTP client
		// is refused after 11 bytes instead of waiting for 64 that never come.
		{From: "Greeting", On: "SignatureReceived",
			Checks: []Check{{Guard: "SignatureValid", Reason: "NotZMTP"}, {Guard: "VersionSupported", Reason: "UnsupportedVersion"}},
			Do:     []string{"SendGreetingRest"}, To: "GreetingBody", Ref: refGreeting},
		{Roles: []string{RoleAccept}, From: "GreetingBody", On: "GreetingReceived", When: "MechanismIsNull",
			Checks: []Check{{Guard: "MechanismMatches", Reason: "MechanismMismatch"}},
			Do:     []string{"SendReady"}, To: "NullReady", Ref: refNull},
		{Roles: []string{RoleConnect}, From: "GreetingBody", On: "GreetingReceived", When: "MechanismIsNull",
			Checks: []Check{{Guard: "MechanismMatches", Reason: "MechanismMismatch"}},
			To:     "NullPeerFirst", Ref: refNull},
		{From: "GreetingBody", On: "GreetingReceived", When: "MechanismIsPlainClient",
			Checks: []Check{{Guard: "MechanismMatches", Reason: "MechanismMismatch"}},
			Do:     []string{"SendHello"}, To: "PlainClientWelcome", Ref: refPlain},
		{From: "GreetingBody", On: "GreetingReceived", When: "MechanismIsPlainServer",
			Checks: []Check{{Guard: "MechanismMatches", Reason: "MechanismMismatch"}},
			To:     "PlainServerHello", Ref: refPlain},
		{From: "GreetingBody", On: "GreetingReceived", When: "MechanismIsTokenClient",
			Checks: []Check{{Guard: "MechanismMatches", Reason: "MechanismMismatch"}},
			Do:     []string{"SendSaltRequest"}, To: "TokenClientSalt", Ref: refToken},
		{From: "GreetingBody", On: "GreetingReceived", When: "MechanismIsTokenServer",
			Checks: []Check{{Guard: "MechanismMatches", Reason: "MechanismMismatch"}},
			To:     "TokenServerRequest", Ref: refToken},
		{From: "GreetingBody", On: "GreetingReceived", Close: "MechanismMismatch", Ref: refMechanism},

		// PLAIN (RFC 24): HELLO, WELCOME, INITIATE, READY; ERROR when the
		// server refuses.
		{From: "PlainServerHello", On: "HelloReceived",
			Checks: []Check{{Guard: "CredentialsAccepted", Reason: "AuthFailed", Else: []string{"SendError"}}},
			Do:     []string{"SendWelcome"}, To: "PlainServerInitiate", Ref: refPlain},
		{From: "PlainClientWelcome", On: "WelcomeReceived", Do: []string{"SendInitiate"}, To: "PlainClientReady", Ref: refPlain},
		{From: "PlainServerInitiate", On: "InitiateReceived",
			Checks: peerChecks,
			Do:     []string{"SendReady", "HandshakeSucceeded"}, To: "Ready", Ref: refPlain},
		{From: "PlainClientReady", On: "ReadyReceived",
			Checks: peerChecks,
			Do:     []string{"HandshakeSucceeded"}, To: "Ready", Ref: refPlain},

		// TOKEN-HMAC: the token never crosses the wire; both sides prove
		// they hold it over a transcript with a fresh server salt.
		{From: "TokenServerRequest", On: "SaltRequestReceived",
			Checks: []Check{{Guard: "KeyKnown", Reason: "AuthFailed", Else: []string{"SendError"}}},
			Do:     []string{"SendSalt"}, To: "TokenServerProof", Ref: refToken},
		{From: "TokenClientSalt", On: "SaltReceived", Do: []string{"SendClientProof"}, To: "TokenClientProof", Ref: refToken},
		{From: "TokenServerProof", On: "ClientProofReceived",
			Checks: append([]Check{
				{Guard: "ClientProofValid", Reason: "AuthFailed", Else: []string{"SendError"}},
				{Guard: "Authorized", Reason: "AuthFailed", Else: []string{"SendError"}},
			}, peerChecks...),
			Do: []string{"SendServerProof", "HandshakeSucceeded"}, To: "Ready", Ref: refToken},
		{From: "TokenClientProof", On: "ServerProofReceived",
			Checks: append([]Check{
				{Guard: "ServerProofValid", Reason: "ServerNotAuthentic", Else: []string{"SendError"}},
			}, peerChecks...),
			Do: []string{"HandshakeSucceeded"}, To: "Ready", Ref: refToken},

		// NULL mechanism: READY both ways; the connecting side answers the
		// peer's READY, or sends its own when the grace runs out.
		{From: "NullPeerFirst", On: "ReadyReceived",
			Checks: peerChecks,
			Do:     []string{"SendReady", "HandshakeSucceeded"}, To: "Ready", Ref: refSemantics},
		{From: "NullPeerFirst", On: "ReadyGraceElapsed", Do: []string{"SendReady"}, To: "NullReady", Ref: refNull},
		{From: "NullReady", On: "ReadyReceived",
			Checks: peerChecks,
			Do:     []string{"HandshakeSucceeded"}, To: "Ready", Ref: refSemantics},

		// Every way out, from every live state that has no arm of its own.
		{From: "*", On: "ErrorReceived", Close: "ErrorReceived", Ref: refErrors},
		{From: "*", On: "ProtocolViolation", Close: "ProtocolViolation", Ref: refErrors},
		{From: "*", On: "FrameTooLarge", Close: "FrameTooLarge", Ref: refFraming},
		{From: "*", On: "PeerClosed", Close: "PeerClosed"},
		{Roles: []string{RoleConnect}, From: "Idle", On: "Close", Close: "Closed"},
		{Roles: []string{RoleConnect}, From: "Dialing", On: "Close", Close: "Closed"},
		{Roles: []string{RoleConnect}, From: "Backoff", On: "Close", Close: "Closed"},
		{From: "*", On: "Close", Close: "Closed"},
		{From: "*", Except: []string{"Accepted", "Ready"}, On: "HandshakeTimeout", Close: "HandshakeTimeout", Ref: refSecurity},

		// Liveness: a silent peer is dead; the connecting side reconnects.
		{From: "Ready", On: "HeartbeatTimeout", Close: "HeartbeatTimeout", Ref: refHeartbeat},
		{From: "*", On: "KeepaliveFailed", Close: "KeepaliveFailed"},
	},
	Timers: []Timer{
		{Name: "Handshake", Default: "30s", Fires: "HandshakeTimeout",
			Armed: []string{"Greeting"}, Disarmed: []string{"Ready", "Backoff", "Closed", "Stopped"},
			Doc: "Bounds the whole handshake, so a peer that connects and stays silent (or trickles bytes) cannot hold a slot. libzmq's ZMQ_HANDSHAKE_IVL."},
		{Name: "Heartbeat", Default: "off", Fires: "HeartbeatTimeout",
			Armed: []string{"Ready"}, Disarmed: []string{"Backoff", "Closed", "Stopped"},
			Doc: "Once ready, a PING (with our TTL) every heartbeat interval; the peer is dead when nothing at all arrives within the heartbeat timeout after a PING, or within the TTL its own PINGs asked for. Any frame counts as a sign of life. libzmq's ZMQ_HEARTBEAT_IVL, _TTL and _TIMEOUT; like libzmq's, the timers start after the handshake."},
		{Name: "ReadyGrace", Default: "200ms", Fires: "ReadyGraceElapsed",
			Armed: []string{"NullPeerFirst"}, Disarmed: []string{"NullReady", "Ready", "Backoff", "Stopped"},
			Doc: "How long the connecting side waits for the peer's READY before sending its own, so that a peer which waits for ours too still completes."},
		{Name: "Reconnect", Default: "100ms", Fires: "RetryElapsed",
			Armed: []string{"Backoff"}, Disarmed: []string{"Dialing", "Stopped"},
			Doc: "The wait before dialling again: libzmq's ZMQ_RECONNECT_IVL, doubled after each failure up to ZMQ_RECONNECT_IVL_MAX when set, with jitter."},
	},
	Commands: []Command{
		{Name: "Greeting", Ref: refGreeting, Doc: "Not a command: the 64 bytes each side sends first, in two parts: bytes 0–10, then the rest once the peer's first 11 bytes are good.",
			Fields: []Field{
				{Name: "signature", Size: "1", Doc: "0xFF"},
				{Name: "padding", Size: "8", Doc: "not interpreted; libzmq sends big-endian 1"},
				{Name: "signature", Size: "1", Doc: "0x7F"},
				{Name: "major", Size: "1", Doc: "3"},
				{Name: "minor", Size: "1", Doc: "1 (ZMTP 3.1); 0 from a ZMTP 3.0 peer"},
				{Name: "mechanism", Size: "20", Doc: "ASCII name, NUL-padded: NULL, PLAIN, …"},
				{Name: "as-server", Size: "1", Doc: "0 or 1; 0 for NULL"},
				{Name: "filler", Size: "31", Doc: "zeros"},
			}},
		{Name: "Frame header", Ref: refFraming, Doc: "Before every frame, command or message part.",
			Fields: []Field{
				{Name: "flags", Size: "1", Doc: "bit 0 MORE, bit 1 LONG, bit 2 COMMAND; bits 3–7 zero; a command never has MORE"},
				{Name: "size", Size: "1 or 8", Doc: "body length; 8 bytes big-endian when LONG is set. Checked against the maximum message size before anything is allocated"},
			}},
		{Name: "READY", Ref: refNull, Doc: "Closes the NULL handshake; carries the sender's metadata.",
			Fields: []Field{
				{Name: "name-len", Size: "1", Doc: "5"},
				{Name: "name", Size: "5", Doc: "\"READY\""},
				{Name: "metadata", Size: "n", Doc: "properties: name-len(1) name value-len(4, BE) value; `Socket-Type` always, `Identity` from REQ, DEALER and ROUTER; no trailing bytes"},
			}},
		{Name: "ERROR", Ref: refErrors, Doc: "Fatal: the sender closes the connection after it.",
			Fields: []Field{
				{Name: "name-len", Size: "1", Doc: "5"},
				{Name: "name", Size: "5", Doc: "\"ERROR\""},
				{Name: "reason-len", Size: "1", Doc: "0–255"},
				{Name: "reason", Size: "reason-len", Doc: "human-readable text"},
			}},
		{Name: "SUBSCRIBE / CANCEL", Ref: refSubscribe, Doc: "ZMTP 3.1 subscriptions; toward a 3.0 peer they are messages whose first byte is 1 or 0.",
			Fields: []Field{
				{Name: "name-len", Size: "1", Doc: "9 or 6"},
				{Name: "name", Size: "9 or 6", Doc: "\"SUBSCRIBE\" or \"CANCEL\""},
				{Name: "topic", Size: "n", Doc: "the prefix, possibly empty"},
			}},
		{Name: "PING / PONG", Ref: refHeartbeat, Doc: "Heartbeats; any traffic also counts as a sign of life.",
			Fields: []Field{
				{Name: "name-len", Size: "1", Doc: "4"},
				{Name: "name", Size: "4", Doc: "\"PING\" or \"PONG\""},
				{Name: "ttl", Size: "2", Doc: "PING only: deciseconds, big-endian"},
				{Name: "context", Size: "0–16", Doc: "PONG echoes the PING's context"},
			}},
		{Name: "HELLO (PLAIN)", Ref: refPlain, Doc: "PLAIN client's credentials, in clear. The server answers WELCOME, or ERROR with a ZAP status code.",
			Fields: []Field{
				{Name: "name", Size: "1+5", Doc: "\"HELLO\""},
				{Name: "username-len", Size: "1", Doc: "0–255"},
				{Name: "username", Size: "username-len", Doc: "the user name (our token tables use it as the key id)"},
				{Name: "password-len", Size: "1", Doc: "0–255; nothing may follow the password"},
				{Name: "password", Size: "password-len", Doc: "the password (the token)"},
			}},
		{Name: "WELCOME / INITIATE (PLAIN)", Ref: refPlain, Doc: "WELCOME has no body; INITIATE carries the client's metadata, and the server answers READY with its own.",
			Fields: []Field{
				{Name: "name", Size: "1+7 or 1+8", Doc: "\"WELCOME\" or \"INITIATE\""},
				{Name: "metadata", Size: "n", Doc: "INITIATE only: as in READY"},
			}},
		{Name: "SALTREQUEST (TOKEN-HMAC)", Ref: refToken, Doc: "The client's first command: which token it will prove, and its own nonce.",
			Fields: []Field{
				{Name: "name", Size: "1+11", Doc: "\"SALTREQUEST\""},
				{Name: "version", Size: "1", Doc: "1"},
				{Name: "keyid-len", Size: "1", Doc: "0–255"},
				{Name: "keyid", Size: "keyid-len", Doc: "names the token, so a server can hold several and rotate them"},
				{Name: "client-nonce", Size: "32", Doc: "from crypto/rand; nothing may follow"},
			}},
		{Name: "SALT (TOKEN-HMAC)", Ref: refToken, Doc: "The server's answer: a salt drawn fresh from crypto/rand for this connection, so no earlier proof can match.",
			Fields: []Field{
				{Name: "name", Size: "1+4", Doc: "\"SALT\""},
				{Name: "server-salt", Size: "32", Doc: "nothing may follow"},
			}},
		{Name: "CLIENTPROOF / SERVERPROOF (TOKEN-HMAC)", Ref: refToken, Doc: "Each side's proof that it holds the token, with its metadata. Every field of the MAC input is prefixed by its length (4 bytes, big-endian). The client's MAC is HMAC-SHA-256(token; \"ZMTP TOKEN-HMAC v1 client proof\", client greeting (64), server greeting (64), key id, client nonce, server salt, client metadata). The server's MAC uses the label \"… server proof\" over the same transcript, then the client's MAC, then the server's metadata. The metadata carries Socket-Type, so both socket types are covered.",
			Fields: []Field{
				{Name: "name", Size: "1+11", Doc: "\"CLIENTPROOF\" or \"SERVERPROOF\""},
				{Name: "mac", Size: "32", Doc: "HMAC-SHA-256, compared in constant time"},
				{Name: "metadata", Size: "n", Doc: "as in READY"},
			}},
	},
	Sections: []Section{
		{Title: "TOKEN-HMAC: what it stops and what it does not", Text: "TOKEN-HMAC is this project's mechanism for peers that share a token. " +
			"The token never crosses the wire, so sniffing a handshake does not reveal it (PLAIN sends it in clear). " +
			"A captured CLIENTPROOF cannot be replayed: the server draws a fresh 32-byte salt for every connection, and the proof covers it, both nonces and both greetings. " +
			"A server that does not hold the token cannot produce SERVERPROOF, so the client finds an impostor before it sends a single message; the labels keep one side's proof from being reflected as the other's. " +
			"Proofs are compared in constant time, key ids let a server hold several tokens and rotate them, and an unknown key id, a wrong proof or a refusal by the authenticator closes the connection with ERROR \"400\" and reason AuthFailed, after which the client does not reconnect. " +
			"What it does not do: traffic after the handshake is neither encrypted nor authenticated, so an attacker on the path can read it, and can hijack or inject into the TCP stream after the handshake; use CURVE (or a VPN or TLS tunnel) for that. " +
			"An attacker who steals the token from either host can impersonate both sides. A weak token can be guessed offline from a captured handshake, or by an impostor server, which receives the client's proof before it must prove anything itself, so tokens must be random and at least 16 bytes (128 bits), which the API enforces. " +
			"The metadata (socket type, identity) is authenticated but not secret. Key ids are not secret either: an unknown key id is refused right after SALTREQUEST, before any salt, so a peer can learn which key ids exist. " +
			"libzmq does not know the mechanism: a libzmq peer fails at once with a mechanism mismatch."},
	},
}
