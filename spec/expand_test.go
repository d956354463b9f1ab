package spec

import (
	"strings"
	"testing"
)

func TestHandshakeExpands(t *testing.T) {
	x, err := Expand(&Handshake)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Handshake.Roles {
		if len(x.Arms[r.Name]) == 0 {
			t.Errorf("role %s has no arms", r.Name)
		}
		reach := x.Reachable(r.Name)
		ready := false
		for st := range reach {
			if s, _ := Handshake.State(st); s.Ready {
				ready = true
			}
		}
		if !ready {
			t.Errorf("role %s cannot reach a ready state", r.Name)
		}
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	bad := Spec{
		Roles:       []Role{{Name: "R", Initial: "A", CloseTo: "Nowhere", FatalTo: "A"}},
		States:      []State{{Name: "A"}, {Name: "A"}},
		Events:      []Event{{Name: "go"}},
		Guards:      []Guard{{Name: "Unused"}},
		Transitions: []Transition{{From: "A", On: "Missing", To: "B", Close: "X"}},
	}
	_, err := Expand(&bad)
	if err == nil {
		t.Fatal("Expand accepted a broken spec")
	}
	for _, want := range []string{
		`state "A" declared twice`, `event name "go" is not a Go identifier`, `unknown state "Nowhere"`,
		`unknown event "Missing"`, `exactly one of To and Close`, `unknown target state "B"`,
		`unknown reason "X"`, `guard Unused is never used`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestUnreachableArmRejected(t *testing.T) {
	s := Spec{
		Roles:   []Role{{Name: "R", Initial: "A", CloseTo: "Z", FatalTo: "Z"}},
		States:  []State{{Name: "A"}, {Name: "B"}, {Name: "Z", Final: true}},
		Events:  []Event{{Name: "Go"}},
		Guards:  []Guard{{Name: "G"}},
		Reasons: []Reason{{Name: "Done"}},
		Transitions: []Transition{
			{From: "A", On: "Go", To: "B"},
			{From: "A", On: "Go", When: "G", To: "Z"},
			{From: "B", On: "Go", Close: "Done"},
		},
	}
	if _, err := Expand(&s); err == nil || !strings.Contains(err.Error(), "can never be taken") {
		t.Fatalf("want an unreachable-arm error, got %v", err)
	}
}
