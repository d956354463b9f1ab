package gen

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/zmtpgo/zmtp/spec"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.txtar from the generators' output")

const goldenPath = "testdata/golden.txtar"

// goldenFiles are the generators' outputs for the tiny spec, by the name
// they have in the golden archive.
func goldenFiles(t *testing.T) []txtar.File {
	t.Helper()
	src, err := GoCode(&tiny, "fsm")
	if err != nil {
		t.Fatalf("GoCode(tiny): %v", err)
	}
	doc, err := Markdown(&tiny)
	if err != nil {
		t.Fatalf("Markdown(tiny): %v", err)
	}
	return []txtar.File{{Name: "fsm_gen.go", Data: src}, {Name: "tiny.md", Data: doc}}
}

// TestGolden pins the Go and Markdown output for the tiny spec. Run
// go test ./gen -update after an intended change and review the diff.
func TestGolden(t *testing.T) {
	got := goldenFiles(t)
	if *update {
		a := &txtar.Archive{
			Comment: []byte("Golden output of gen.GoCode and gen.Markdown for the tiny spec in tiny_test.go.\n" +
				"Regenerate with: go test ./gen -run TestGolden -update\n"),
			Files: got,
		}
		if err := os.WriteFile(goldenPath, txtar.Format(a), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	a, err := txtar.ParseFile(goldenPath)
	if err != nil {
		t.Fatalf("%v (create it with go test ./gen -run TestGolden -update)", err)
	}
	want := map[string]string{}
	for _, f := range a.Files {
		want[f.Name] = string(f.Data)
	}
	if len(want) != len(got) {
		t.Errorf("golden archive holds %d files, the generators write %d", len(want), len(got))
	}
	for _, f := range got {
		t.Run(f.Name, func(t *testing.T) {
			w, ok := want[f.Name]
			if !ok {
				t.Fatalf("%s missing from %s; run go test ./gen -run TestGolden -update", f.Name, goldenPath)
			}
			if diff := cmp.Diff(w, string(f.Data)); diff != "" {
				t.Errorf("%s differs from %s (-want +got):\n%s\nIf the change is intended: go test ./gen -run TestGolden -update",
					f.Name, goldenPath, diff)
			}
		})
	}
}

// TestDeterministic generates each document twice: map iteration order
// must not leak into the output.
func TestDeterministic(t *testing.T) {
	for _, s := range []*spec.Spec{&tiny, &spec.Handshake} {
		for _, g := range []struct {
			name string
			f    func() ([]byte, error)
		}{
			{"GoCode", func() ([]byte, error) { return GoCode(s, "fsm") }},
			{"Markdown", func() ([]byte, error) { return Markdown(s) }},
		} {
			first, err := g.f()
			if err != nil {
				t.Fatal(err)
			}
			for range 5 {
				again, _ := g.f()
				if !bytes.Equal(first, again) {
					t.Fatalf("%s(%s) differs between runs:\n%s", g.name, s.Name, cmp.Diff(string(first), string(again)))
				}
			}
		}
	}
}

// TestGoCodeCompiles writes the tiny spec's machine, beside the
// hand-written machine.go and errors.go of package fsm, into a module of its
// own and runs go vet there: the generated code must type-check against
// the hand-written half for any valid spec, not only the handshake.
func TestGoCodeCompiles(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	if testing.Short() {
		t.Skip("builds a module; skipped with -short")
	}
	src, err := GoCode(&tiny, "fsm")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string][]byte{
		"go.mod":      []byte("module x\n\ngo 1.26\n"),
		"fsm_gen.go":  src,
		"use_test.go": []byte(tinyUse),
	}
	for _, name := range []string{"machine.go", "errors.go"} {
		b, err := os.ReadFile(filepath.Join("..", "fsm", name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(goBin, "vet", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOPROXY=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet on the generated tiny machine: %v\n%s", err, out)
	}
}

// tinyUse implements the tiny spec's Hooks and drives a machine, so vet
// type-checks the generated names against their use.
const tinyUse = `package fsm

import "testing"

type hooks struct{}

func (hooks) Known() bool { return true }
func (hooks) Roomy() bool { return true }
func (hooks) Fast() bool  { return false }
func (hooks) Send()       {}
func (hooks) Fail()       {}

func TestTiny(t *testing.T) {
	m := New(RoleServer, hooks{})
	if err := m.Fire(EventHi); err != nil || m.State() != StateUp || !m.State().Ready() {
		t.Fatal(err, m.State())
	}
	c := New(RoleClient, hooks{})
	_ = c.Fire(EventGo)
	if err := c.Fire(EventHi); err != ReasonBad || c.State() != StateDone {
		t.Fatal(err, c.State())
	}
}
`

func TestMermaidLabel(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Hi / Send", "Hi / Send"},
		{"a: b; c # d", "a b c d"},
		{`say "hi" 'there'`, "say hi there"},
		{"two\nlines", "two lines"},
		{"GreetingReceived [MechanismIsNull]", "GreetingReceived [MechanismIsNull]"},
		{"{x} <y>", "x y"},
	} {
		if diff := cmp.Diff(tc.want, mermaidLabel(tc.in)); diff != "" {
			t.Errorf("mermaidLabel(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestCellEscapes(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"a | b", `a \| b`},
		{"two\nlines", "two lines"},
		{"", ""},
	} {
		if diff := cmp.Diff(tc.want, cell(tc.in)); diff != "" {
			t.Errorf("cell(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestByteDiagram(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fields []spec.Field
		want   string
	}{
		{"fixed", []spec.Field{{Name: "a", Size: "1"}, {Name: "long-name", Size: "4"}},
			"0   1           5\n" +
				"+---+-----------+\n" +
				"| a | long-name |\n" +
				"| 1 | 4         |\n" +
				"+---+-----------+\n"},
		{"offsets stop at a variable size", []spec.Field{{Name: "len", Size: "1"}, {Name: "data", Size: "n"}, {Name: "tail", Size: "2"}},
			"0     1\n" +
				"+-----+------+------+\n" +
				"| len | data | tail |\n" +
				"| 1   | n    | 2    |\n" +
				"+-----+------+------+\n"},
	} {
		if diff := cmp.Diff(tc.want, byteDiagram(tc.fields)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

// TestMarkdownSections checks the document's outline for the handshake:
// every section the readers and the other tests rely on, in order.
func TestMarkdownSections(t *testing.T) {
	doc, err := Markdown(&spec.Handshake)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "####") {
			got = append(got, line)
		}
	}
	want := []string{"# " + spec.Handshake.Name}
	for _, r := range spec.Handshake.Roles {
		want = append(want, "## "+r.Name+" role", "### "+r.Name+" transitions", "### "+r.Name+": handled and missing events")
	}
	want = append(want, "## States", "## Events", "## Guards", "## Actions", "## Close reasons", "## Timers", "## Wire layout")
	for _, c := range spec.Handshake.Commands {
		want = append(want, "### "+c.Name)
	}
	for _, sec := range spec.Handshake.Sections {
		want = append(want, "## "+sec.Title)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("headings (-want +got):\n%s", diff)
	}
	if !bytes.Contains(doc, []byte(MarkdownHeader)) {
		t.Errorf("document lacks %q", MarkdownHeader)
	}
}
