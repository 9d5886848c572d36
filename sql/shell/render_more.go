package shell

import (
	"bufio"
	"database/sql/driver"
	"encoding/csv"
	"strings"

	"github.com/eventlake/eventlake/internal/termtext"
)

// newResultWriter returns the writer for the session's mode and settings (.headers, .nullvalue, .width,
// .maxrows).
func (s *session) newResultWriter(w *bufio.Writer) resultWriter {
	null := func(def string) string {
		if s.nullSet {
			return s.nullValue
		}
		return def
	}
	switch s.mode {
	case "csv":
		return &csvWriter{w: csv.NewWriter(w), noHead: !s.headers, null: null("")}
	case "json":
		return &jsonWriter{w: w}
	case "jsonlines":
		return &jsonWriter{w: w, lines: true}
	case "line":
		return &lineWriter{w: w, null: null("NULL")}
	case "list":
		return &listWriter{w: w, sep: "|", noHead: !s.headers, null: null("")}
	case "tabs":
		return &listWriter{w: w, sep: "\t", noHead: !s.headers, null: null("")}
	case "markdown":
		return &markdownWriter{w: w, noHead: !s.headers, null: null("")}
	}
	return &tableWriter{w: w, maxRows: s.maxRows, width: s.termWidth(), null: null("NULL"), fixed: s.widths}
}

// ---- list, tabs ----

// listWriter writes values separated by sep, one row a line, with a header line (duckdb's .mode list and
// .mode tabs). Values are written exactly, as in csv: this is output for other programs.
type listWriter struct {
	w      *bufio.Writer
	sep    string
	noHead bool
	null   string
	types  []*typeInfo
}

func (l *listWriter) begin(cols []string, types []*typeInfo) error {
	l.types = types
	if l.noHead {
		return nil
	}
	_, err := l.w.WriteString(strings.Join(cols, l.sep) + "\n")
	return err
}

func (l *listWriter) row(vals []driver.Value) error {
	for i, v := range vals {
		if i > 0 {
			l.w.WriteString(l.sep)
		}
		s, ok := textValue(v, l.types[i])
		if !ok {
			s = l.null
		}
		l.w.WriteString(s)
	}
	return l.w.WriteByte('\n')
}

func (l *listWriter) end() error { return nil }

// ---- markdown ----

// markdownWriter writes a GitHub-flavoured Markdown table, streaming (cells are not padded to a common
// width, which Markdown does not need). Numeric columns are right-aligned. Control characters are escaped as
// in table mode and '|' as "\|", so that every row stays one table row.
type markdownWriter struct {
	w      *bufio.Writer
	noHead bool
	null   string
	types  []*typeInfo
}

func markdownCell(s string) string {
	return strings.ReplaceAll(termtext.Escape(s), "|", `\|`)
}

func (m *markdownWriter) begin(cols []string, types []*typeInfo) error {
	m.types = types
	var b strings.Builder
	if !m.noHead {
		b.WriteString("|")
		for _, c := range cols {
			b.WriteString(" " + markdownCell(c) + " |")
		}
		b.WriteString("\n")
	}
	b.WriteString("|")
	for _, t := range types {
		if t.numeric() {
			b.WriteString("--:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteString("\n")
	_, err := m.w.WriteString(b.String())
	return err
}

func (m *markdownWriter) row(vals []driver.Value) error {
	m.w.WriteString("|")
	for i, v := range vals {
		s, ok := textValue(v, m.types[i])
		if !ok {
			s = m.null
		}
		m.w.WriteString(" " + markdownCell(s) + " |")
	}
	return m.w.WriteByte('\n')
}

func (m *markdownWriter) end() error { return nil }
