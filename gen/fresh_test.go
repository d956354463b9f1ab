package gen

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/zmtpgo/zmtp/spec"
)

// TestGeneratedFilesFresh regenerates the committed outputs in memory from
// spec.Handshake and fails when a committed copy differs: someone changed
// the spec or the generator and did not run go generate ./... (or edited a
// generated file by hand).
func TestGeneratedFilesFresh(t *testing.T) {
	for _, tc := range []struct {
		path string
		gen  func() ([]byte, error)
	}{
		{"../fsm/fsm_gen.go", func() ([]byte, error) { return GoCode(&spec.Handshake, "fsm") }},
		{"../docs/handshake.md", func() ([]byte, error) { return Markdown(&spec.Handshake) }},
	} {
		t.Run(strings.TrimPrefix(tc.path, "../"), func(t *testing.T) {
			want, err := tc.gen()
			if err != nil {
				t.Fatalf("generating %s: %v", tc.path, err)
			}
			got, err := os.ReadFile(tc.path)
			if err != nil {
				t.Fatalf("%v: run go generate ./... from the module root", err)
			}
			if string(got) != string(want) {
				diff := cmp.Diff(string(want), string(got))
				if len(diff) > 4000 {
					diff = diff[:4000] + "\n…"
				}
				t.Errorf("%s is stale: run go generate ./... from the module root.\n(-generated +committed):\n%s",
					strings.TrimPrefix(tc.path, "../"), diff)
			}
		})
	}
}
