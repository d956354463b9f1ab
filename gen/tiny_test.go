package gen

import "github.com/zmtpgo/zmtp/spec"

// tiny is the small spec the golden tests generate from. It lives in a test
// file rather than under testdata/ so that the compiler checks it; it has
// two roles, a chain of checks with an Else action, a When arm with its
// fallback, a wildcard, a timer and a command, and a '|' in docs that the
// Markdown tables must escape.
var tiny = spec.Spec{
	Name: "Tiny handshake",
	Doc:  "A two-role toy used to pin the generators' output.",
	Roles: []spec.Role{
		{Name: "Client", Initial: "Off", CloseTo: "Off", FatalTo: "Done", Doc: "Dials and says hello."},
		{Name: "Server", Initial: "Listen", CloseTo: "Done", FatalTo: "Done", Doc: "Answers one client."},
	},
	States: []spec.State{
		{Name: "Off", Doc: "Client before it dials."},
		{Name: "Listen", Conn: true, Doc: "Server waiting for a hello."},
		{Name: "Hello", Conn: true, Doc: "Client sent hello; waiting for the answer."},
		{Name: "Up", Conn: true, Ready: true, Doc: "Messages flow | both ways."},
		{Name: "Done", Final: true, Doc: "Over for good."},
	},
	Events: []spec.Event{
		{Name: "Go", Doc: "Start dialling."},
		{Name: "Hi", Doc: "A hello arrived."},
		{Name: "Drop", Doc: "The link died."},
		{Name: "Tick", Doc: "The hello timer fired."},
	},
	Guards: []spec.Guard{
		{Name: "Known", Doc: "The peer is on the list."},
		{Name: "Roomy", Doc: "There is room for one more."},
		{Name: "Fast", Doc: "The peer answered quickly."},
	},
	Actions: []spec.Action{
		{Name: "Send", Doc: "Queue a hello."},
		{Name: "Fail", Doc: "Queue a refusal."},
	},
	Reasons: []spec.Reason{
		{Name: "Bye", Doc: "The link went away."},
		{Name: "Bad", Fatal: true, Doc: "The peer is not welcome."},
	},
	Transitions: []spec.Transition{
		{Roles: []string{"Client"}, From: "Off", On: "Go", Do: []string{"Send"}, To: "Hello", Ref: "RFC 0 §Start"},
		{Roles: []string{"Client"}, From: "Hello", On: "Hi", When: "Fast", To: "Up"},
		{Roles: []string{"Client"}, From: "Hello", On: "Hi", Close: "Bad", Ref: "RFC 0 §Slow | late"},
		{Roles: []string{"Client"}, From: "Hello", On: "Tick", Close: "Bye"},
		{Roles: []string{"Server"}, From: "Listen", On: "Hi",
			Checks: []spec.Check{{Guard: "Known", Reason: "Bad", Else: []string{"Fail"}}, {Guard: "Roomy", Reason: "Bye"}},
			Do:     []string{"Send"}, To: "Up", Ref: "RFC 0 §Hello"},
		{From: "*", On: "Drop", Close: "Bye"},
	},
	Timers: []spec.Timer{
		{Name: "HelloWait", Default: "1s", Fires: "Tick", Armed: []string{"Hello"}, Disarmed: []string{"Up", "Off", "Done"},
			Doc: "Bounds the wait for a hello."},
	},
	Commands: []spec.Command{
		{Name: "HELLO", Ref: "RFC 0 §Hello", Doc: "Says hello.",
			Fields: []spec.Field{
				{Name: "name-len", Size: "1", Doc: "5"},
				{Name: "name", Size: "5", Doc: `"HELLO"`},
				{Name: "body", Size: "n", Doc: "anything | nothing"},
			}},
	},
}
