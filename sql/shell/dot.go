package shell

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/eventlake/eventlake/internal/termtext"
)

// dotCommands are the dot commands with their help text, in .help order.
var dotCommands = []struct{ usage, help string }{
	{".tables [PATTERN]", "list tables and views (schema-qualified); PATTERN is a LIKE pattern (% and _)"},
	{".schema [NAME]", "show the columns and types of table or view NAME (schema.name allowed), or of all"},
	{".mode [MODE]", "set the output format: " + modeList + "; without MODE show it"},
	{".headers on|off", "header line in csv, list, tabs and markdown output"},
	{".nullvalue TEXT", "show NULL as TEXT in table, line, csv, list, tabs and markdown output"},
	{".maxrows [N]", "rows a table shows (first and last ones); 0 = all; without N show it"},
	{".width [N ...]", "fixed table column widths in cells, 0 = automatic; without N all automatic"},
	{".timer on|off", "print the run time of each statement"},
	{".output [FILE]", "write results to FILE; without FILE, back to the terminal"},
	{".once FILE", "write the next statement's result to FILE"},
	{".read FILE", "run the statements and dot commands of FILE; its first error stops it"},
	{".shell CMD ...", "run CMD with sh -c (.system too)"},
	{".show", "show the current settings"},
	{".databases", "list the attached databases"},
	{".help", "show this help"},
	{".quit, .exit [CODE]", "leave the shell (Ctrl-D too), with exit status CODE"},
}

func knownDotCommands() string {
	return strings.Join(dotCommandNames(), ", ")
}

// splitArgs splits a dot command line into words; '…' and "…" quote a word with spaces.
func splitArgs(line string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range line {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote = r
			inWord = true
		case r == ' ' || r == '\t':
			if inWord {
				args = append(args, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote in %q", quote, line)
	}
	if inWord {
		args = append(args, cur.String())
	}
	return args, nil
}

// dot runs a dot command; quit reports .quit / .exit.
func (s *session) dot(ctx context.Context, line string) (quit bool, err error) {
	args, err := splitArgs(line)
	if err != nil {
		return false, err
	}
	if len(args) == 0 {
		return false, nil
	}
	cmd, args := strings.ToLower(args[0]), args[1:]
	usage := func() error {
		for _, c := range dotCommands {
			if strings.HasPrefix(c.usage, cmd+" ") || c.usage == cmd {
				return fmt.Errorf("usage: %s", c.usage)
			}
		}
		return fmt.Errorf("usage of %s", cmd)
	}
	if handled, quit, err := s.dotMore(ctx, cmd, args); handled {
		return quit, err
	}
	switch cmd {
	case ".help":
		if err := s.flush(); err != nil {
			return false, err
		}
		for _, c := range dotCommands {
			fmt.Fprintf(s.stdout, "%-20s %s\n", c.usage, c.help)
		}
		fmt.Fprintln(s.stdout, "Statements end with ';'. Ctrl-C cancels the running statement or clears the input.")
	case ".mode":
		if len(args) == 0 {
			fmt.Fprintln(s.stdout, s.mode)
			return false, nil
		}
		if len(args) > 1 {
			return false, usage()
		}
		m, err := normalizeMode(args[0], false)
		if err != nil {
			return false, err
		}
		s.mode = m
	case ".timer":
		if len(args) != 1 {
			return false, usage()
		}
		switch strings.ToLower(args[0]) {
		case "on", "true", "1", "yes":
			s.timer = true
		case "off", "false", "0", "no":
			s.timer = false
		default:
			return false, fmt.Errorf(".timer %s: want on or off", args[0])
		}
	case ".output":
		if len(args) > 1 {
			return false, usage()
		}
		path := ""
		if len(args) == 1 {
			path = args[0]
		}
		return false, s.setOutput(path)
	case ".tables":
		if len(args) > 1 {
			return false, usage()
		}
		pattern := ""
		if len(args) == 1 {
			pattern = args[0]
		}
		return false, s.listTables(ctx, pattern)
	case ".schema":
		if len(args) > 1 {
			return false, usage()
		}
		name := ""
		if len(args) == 1 {
			name = args[0]
		}
		return false, s.showSchema(ctx, name)
	default:
		return false, fmt.Errorf("unknown command %s: known commands are %s", args0(line), knownDotCommands())
	}
	return false, nil
}

func args0(line string) string {
	f := strings.Fields(line)
	if len(f) == 0 {
		return line
	}
	return f[0]
}

// relation is a user table or view.
type relation struct {
	db, schema, name string
	view             bool
}

// qualified is the name to show: schema.name, prefixed by the database when it is not the current one.
func (r relation) qualified(currentDB string) string {
	s := quoteIdentIfNeeded(r.schema) + "." + quoteIdentIfNeeded(r.name)
	if r.db != currentDB {
		s = quoteIdentIfNeeded(r.db) + "." + s
	}
	return s
}

// relations lists the tables and views that are not DuckDB internals (information_schema, pg_catalog, …).
func (s *session) relations(ctx context.Context) (current string, rels []relation, err error) {
	if s.before != nil {
		if err := s.before(ctx, s.conn); err != nil {
			return "", nil, err
		}
	}
	if err := s.conn.QueryRowContext(ctx, "SELECT current_database()").Scan(&current); err != nil {
		return "", nil, err
	}
	rows, err := s.conn.QueryContext(ctx, `
		SELECT database_name, schema_name, table_name, false FROM duckdb_tables() WHERE NOT internal
		UNION ALL
		SELECT database_name, schema_name, view_name, true FROM duckdb_views() WHERE NOT internal
		ORDER BY 1, 2, 3`)
	if err != nil {
		return "", nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var r relation
		if err := rows.Scan(&r.db, &r.schema, &r.name, &r.view); err != nil {
			return "", nil, err
		}
		rels = append(rels, r)
	}
	return current, rels, rows.Err()
}

// likePattern compiles a SQL LIKE pattern (% any run, _ one character), case-insensitively.
func likePattern(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("(?is)^")
	for _, r := range p {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// listTables prints the schema-qualified names of tables and views in columns, like the duckdb CLI.
func (s *session) listTables(ctx context.Context, pattern string) error {
	current, rels, err := s.relations(ctx)
	if err != nil {
		return err
	}
	var re *regexp.Regexp
	if pattern != "" {
		re = likePattern(pattern)
	}
	// Sorted by the names themselves, not by their quoted forms ("order" among the o's).
	slices.SortStableFunc(rels, func(a, b relation) int {
		return strings.Compare(a.db+"\x00"+a.schema+"\x00"+a.name, b.db+"\x00"+b.schema+"\x00"+b.name)
	})
	var names []string
	for _, r := range rels {
		q := r.qualified(current)
		if re == nil || re.MatchString(r.name) || re.MatchString(q) || re.MatchString(r.schema+"."+r.name) {
			names = append(names, q)
		}
	}
	w, err := s.writer()
	if err != nil {
		return err
	}
	width := s.termWidth()
	if width <= 0 {
		width = 80
	}
	writeColumns(w, names, width)
	return nil
}

// writeColumns lays names out column by column (top to bottom, then left to right) in at most width cells.
func writeColumns(w io.Writer, names []string, width int) {
	if len(names) == 0 {
		return
	}
	colW := 0
	for _, n := range names {
		colW = max(colW, displayWidth(n))
	}
	colW += 2
	ncols := max(1, (width+2)/colW)
	nrows := (len(names) + ncols - 1) / ncols
	ncols = (len(names) + nrows - 1) / nrows
	var b strings.Builder
	for r := 0; r < nrows; r++ {
		b.Reset()
		for c := 0; c < ncols; c++ {
			i := c*nrows + r
			if i >= len(names) {
				break
			}
			if c+1 < ncols && (c+1)*nrows+r < len(names) {
				b.WriteString(pad(names[i], colW, 'l'))
			} else {
				b.WriteString(names[i])
			}
		}
		fmt.Fprintln(w, b.String())
	}
}

// namePart is one dot-separated part of a name given to .schema; unquoted parts match case-insensitively.
type namePart struct {
	text   string
	quoted bool
}

// parseName splits a possibly qualified name (db.schema.name, "Quoted"."Parts") into its parts.
func parseName(name string) ([]namePart, error) {
	var parts []namePart
	var cur strings.Builder
	quoted, inQuote := false, false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case inQuote && c == '"' && i+1 < len(name) && name[i+1] == '"':
			cur.WriteByte('"')
			i++
		case c == '"':
			inQuote = !inQuote
			quoted = true
		case c == '.' && !inQuote:
			parts = append(parts, namePart{cur.String(), quoted})
			cur.Reset()
			quoted = false
		default:
			cur.WriteByte(c)
		}
	}
	if inQuote {
		return nil, fmt.Errorf("unterminated quote in name %s", name)
	}
	parts = append(parts, namePart{cur.String(), quoted})
	if len(parts) > 3 {
		return nil, fmt.Errorf("name %s has too many parts: want name, schema.name or database.schema.name", name)
	}
	for _, p := range parts {
		if p.text == "" && !p.quoted {
			return nil, fmt.Errorf("name %s has an empty part", name)
		}
	}
	return parts, nil
}

func (p namePart) matches(s string) bool {
	if p.quoted {
		return p.text == s
	}
	return strings.EqualFold(p.text, s)
}

// showSchema prints the columns and types of the relation called name, or of every relation.
func (s *session) showSchema(ctx context.Context, name string) error {
	current, rels, err := s.relations(ctx)
	if err != nil {
		return err
	}
	if name != "" {
		parts, err := parseName(name)
		if err != nil {
			return err
		}
		var matched []relation
		for _, r := range rels {
			fields := []string{r.db, r.schema, r.name}[3-len(parts):]
			ok := true
			for i, p := range parts {
				ok = ok && p.matches(fields[i])
			}
			if ok {
				matched = append(matched, r)
			}
		}
		if len(matched) == 0 {
			return fmt.Errorf("no table or view named %s (.tables lists them)", name)
		}
		rels = matched
	}
	w, err := s.writer()
	if err != nil {
		return err
	}
	for i, r := range rels {
		cols, err := s.columns(ctx, r)
		if err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprintln(w)
		}
		kind := "TABLE"
		if r.view {
			kind = "VIEW"
		}
		fmt.Fprintf(w, "%s %s\n", kind, r.qualified(current))
		nameW := 0
		for _, c := range cols {
			nameW = max(nameW, displayWidth(c[0]))
		}
		for _, c := range cols {
			fmt.Fprintf(w, "  %s  %s\n", pad(c[0], nameW, 'l'), c[1])
		}
	}
	return nil
}

// columns returns the (quoted if needed) column names and types of a relation, in order.
func (s *session) columns(ctx context.Context, r relation) ([][2]string, error) {
	rows, err := s.conn.QueryContext(ctx, `
		SELECT column_name, data_type FROM duckdb_columns()
		WHERE database_name = ? AND schema_name = ? AND table_name = ?
		ORDER BY column_index`, r.db, r.schema, r.name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, err
		}
		out = append(out, [2]string{termtext.Escape(quoteIdentIfNeeded(name)), typ})
	}
	return out, rows.Err()
}
