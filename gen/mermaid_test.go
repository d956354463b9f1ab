package gen

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/zmtpgo/zmtp/spec"
)

// The rendering check is manual (see the comment atop markdown.go); this
// test keeps the diagrams within the subset of Mermaid syntax that was seen
// to render, so a regression shows without node or a browser.
var (
	identRe  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	choiceRe = regexp.MustCompile(`^state ([^ ]+) <<choice>>$`)
	edgeRe   = regexp.MustCompile(`^(\[\*\]|[^ ]+) --> (\[\*\]|[^ ]+)(?: : (.+))?$`)
)

// diagrams returns the body lines of each ```mermaid block of doc.
func diagrams(doc string) [][]string {
	var out [][]string
	var cur []string
	in := false
	for _, line := range strings.Split(doc, "\n") {
		switch {
		case line == "```mermaid":
			in, cur = true, nil
		case in && line == "```":
			in = false
			out = append(out, cur)
		case in:
			cur = append(cur, strings.TrimSpace(line))
		}
	}
	return out
}

// checkDiagram returns the problems of one stateDiagram-v2 body.
func checkDiagram(lines []string, states map[string]bool) []string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if len(lines) == 0 || lines[0] != "stateDiagram-v2" {
		return []string{"does not start with stateDiagram-v2"}
	}
	declared := map[string]string{} // id -> kind
	type e struct{ from, to, label string }
	var edges []e
	initial := 0
	for _, l := range lines[1:] {
		switch {
		case choiceRe.MatchString(l):
			id := choiceRe.FindStringSubmatch(l)[1]
			if !identRe.MatchString(id) {
				bad("choice id %q is not an identifier", id)
			}
			if _, dup := declared[id]; dup {
				bad("id %q declared twice", id)
			}
			if states[id] {
				bad("choice id %q is also a state name", id)
			}
			declared[id] = "choice"
		case edgeRe.MatchString(l):
			m := edgeRe.FindStringSubmatch(l)
			edges = append(edges, e{m[1], m[2], m[3]})
			if m[1] == "[*]" {
				initial++
			}
		case identRe.MatchString(l):
			if _, dup := declared[l]; dup {
				bad("id %q declared twice", l)
			}
			if !states[l] {
				bad("declares %q, which is not a spec state", l)
			}
			declared[l] = "state"
		case strings.HasPrefix(l, "classDef ") || strings.HasPrefix(l, "class "):
		default:
			bad("line %q is none of: state, choice, edge, class", l)
		}
	}
	if initial != 1 {
		bad("%d initial edges, want 1", initial)
	}
	seen := map[e]bool{}
	out, in := map[string]int{}, map[string]int{}
	for _, x := range edges {
		for _, n := range []string{x.from, x.to} {
			if _, ok := declared[n]; !ok && n != "[*]" {
				bad("edge %s --> %s uses undeclared node %q", x.from, x.to, n)
			}
		}
		if x.label == "" && x.from != "[*]" && x.to != "[*]" {
			bad("edge %s --> %s has no label", x.from, x.to)
		}
		if strings.ContainsAny(x.label, `:;#"'`+"`") {
			bad("label %q holds a character Mermaid would misread", x.label)
		}
		if seen[x] {
			bad("edge %s --> %s : %s drawn twice", x.from, x.to, x.label)
		}
		seen[x] = true
		out[x.from]++
		in[x.to]++
	}
	for id, kind := range declared {
		if kind == "choice" && (in[id] != 1 || out[id] != 2) {
			bad("choice %s has %d edges in and %d out, want 1 and 2", id, in[id], out[id])
		}
		if kind == "state" && in[id] == 0 {
			bad("state %s is declared but nothing enters it", id)
		}
	}
	return errs
}

func TestMermaidSyntax(t *testing.T) {
	for _, s := range []*spec.Spec{&tiny, &spec.Handshake} {
		doc, err := Markdown(s)
		if err != nil {
			t.Fatal(err)
		}
		states := map[string]bool{}
		for _, st := range s.States {
			states[st.Name] = true
		}
		ds := diagrams(string(doc))
		if len(ds) != len(s.Roles) {
			t.Fatalf("%s: %d diagrams, want one per role (%d)", s.Name, len(ds), len(s.Roles))
		}
		for i, d := range ds {
			for _, e := range checkDiagram(d, states) {
				t.Errorf("%s, %s diagram: %s", s.Name, s.Roles[i].Name, e)
			}
		}
	}
}

// TestMermaidCheckerCatches feeds the checker broken diagrams, so a
// checker that accepts everything cannot pass TestMermaidSyntax.
func TestMermaidCheckerCatches(t *testing.T) {
	states := map[string]bool{"A": true, "B": true}
	for _, tc := range []struct {
		name string
		body string
		want string
	}{
		{"undeclared", "stateDiagram-v2\nA\n[*] --> A\nA --> B : go", `undeclared node "B"`},
		{"colon in label", "stateDiagram-v2\nA\nB\n[*] --> A\nA --> B : go: now", "misread"},
		{"duplicate choice", "stateDiagram-v2\nA\nstate c <<choice>>\nstate c <<choice>>\n[*] --> A", "declared twice"},
		{"choice named like a state", "stateDiagram-v2\nA\nB\nstate B <<choice>>\n[*] --> A", "also a state name"},
		{"dangling choice", "stateDiagram-v2\nA\nstate c <<choice>>\n[*] --> A\nA --> c : go", "want 1 and 2"},
		{"unknown line", "stateDiagram-v2\nA\n[*] --> A\nA -> A", "none of"},
		{"duplicate edge", "stateDiagram-v2\nA\nB\n[*] --> A\nA --> B : go\nA --> B : go", "drawn twice"},
	} {
		errs := strings.Join(checkDiagram(strings.Split(tc.body, "\n"), states), "\n")
		if !strings.Contains(errs, tc.want) {
			t.Errorf("%s: checker said %q, want a problem containing %q", tc.name, errs, tc.want)
		}
	}
}
