package gen

import (
	"fmt"
	"strings"

	"github.com/zmtpgo/zmtp/spec"
)

// edge is one arrow of a Mermaid state diagram.
type edge struct {
	from, to, label string
}

// diagram collects the nodes and edges of one role's diagram. Edges with the
// same source, target and label are drawn once.
type diagram struct {
	choices []string // choice node ids, in creation order
	ids     map[string]bool
	edges   []edge
	seen    map[edge]bool
	// merged groups mergeable arms by (source, target, actions); each
	// group's label is written into edges[at] once all arms are seen.
	merged map[edge]*group
	groups []*group
}

type group struct {
	at     int
	do     []string
	events []string
}

func (d *diagram) add(e edge) {
	if !d.seen[e] {
		d.seen[e] = true
		d.edges = append(d.edges, e)
	}
}

// choice returns a new choice node id built from parts, unique within the
// diagram and distinct from every state name (state names never start with
// a lower-case letter).
func (d *diagram) choice(parts ...string) string {
	id := "ck_" + strings.Join(parts, "_")
	for n := 2; d.ids[id]; n++ {
		id = fmt.Sprintf("ck_%s_%d", strings.Join(parts, "_"), n)
	}
	d.ids[id] = true
	d.choices = append(d.choices, id)
	return id
}

// mermaidLabel makes s safe as the text of a Mermaid transition: ':' would
// start another description, ';' ends a statement, '#' starts an entity
// code, and quotes confuse the lexer. Each becomes a space.
func mermaidLabel(s string) string {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ':', ';', '#', '"', '\'', '`', '\n', '\r', '\t', '{', '}', '<', '>':
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// label joins a trigger and the effects that follow it as "trigger / a, b".
func label(trigger string, effects ...string) string {
	var fx []string
	for _, e := range effects {
		if e != "" {
			fx = append(fx, e)
		}
	}
	if len(fx) == 0 {
		return mermaidLabel(trigger)
	}
	return mermaidLabel(trigger + " / " + strings.Join(fx, ", "))
}

// trigger is the event that takes arm, with its When guard in brackets; an
// arm without a guard after guarded arms of the same cell is the "else".
func trigger(x *spec.Expanded, a spec.Arm) string {
	if a.When != "" {
		return a.On + " [" + a.When + "]"
	}
	if cell := x.Cell(a.Role, a.From, a.On); len(cell) > 1 {
		return a.On + " [else]"
	}
	return a.On
}

// mergeable tells whether an arm may share one edge with the other arms of
// the same source and target, labelled with their event names only: it asks
// no guard, and it is a wildcard arm (the way out of every live state) or a
// plain close for the reason named like its event, so the names alone tell
// what happens. The transition table has the details.
func mergeable(a spec.Arm) bool {
	if a.When != "" || len(a.Check) > 0 {
		return false
	}
	return a.Wildcard || (a.Close == a.On && len(a.Do) == 0)
}

// mermaid writes role's stateDiagram-v2: the states it can reach in spec
// order, one edge per arm, checks drawn as a chain of choice nodes.
func mermaid(b *strings.Builder, x *spec.Expanded, r spec.Role) {
	reach := x.Reachable(r.Name)
	d := &diagram{ids: map[string]bool{}, seen: map[edge]bool{}, merged: map[edge]*group{}}
	for _, a := range x.Arms[r.Name] {
		switch {
		case mergeable(a):
			key := edge{a.From, a.To, strings.Join(a.Do, ",")}
			g := d.merged[key]
			if g == nil {
				// Labelled below, once the group's events are known.
				g = &group{at: len(d.edges), do: a.Do}
				d.edges = append(d.edges, edge{from: a.From, to: a.To})
				d.merged[key] = g
				d.groups = append(d.groups, g)
			}
			g.events = append(g.events, a.On)
		case len(a.Check) == 0:
			d.add(edge{a.From, a.To, label(trigger(x, a), append(a.Do[:len(a.Do):len(a.Do)], a.Close)...)})
		default:
			parts := []string{a.From, a.On}
			if a.When != "" {
				parts = append(parts, a.When)
			}
			prev, lbl := a.From, trigger(x, a)
			for i, c := range a.Check {
				id := d.choice(append(parts, fmt.Sprint(i+1))...)
				d.add(edge{prev, id, mermaidLabel(lbl)})
				d.add(edge{id, x.CloseTarget(r.Name, c.Reason), label("not "+c.Guard, append(c.Else[:len(c.Else):len(c.Else)], c.Reason)...)})
				prev, lbl = id, c.Guard
			}
			d.add(edge{prev, a.To, label(lbl, append(a.Do[:len(a.Do):len(a.Do)], a.Close)...)})
		}
	}
	for _, g := range d.groups {
		d.edges[g.at].label = label(strings.Join(g.events, ", "), g.do...)
	}

	b.WriteString("```mermaid\nstateDiagram-v2\n")
	var finals, ready []string
	for _, st := range x.States {
		if !reach[st.Name] {
			continue
		}
		fmt.Fprintf(b, "    %s\n", st.Name)
		if st.Final {
			finals = append(finals, st.Name)
		}
		if st.Ready {
			ready = append(ready, st.Name)
		}
	}
	for _, id := range d.choices {
		fmt.Fprintf(b, "    state %s <<choice>>\n", id)
	}
	fmt.Fprintf(b, "    [*] --> %s\n", r.Initial)
	for _, e := range d.edges {
		fmt.Fprintf(b, "    %s --> %s : %s\n", e.from, e.to, e.label)
	}
	for _, f := range finals {
		fmt.Fprintf(b, "    %s --> [*]\n", f)
	}
	if len(ready) > 0 {
		b.WriteString("    classDef ready font-weight:bold,stroke-width:3px\n")
		fmt.Fprintf(b, "    class %s ready\n", strings.Join(ready, ", "))
	}
	b.WriteString("```\n")
}
