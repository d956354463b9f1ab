package spec

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// timerGaps walks, per role, every state a timer can still be running in
// (reachable from a state that arms it without entering one that disarms
// it) and reports each such live state that does not handle the event the
// timer fires: an expiry there would reach the machine as an unhandled
// event, a gap the handled/missing matrix alone does not point at.
func timerGaps(x *Expanded) []string {
	var gaps []string
	for _, r := range x.Roles {
		reach := x.Reachable(r.Name)
		for _, tm := range x.Timers {
			live := map[string]bool{}
			var queue []string
			for _, st := range tm.Armed {
				if reach[st] {
					live[st] = true
					queue = append(queue, st)
				}
			}
			for len(queue) > 0 {
				st := queue[0]
				queue = queue[1:]
				for _, a := range x.Arms[r.Name] {
					if a.From != st {
						continue
					}
					next := []string{a.To}
					for _, c := range a.Check {
						next = append(next, x.CloseTarget(r.Name, c.Reason))
					}
					for _, n := range next {
						if !live[n] && !slices.Contains(tm.Disarmed, n) {
							live[n] = true
							queue = append(queue, n)
						}
					}
				}
			}
			for _, st := range x.States {
				if live[st.Name] && !st.Final && len(x.Cell(r.Name, st.Name, tm.Fires)) == 0 {
					gaps = append(gaps, fmt.Sprintf("%s: timer %s fires %s in %s", r.Name, tm.Name, tm.Fires, st.Name))
				}
			}
		}
	}
	return gaps
}

func TestTimersFireWhereHandled(t *testing.T) {
	// A copy of the handshake whose handshake-timeout arm also skips
	// NullReady shows the check finds such a gap.
	forgetful := Handshake
	forgetful.Transitions = slices.Clone(Handshake.Transitions)
	for i, tr := range forgetful.Transitions {
		if tr.On == "HandshakeTimeout" && tr.From == "*" {
			forgetful.Transitions[i].Except = append(slices.Clone(tr.Except), "NullReady")
		}
	}
	for _, tc := range []struct {
		name string
		s    *Spec
		want []string
	}{
		{"handshake", &Handshake, nil},
		{"handshake without NullReady timeout", &forgetful, []string{
			"Connect: timer Handshake fires HandshakeTimeout in NullReady",
			"Accept: timer Handshake fires HandshakeTimeout in NullReady",
		}},
	} {
		x, err := Expand(tc.s)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.want, timerGaps(x)); diff != "" {
			t.Errorf("%s: timer gaps (-want +got):\n%s", tc.name, diff)
		}
	}
}
