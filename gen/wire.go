package gen

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/zmtpgo/zmtp/spec"
)

// wireLayout writes the "Wire layout" section: per command its doc, RFC
// reference, field table and a byte diagram.
func wireLayout(b *strings.Builder, x *spec.Expanded) {
	if len(x.Commands) == 0 {
		return
	}
	b.WriteString("\n## Wire layout\n")
	for _, c := range x.Commands {
		fmt.Fprintf(b, "\n### %s\n\n%s\n", c.Name, c.Doc)
		if c.Ref != "" {
			fmt.Fprintf(b, "\nRef: %s.\n", c.Ref)
		}
		if len(c.Fields) == 0 {
			continue
		}
		b.WriteString("\n")
		table(b, "Field", "Size (bytes)", "Meaning")
		for _, f := range c.Fields {
			row(b, f.Name, f.Size, f.Doc)
		}
		b.WriteString("\n```text\n")
		b.WriteString(byteDiagram(c.Fields))
		b.WriteString("```\n")
	}
}

// byteDiagram draws fields as a row of boxes holding each field's name and
// size, with the byte offset of each field above its left edge for as long
// as the sizes before it are plain numbers.
func byteDiagram(fields []spec.Field) string {
	widths := make([]int, len(fields))
	for i, f := range fields {
		widths[i] = max(len([]rune(f.Name)), len([]rune(f.Size))) + 2
	}
	var offsets, rule, names, sizes strings.Builder
	rule.WriteString("+")
	names.WriteString("|")
	sizes.WriteString("|")
	off, known := 0, true
	for i, f := range fields {
		pad := func(s string) string { return " " + s + strings.Repeat(" ", widths[i]-1-len([]rune(s))) }
		if known {
			o := strconv.Itoa(off)
			offsets.WriteString(o + strings.Repeat(" ", max(1, widths[i]+1-len(o))))
		}
		rule.WriteString(strings.Repeat("-", widths[i]) + "+")
		names.WriteString(pad(f.Name) + "|")
		sizes.WriteString(pad(f.Size) + "|")
		n, err := strconv.Atoi(f.Size)
		if err != nil {
			known = false
		}
		off += n
	}
	if known {
		offsets.WriteString(strconv.Itoa(off))
	}
	return strings.TrimRight(offsets.String(), " ") + "\n" + rule.String() + "\n" + names.String() + "\n" +
		sizes.String() + "\n" + rule.String() + "\n"
}
