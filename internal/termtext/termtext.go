// Package termtext makes text from outside (object keys, file contents,
// error messages quoting them) safe to print on a terminal: control
// characters and invisible reordering characters are shown escaped, so a
// value cannot move the cursor, change colours or disguise what is around it.
package termtext

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Escape makes a value printable on one table line: newlines, carriage returns and tabs become \n, \r
// and \t, other control characters \xHH, invalid UTF-8 bytes U+FFFD. Characters that reorder or break the
// text on a terminal without being visible (bidirectional overrides, line and paragraph separators) become
// \uHHHH, so a value cannot disguise what is shown around it.
func Escape(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= utf8.RuneSelf {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, `\x%02X`, r)
		case r == 0x061c || r == 0x200e || r == 0x200f || (r >= 0x2028 && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069):
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Lines escapes control characters like Escape but keeps line breaks: for
// multi-line messages (DuckDB's "LINE n:" excerpts) shown on a terminal.
func Lines(msg string) string {
	lines := strings.Split(msg, "\n")
	for i, l := range lines {
		lines[i] = Escape(l)
	}
	return strings.Join(lines, "\n")
}
