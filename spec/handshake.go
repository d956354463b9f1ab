package spec

// Section references into the ZMTP RFCs, cited by transitions and commands.
const (
	refGreeting  = "RFC 37 §Version Negotiation"
	refMechanism = "RFC 37 §Authentication and Confidentiality"
	refNull      = "RFC 37 §The NULL Security Mechanism"
	refMetadata  = "RFC 37 §Connection Metadata"
	refSemantics = "RFC 37 §Socket Semantics"
	refErrors    = "RFC 37 §Error Handling"
	refFraming   = "RFC 37 §Framing"
	refSecurity  = "RFC 37 §Security Considerations"
	refHeartbeat = "RFC 37 §Connection Heartbeating"
	refSubscribe = "RFC 37 §Publish-Subscribe"
)

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
		"both sides then send their whole 64-byte greeting before reading the peer's (libzmq sends its greeting in " +
		"pieces and waits for ours), check the version and the mechanism, run the mechanism's commands, and " +
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
		{Name: "Greeting", Conn: true, Doc: "Our whole greeting is queued; waiting for the first 11 bytes of the peer's (signature and major version)."},
		{Name: "GreetingBody", Conn: true, Doc: "The peer's signature and version are good; waiting for the rest of its 64-byte greeting."},
		{Name: "NullReady", Conn: true, Doc: "NULL mechanism: our READY is queued; waiting for the peer's READY."},
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
		{Name: "ErrorReceived", Doc: "An ERROR command arrived."},
		{Name: "ProtocolViolation", Doc: "The peer sent bytes the codec rejects, or a command or message not valid in this state."},
		{Name: "FrameTooLarge", Doc: "A frame header declared a size above the maximum message size."},
		{Name: "PeerClosed", Doc: "The connection ended: EOF, reset, or a failed write."},
		{Name: "HandshakeTimeout", Doc: "The handshake timer fired before the handshake completed."},
		{Name: "Close", Doc: "The local socket closes, disconnects or unbinds this connection."},
	},
	Guards: []Guard{
		{Name: "ACLAllows", Doc: "The peer's address passes the accept-from lists (allow-all by default)."},
		{Name: "PeerLimitAllows", Doc: "Admitting the peer keeps the socket within its peer caps (total and per source address; unlimited by default)."},
		{Name: "SignatureValid", Doc: "Byte 0 is 0xFF and byte 9 has its low bit set: the peer speaks ZMTP 2.0 or later, not HTTP or noise."},
		{Name: "VersionSupported", Doc: "The peer's major version is 3 or more (ZMTP 1.0 and 2.0 are refused)."},
		{Name: "MechanismMatches", Doc: "The peer's mechanism name equals ours."},
		{Name: "MechanismIsNull", Doc: "The negotiated mechanism is NULL."},
		{Name: "SocketTypeCompatible", Doc: "The peer's Socket-Type is a valid partner of ours."},
		{Name: "IdentityValid", Doc: "The peer's Identity, if any, is at most 255 bytes and does not start with a zero byte."},
	},
	Actions: []Action{
		{Name: "StartDial", Doc: "Begin a TCP connect to the endpoint."},
		{Name: "SendGreeting", Doc: "Queue our whole 64-byte greeting; it is flushed before anything is read."},
		{Name: "SendReady", Doc: "Queue a READY command with our Socket-Type (and Identity where the socket type sends one)."},
		{Name: "SendError", Doc: "Queue an ERROR command whose reason says why we refuse the peer."},
		{Name: "HandshakeSucceeded", Doc: "Record the peer's metadata and report the handshake as succeeded."},
	},
	Reasons: []Reason{
		{Name: "ACLDenied", Doc: "The peer's address is not allowed by the accept-from lists."},
		{Name: "PeerLimit", Doc: "A peer cap (total or per source address) was reached."},
		{Name: "ConnectFailed", Doc: "The TCP connect failed."},
		{Name: "NotZMTP", Doc: "The peer's first bytes are not a ZMTP greeting (HTTP, noise).", Fatal: true},
		{Name: "UnsupportedVersion", Doc: "The peer speaks ZMTP 1.0 or 2.0.", Fatal: true},
		{Name: "MechanismMismatch", Doc: "The peer's security mechanism differs from ours.", Fatal: true},
		{Name: "SocketTypeMismatch", Doc: "The peer's socket type cannot talk to ours.", Fatal: true},
		{Name: "BadIdentity", Doc: "The peer's Identity is invalid.", Fatal: true},
		{Name: "ErrorReceived", Doc: "The peer sent ERROR; libzmq does not retry with the same settings.", Fatal: true},
		{Name: "ProtocolViolation", Doc: "The peer broke the protocol (malformed frame, command or metadata; a command out of place).", Fatal: true},
		{Name: "FrameTooLarge", Doc: "The peer declared a frame larger than the maximum message size.", Fatal: true},
		{Name: "PeerClosed", Doc: "The connection ended (EOF, reset, write failure)."},
		{Name: "HandshakeTimeout", Doc: "The handshake did not complete in time."},
		{Name: "Closed", Doc: "The local socket closed, disconnected or unbound the connection.", Fatal: true},
	},
	Transitions: []Transition{
		// Connect side: dial, and reconnect after a non-fatal close.
		{Roles: []string{RoleConnect}, From: "Idle", On: "Dial", Do: []string{"StartDial"}, To: "Dialing"},
		{Roles: []string{RoleConnect}, From: "Dialing", On: "Connected", Do: []string{"SendGreeting"}, To: "Greeting", Ref: refGreeting},
		{Roles: []string{RoleConnect}, From: "Dialing", On: "ConnectFailed", Close: "ConnectFailed"},
		{Roles: []string{RoleConnect}, From: "Backoff", On: "RetryElapsed", Do: []string{"StartDial"}, To: "Dialing"},

		// Accept side: the gate runs before anything is spent on the peer.
		{Roles: []string{RoleAccept}, From: "Accepted", On: "Start",
			Checks: []Check{{Guard: "ACLAllows", Reason: "ACLDenied"}, {Guard: "PeerLimitAllows", Reason: "PeerLimit"}},
			Do:     []string{"SendGreeting"}, To: "Greeting", Ref: refSecurity},

		// Greeting, read in two steps so a ZMTP 1.0/2.0 peer or an HTTP client
		// is refused after 11 bytes instead of waiting for 64 that never come.
		{From: "Greeting", On: "SignatureReceived",
			Checks: []Check{{Guard: "SignatureValid", Reason: "NotZMTP"}, {Guard: "VersionSupported", Reason: "UnsupportedVersion"}},
			To:     "GreetingBody", Ref: refGreeting},
		{From: "GreetingBody", On: "GreetingReceived", When: "MechanismIsNull",
			Checks: []Check{{Guard: "MechanismMatches", Reason: "MechanismMismatch"}},
			Do:     []string{"SendReady"}, To: "NullReady", Ref: refNull},
		{From: "GreetingBody", On: "GreetingReceived", Close: "MechanismMismatch", Ref: refMechanism},

		// NULL mechanism: READY both ways.
		{From: "NullReady", On: "ReadyReceived",
			Checks: []Check{
				{Guard: "SocketTypeCompatible", Reason: "SocketTypeMismatch", Else: []string{"SendError"}},
				{Guard: "IdentityValid", Reason: "BadIdentity", Else: []string{"SendError"}},
			},
			Do: []string{"HandshakeSucceeded"}, To: "Ready", Ref: refSemantics},

		// Every way out, from every live state that has no arm of its own.
		{From: "*", On: "ErrorReceived", Close: "ErrorReceived", Ref: refErrors},
		{From: "*", On: "ProtocolViolation", Close: "ProtocolViolation", Ref: refErrors},
		{From: "*", On: "FrameTooLarge", Close: "FrameTooLarge", Ref: refFraming},
		{From: "*", On: "PeerClosed", Close: "PeerClosed"},
		{Roles: []string{RoleConnect}, From: "Idle", On: "Close", Close: "Closed"},
		{Roles: []string{RoleConnect}, From: "Dialing", On: "Close", Close: "Closed"},
		{Roles: []string{RoleConnect}, From: "Backoff", On: "Close", Close: "Closed"},
		{From: "*", On: "Close", Close: "Closed"},
		{From: "Greeting", On: "HandshakeTimeout", Close: "HandshakeTimeout", Ref: refSecurity},
		{From: "GreetingBody", On: "HandshakeTimeout", Close: "HandshakeTimeout", Ref: refSecurity},
		{From: "NullReady", On: "HandshakeTimeout", Close: "HandshakeTimeout", Ref: refSecurity},
	},
	Timers: []Timer{
		{Name: "Handshake", Default: "30s", Fires: "HandshakeTimeout",
			Armed: []string{"Greeting"}, Disarmed: []string{"Ready", "Backoff", "Closed", "Stopped"},
			Doc: "Bounds the whole handshake, so a peer that connects and stays silent (or trickles bytes) cannot hold a slot. libzmq's ZMQ_HANDSHAKE_IVL."},
		{Name: "Reconnect", Default: "100ms", Fires: "RetryElapsed",
			Armed: []string{"Backoff"}, Disarmed: []string{"Dialing", "Stopped"},
			Doc: "The wait before dialling again: libzmq's ZMQ_RECONNECT_IVL, doubled after each failure up to ZMQ_RECONNECT_IVL_MAX when set, with jitter."},
	},
	Commands: []Command{
		{Name: "Greeting", Ref: refGreeting, Doc: "Not a command: the 64 bytes each side sends first, whole.",
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
	},
}
