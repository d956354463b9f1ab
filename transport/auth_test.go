package transport

import "testing"

// TestDropAuthClearsPassword: the PLAIN password copied from a HELLO is
// wiped when the handshake state is dropped, even if the credentials were
// never checked (a HELLO refused as out of place).
func TestDropAuthClearsPassword(t *testing.T) {
	e := &engine{}
	e.attach(nil)
	pw := Secret("hunter2-hunter2")
	e.auth.username, e.auth.password = "u", pw
	e.dropAuth()
	if e.auth != nil {
		t.Fatal("dropAuth left the state in place")
	}
	for i, b := range pw {
		if b != 0 {
			t.Fatalf("password byte %d is %q after dropAuth", i, b)
		}
	}
}
