package shell

import (
	"strings"
)

// Lexer states of the statement splitter.
const (
	lexNormal       = iota
	lexSingle       // inside '…' ('' is a quote; in E'…' a backslash escapes the next byte)
	lexDouble       // inside "…" ("" is a quote)
	lexDollar       // inside $tag$…$tag$
	lexLineComment  // after -- up to the end of the line
	lexBlockComment // inside /* … */ (nested, as in PostgreSQL and DuckDB)
)

// statement is one SQL statement of a script or of interactive input.
type statement struct {
	Text string // from the first significant byte (comments and blank lines before it are dropped), without the ';'
	Line int    // 1-based line of the input on which Text starts
}

// splitter splits SQL text into statements at semicolons that are outside quotes, dollar quotes and comments.
// It is incremental: interactive input and scripts are fed to it line by line (each line with its "\n"),
// which is what lets the shell recognise dot commands and know when to show the continuation prompt.
// A quote or comment opener never spans a line break, so the one byte of lookahead it needs is always
// inside the same feed.
type splitter struct {
	buf      []byte // text since the end of the previous statement
	state    int
	escapes  bool   // the current single-quoted string is an E'…' string
	tag      string // the dollar-quote delimiter, e.g. "$$" or "$body$"
	depth    int    // block comment nesting depth
	sigStart int    // offset in buf of the first byte outside whitespace and comments; -1 if none yet
	sigLine  int    // line of sigStart
	line     int    // line of the next byte fed
}

func newSplitter() *splitter {
	return &splitter{sigStart: -1, line: 1}
}

// pending reports whether an unfinished statement (or an open quote or block comment) is buffered, that is
// whether the next line continues it.
func (sp *splitter) pending() bool {
	return sp.sigStart >= 0 || sp.state == lexSingle || sp.state == lexDouble || sp.state == lexDollar ||
		sp.state == lexBlockComment
}

// reset discards the buffered input (Ctrl-C while typing).
func (sp *splitter) reset() {
	sp.buf = sp.buf[:0]
	sp.state = lexNormal
	sp.escapes = false
	sp.tag = ""
	sp.depth = 0
	sp.sigStart = -1
}

// skipLine accounts for a line that was consumed outside the splitter (a dot command).
func (sp *splitter) skipLine() {
	sp.reset()
	sp.line++
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 0x80 || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// dollarTag returns the dollar-quote delimiter starting at text[i] (a '$'), or "" if none starts there.
// "$1" (a parameter) and "$name" without a closing '$' are not delimiters.
func dollarTag(text string, i int) string {
	j := i + 1
	if j < len(text) && text[j] != '$' {
		c := text[j]
		if c >= '0' && c <= '9' || !isIdentByte(c) {
			return ""
		}
		for j < len(text) && isIdentByte(text[j]) {
			j++
		}
	}
	if j < len(text) && text[j] == '$' {
		return text[i : j+1]
	}
	return ""
}

// markSignificant records that the statement's text starts at the current end of buf.
func (sp *splitter) markSignificant() {
	if sp.sigStart < 0 {
		sp.sigStart = len(sp.buf)
		sp.sigLine = sp.line
	}
}

// feed consumes text and appends the statements it completes to out.
func (sp *splitter) feed(text string, out []statement) []statement {
	for i := 0; i < len(text); i++ {
		c := text[i]
		var next byte
		if i+1 < len(text) {
			next = text[i+1]
		}
		switch sp.state {
		case lexNormal:
			switch {
			case c == ';':
				out = sp.emit(out)
				continue
			case c == '-' && next == '-':
				sp.state = lexLineComment
				sp.buf = append(sp.buf, c, next)
				i++
				continue
			case c == '/' && next == '*':
				sp.state = lexBlockComment
				sp.depth = 1
				sp.buf = append(sp.buf, c, next)
				i++
				continue
			case isSpaceByte(c):
			default:
				sp.markSignificant()
				switch c {
				case '\'':
					// E'…' (escape string): the E must not end a longer identifier such as "name".
					n := len(sp.buf)
					sp.escapes = n > 0 && (sp.buf[n-1] == 'E' || sp.buf[n-1] == 'e') &&
						(n == 1 || !isIdentByte(sp.buf[n-2]))
					sp.state = lexSingle
				case '"':
					sp.state = lexDouble
				case '$':
					if n := len(sp.buf); n == 0 || !isIdentByte(sp.buf[n-1]) {
						if tag := dollarTag(text, i); tag != "" {
							sp.state = lexDollar
							sp.tag = tag
							sp.buf = append(sp.buf, tag...)
							i += len(tag) - 1
							continue
						}
					}
				}
			}
		case lexSingle:
			switch {
			case c == '\\' && sp.escapes && i+1 < len(text):
				sp.buf = append(sp.buf, c)
				i++
				c = text[i]
			case c == '\'' && next == '\'':
				sp.buf = append(sp.buf, c)
				i++
			case c == '\'':
				sp.state = lexNormal
			}
		case lexDouble:
			switch {
			case c == '"' && next == '"':
				sp.buf = append(sp.buf, c)
				i++
			case c == '"':
				sp.state = lexNormal
			}
		case lexDollar:
			if c == '$' && strings.HasPrefix(text[i:], sp.tag) {
				sp.buf = append(sp.buf, sp.tag...)
				i += len(sp.tag) - 1
				sp.state = lexNormal
				sp.tag = ""
				continue
			}
		case lexLineComment:
			if c == '\n' {
				sp.state = lexNormal
			}
		case lexBlockComment:
			switch {
			case c == '/' && next == '*':
				sp.depth++
				sp.buf = append(sp.buf, c, next)
				i++
				continue
			case c == '*' && next == '/':
				sp.depth--
				sp.buf = append(sp.buf, c, next)
				i++
				if sp.depth == 0 {
					sp.state = lexNormal
				}
				continue
			}
		}
		sp.buf = append(sp.buf, c)
		if c == '\n' {
			sp.line++
		}
	}
	return out
}

// emit ends the current statement at a top-level ';'. Empty statements (only blanks and comments) are dropped.
func (sp *splitter) emit(out []statement) []statement {
	if sp.sigStart >= 0 {
		text := strings.TrimRight(string(sp.buf[sp.sigStart:]), " \t\r\n\f\v")
		out = append(out, statement{Text: text, Line: sp.sigLine})
	}
	sp.buf = sp.buf[:0]
	sp.sigStart = -1
	return out
}

// flush returns the unterminated last statement, if it has any content, and clears the buffer.
func (sp *splitter) flush() (statement, bool) {
	var out []statement
	if sp.sigStart >= 0 {
		out = sp.emit(nil)
	}
	sp.reset()
	if len(out) == 0 {
		return statement{}, false
	}
	return out[0], true
}

// splitSQL splits a script without dot commands into statements; a trailing statement without ';' is included.
func splitSQL(script string) []statement {
	sp := newSplitter()
	out := sp.feed(script, nil)
	if st, ok := sp.flush(); ok {
		out = append(out, st)
	}
	return out
}

// scriptItem is a statement or a dot command of a script.
type scriptItem struct {
	statement
	Dot bool // Text is a dot command line
}

// isDotLine reports whether a line (outside any statement) is a dot command.
func isDotLine(line string) bool {
	return strings.HasPrefix(strings.TrimLeft(line, " \t"), ".")
}

// parseScript splits a script into statements and dot commands. A dot command is a line that starts with '.'
// where no statement is pending (as in the duckdb CLI); anything else is SQL.
func parseScript(script string) []scriptItem {
	var items []scriptItem
	sp := newSplitter()
	var stmts []statement
	for len(script) > 0 {
		line := script
		if i := strings.IndexByte(script, '\n'); i >= 0 {
			line = script[:i+1]
		}
		script = script[len(line):]
		if !sp.pending() && isDotLine(line) {
			text := strings.TrimSpace(line)
			items = append(items, scriptItem{statement: statement{Text: text, Line: sp.line}, Dot: true})
			sp.skipLine()
			continue
		}
		stmts = sp.feed(line, stmts[:0])
		for _, st := range stmts {
			items = append(items, scriptItem{statement: st})
		}
	}
	if st, ok := sp.flush(); ok {
		items = append(items, scriptItem{statement: st})
	}
	return items
}

// historyEntries turns the lines of one interactive input into history entries. The history file is
// line-based: a multi-line statement is saved as one line (lines trimmed and joined with a space) so that
// one Up-arrow recalls it, unless joining would change its meaning (a -- comment, or a line break inside a
// string literal); then each line is its own entry.
func historyEntries(lines []string) []string {
	sp := newSplitter()
	joinable := true
	var parts []string
	for _, l := range lines {
		sp.feed(l+"\n", nil)
		if strings.Contains(l, "--") || sp.state == lexSingle || sp.state == lexDouble || sp.state == lexDollar {
			joinable = false
		}
		if t := strings.TrimSpace(l); t != "" {
			parts = append(parts, t)
		}
	}
	if joinable && len(parts) > 0 {
		return []string{strings.Join(parts, " ")}
	}
	return parts
}

// Statements splits a script as the shell runs it: its SQL statements (text
// without the ';') and its dot command lines, each in order.
func Statements(script string) (sql, dots []string) {
	for _, it := range parseScript(script) {
		if it.Dot {
			dots = append(dots, it.Text)
		} else {
			sql = append(sql, it.Text)
		}
	}
	return sql, dots
}
