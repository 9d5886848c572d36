// Package shell is eventlake's DuckDB SQL shell: the interactive read-eval-print loop (line editing, history,
// Ctrl-C cancels the running query) and the non-interactive runner behind `eventlake sql -c/-f`, with the
// table, csv, json, line and parquet output formats and duckdb-CLI-like dot commands.
//
// The package knows nothing about the lake: it is handed an open DuckDB connection on which the views were
// already created, and runs whatever SQL the user types on it.
package shell

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/eventlake/eventlake/internal/termtext"
)

// Options configures Run and Interactive.
type Options struct {
	// Conn is a dedicated DuckDB connection (so SET, USE and temp tables persist between statements). Every
	// statement runs on it; it must come from the "duckdb" driver.
	Conn *sql.Conn
	// In is the terminal for Interactive. When it is a terminal (*os.File), Interactive edits lines with
	// github.com/chzyer/readline; otherwise it reads statements line by line without prompts.
	In io.Reader
	// Out receives results (unless Output is set) and the interactive prompt; Err receives errors, "Interrupted"
	// and timer lines. Nil means discard.
	Out, Err io.Writer
	// Format is the output format: table (default; "box" is an alias), csv, json, line, or parquet (only with
	// Output: each SELECT is run as COPY (…) TO Output (FORMAT parquet, COMPRESSION zstd)).
	Format string
	// Output is a file results are written to instead of Out ("" = Out). It is created (truncated) at start.
	Output string
	// HistoryFile is the interactive history file: "" means ~/.eventlake_history, "-" disables the file (the
	// session still has in-memory history). A new file is created with mode 0600.
	HistoryFile string
	// Timer prints "Run Time: 0.012s" to Err after each statement.
	Timer bool
	// MaxRows is how many rows table mode shows before it keeps only the first and last ones with a
	// "… N more rows …" marker: 0 means 40 in Interactive and unlimited in Run; a negative value means unlimited.
	MaxRows int
	// Width returns the terminal width for table mode; nil or 0 means unlimited (no truncation).
	Width func() int
	// Banner is printed when an interactive session on a terminal starts.
	Banner string
	// BeforeStatement, when set, runs before each SQL statement and each dot
	// command that reads the database (the CLI
	// uses it to follow loads and compactions that committed meanwhile).
	// Its error is reported as the statement's.
	BeforeStatement func(ctx context.Context, conn *sql.Conn) error
	// BeforeSQL, when set, runs after BeforeStatement before each SQL
	// statement, with its text (the CLI fetches the files of a lake in a
	// bucket that the statement can read). Its error is the statement's.
	BeforeSQL func(ctx context.Context, conn *sql.Conn, text string) error
}

// Prompts of the interactive shell.
const (
	mainPrompt = "eventlake> "
	contPrompt = "      ...> "
)

const defaultInteractiveMaxRows = 40

// StatementError is the error Run returns when a statement or a dot command of the script fails.
type StatementError struct {
	Script    string // the script it is in when that is not the only one: "script 2" (Run), a .read file
	Index     int    // 1-based number of the SQL statement in the script; 0 for a dot command
	Line      int    // 1-based script line on which it starts
	Statement string // its first line, clipped
	Err       error  // the cause, e.g. a *duckdb.Error
}

func (e *StatementError) Error() string {
	if e.Script != "" {
		inner := *e
		inner.Script = ""
		return e.Script + ": " + inner.Error()
	}
	if e.Index == 0 {
		return fmt.Sprintf("line %d (%s): %v", e.Line, e.Statement, e.Err)
	}
	// DuckDB points at the error with "LINE n:" relative to the statement; make that a script line.
	return fmt.Sprintf("statement %d at line %d (%s): %s", e.Index, e.Line, e.Statement,
		relineMessage(e.Err.Error(), e.Line))
}

func (e *StatementError) Unwrap() error { return e.Err }

// ExitError is returned by Run and Interactive when a script or the user asked for a non-zero exit status
// (.exit CODE).
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// clipStatement returns the first line of a statement, at most 60 characters, with "…" when anything was cut.
func clipStatement(text string) string {
	const maxLen = 60
	first, rest, multi := strings.Cut(text, "\n")
	first = strings.TrimRight(first, " \t\r")
	clipped := multi && strings.TrimSpace(rest) != ""
	if utf8.RuneCountInString(first) > maxLen {
		first = string([]rune(first)[:maxLen])
		clipped = true
	}
	if clipped {
		first += "…"
	}
	return first
}

var duckLineRe = regexp.MustCompile(`^LINE (\d+): `)

// relineMessage rewrites DuckDB's "LINE n: …" excerpt (and the caret line under it) so that n counts from the
// script line the statement starts on.
func relineMessage(msg string, first int) string {
	if first <= 1 || !strings.Contains(msg, "LINE ") {
		return msg
	}
	lines := strings.Split(msg, "\n")
	for i, l := range lines {
		m := duckLineRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		n, err := strconv.Atoi(m[1])
		if err != nil {
			continue
		}
		prefix := fmt.Sprintf("LINE %d: ", first+n-1)
		lines[i] = prefix + l[len(m[0]):]
		if i+1 < len(lines) && strings.TrimLeft(lines[i+1], " ") == "^" {
			if delta := len(prefix) - len(m[0]); delta > 0 {
				lines[i+1] = strings.Repeat(" ", delta) + lines[i+1]
			}
		}
	}
	return strings.Join(lines, "\n")
}

// session is the state of one Run or Interactive call: the output format, destination and settings that dot
// commands change.
type session struct {
	conn      *sql.Conn
	stdout    io.Writer
	errw      io.Writer
	mode      string // table, csv, json, line, parquet
	outPath   string // .output / Options.Output; "" = stdout
	outFile   *os.File
	w         *bufio.Writer // buffered writer on the current destination; nil until first use
	timer     bool
	maxRows   int
	width     func() int
	stmts     int // statements run so far
	before    func(ctx context.Context, conn *sql.Conn) error
	beforeSQL func(ctx context.Context, conn *sql.Conn, text string) error
	parquetBy int // number of the statement whose result is in the parquet output file; 0: none yet

	exitCode  int    // the status .exit asked for
	headers   bool   // .headers: csv, list, tabs and markdown write a header line
	nullValue string // .nullvalue: how text modes show NULL, when nullSet
	nullSet   bool
	widths    []int // .width: fixed table column widths, 0 = automatic
	readDepth int   // nesting of .read

	oncePath string        // .once: the next statement's result goes to this file, then output reverts
	onceFile *os.File      // open .once file, nil until its first use
	onceW    *bufio.Writer // buffered writer on onceFile

	comp *completer // Tab completion on a terminal; nil otherwise
}

// modeList names the output modes of .mode (parquet is for Options.Format only).
const modeList = "table (or box, duckbox), csv, json, jsonlines (or ndjson), line, list, tabs, markdown"

// normalizeMode validates a format name.
func normalizeMode(m string, allowParquet bool) (string, error) {
	switch strings.ToLower(m) {
	case "", "table", "box", "duckbox":
		return "table", nil
	case "ndjson":
		return "jsonlines", nil
	case "csv", "json", "jsonlines", "line", "list", "tabs", "markdown":
		return strings.ToLower(m), nil
	case "parquet":
		if allowParquet {
			return "parquet", nil
		}
	}
	if allowParquet {
		return "", fmt.Errorf("unknown output format %q: want %s or parquet", m, modeList)
	}
	return "", fmt.Errorf("unknown mode %q: want %s", m, modeList)
}

func newSession(o Options, interactive bool) (*session, error) {
	if o.Conn == nil {
		return nil, errors.New("shell: Options.Conn is nil")
	}
	mode, err := normalizeMode(o.Format, true)
	if err != nil {
		return nil, err
	}
	if mode == "parquet" && o.Output == "" {
		return nil, errors.New("format parquet needs an output file (Options.Output): DuckDB writes the Parquet file itself")
	}
	loadKeywords(o.Conn)
	s := &session{
		conn:      o.Conn,
		stdout:    o.Out,
		errw:      o.Err,
		mode:      mode,
		outPath:   o.Output,
		timer:     o.Timer,
		maxRows:   o.MaxRows,
		width:     o.Width,
		before:    o.BeforeStatement,
		beforeSQL: o.BeforeSQL,
		headers:   true,
	}
	if s.stdout == nil {
		s.stdout = io.Discard
	}
	if s.errw == nil {
		s.errw = io.Discard
	}
	if s.maxRows == 0 {
		s.maxRows = -1
		if interactive {
			s.maxRows = defaultInteractiveMaxRows
		}
	}
	if s.outPath != "" && s.mode != "parquet" {
		if _, err := s.writer(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// writer returns the buffered writer for results, creating the output file on first use.
func (s *session) writer() (*bufio.Writer, error) {
	if s.oncePath != "" {
		if s.onceW == nil {
			f, err := os.Create(s.oncePath)
			if err != nil {
				s.oncePath = ""
				return nil, fmt.Errorf("opening output file: %w", err)
			}
			s.onceFile, s.onceW = f, bufio.NewWriterSize(f, 64<<10)
		}
		return s.onceW, nil
	}
	if s.w != nil {
		return s.w, nil
	}
	var dst io.Writer = s.stdout
	if s.outPath != "" {
		f, err := os.Create(s.outPath)
		if err != nil {
			return nil, fmt.Errorf("opening output file: %w", err)
		}
		s.outFile = f
		dst = f
	}
	s.w = bufio.NewWriterSize(dst, 64<<10)
	return s.w, nil
}

func (s *session) destName() string {
	if s.oncePath != "" {
		return s.oncePath
	}
	if s.outPath != "" {
		return s.outPath
	}
	return "the output"
}

// flush writes buffered results out; it is called after every statement so that output appears promptly.
func (s *session) flush() error {
	if s.onceW != nil {
		if err := s.onceW.Flush(); err != nil {
			return fmt.Errorf("writing results to %s: %w", s.oncePath, err)
		}
	}
	if s.w == nil {
		return nil
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("writing results to %s: %w", s.destName(), err)
	}
	return nil
}

// setOutput switches the result destination (.output): a file, or stdout for "".
func (s *session) setOutput(path string) error {
	if err := s.closeOutput(); err != nil {
		return err
	}
	s.outPath = path
	s.parquetBy = 0
	if path != "" && s.mode != "parquet" {
		if _, err := s.writer(); err != nil {
			s.outPath = "" // results keep going to stdout
			return err
		}
	}
	return nil
}

func (s *session) closeOutput() error {
	err := s.endOnce()
	if ferr := s.flush(); err == nil {
		err = ferr
	}
	s.w = nil
	if s.outFile != nil {
		if cerr := s.outFile.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing %s: %w", s.outPath, cerr)
		}
		s.outFile = nil
	}
	return err
}

// termWidth is the width tables are fitted to: the terminal's, or unlimited when results go to a file.
func (s *session) termWidth() int {
	if s.width == nil || s.outPath != "" || s.oncePath != "" {
		return 0
	}
	return max(s.width(), 0)
}

// Run executes a script (the -c text or the -f file's contents): SQL statements separated by ';' (split
// around quotes, dollar quotes and comments; a last statement without ';' runs too) and dot commands on lines
// of their own. Each result set is rendered in o.Format; statements without a result set (DDL, SET, INSERT
// without RETURNING, …) print nothing. The first error stops the script and is returned as a
// *StatementError naming the statement and its line; DuckDB's position excerpt is kept in the message.
// Several scripts (repeated -c) run in order in one session, settings carrying over; an error then also
// names its script ("script 2"). .exit CODE with a non-zero CODE ends it with an *ExitError.
func Run(ctx context.Context, o Options, scripts ...string) (err error) {
	s, err := newSession(o, false)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := s.closeOutput(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	for i, script := range scripts {
		quit, err := s.runLines(ctx, stringLines(script))
		if err != nil {
			var se *StatementError
			if len(scripts) > 1 && errors.As(err, &se) && se.Script == "" {
				se.Script = fmt.Sprintf("script %d", i+1)
			}
			return err
		}
		if quit {
			break
		}
	}
	return s.exitErr()
}

// exitErr is the result of a session that ended normally: nil, or the status .exit asked for.
func (s *session) exitErr() error {
	if s.exitCode != 0 {
		return &ExitError{Code: s.exitCode}
	}
	return nil
}

// stringLines returns the lines of a script one by one, without their newline, then io.EOF.
func stringLines(script string) func() (string, error) {
	return func() (string, error) {
		if script == "" {
			return "", io.EOF
		}
		line, rest, _ := strings.Cut(script, "\n")
		script = rest
		return strings.TrimSuffix(line, "\r"), nil
	}
}

// runLines runs a script read line by line: statements end with ';' (a last one without ';' runs at the end
// of the input), dot commands are lines of their own outside a statement. It is the one loop behind Run,
// .read and piped input, so they all behave alike: the first error stops the script and is returned as a
// *StatementError naming the statement (numbered from 1 in this script) and its line. quit reports .quit or
// .exit.
func (s *session) runLines(ctx context.Context, next func() (string, error)) (quit bool, err error) {
	sp := newSplitter()
	n := 0
	run := func(st statement) error {
		n++
		s.stmts++
		if err := s.exec(ctx, st.Text); err != nil {
			return &StatementError{Index: n, Line: st.Line, Statement: clipStatement(st.Text), Err: err}
		}
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		line, err := next()
		if err == io.EOF {
			if st, ok := sp.flush(); ok {
				return false, run(st)
			}
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if !sp.pending() && isDotLine(line) {
			text, at := strings.TrimSpace(line), sp.line
			sp.skipLine()
			quit, err := s.dot(ctx, text)
			if ferr := s.flush(); err == nil {
				err = ferr
			}
			if err != nil {
				var se *StatementError
				if errors.As(err, &se) { // from a .read file: it names its file, statement and line
					return false, err
				}
				return false, &StatementError{Line: at, Statement: clipStatement(text), Err: err}
			}
			if quit {
				return true, nil
			}
			continue
		}
		for _, st := range sp.feed(line+"\n", nil) {
			if err := run(st); err != nil {
				return false, err
			}
		}
	}
}

// exec runs one SQL statement and renders its result.
func (s *session) exec(ctx context.Context, text string) error {
	start := time.Now()
	if s.before != nil {
		if err := s.before(ctx, s.conn); err != nil {
			return err
		}
	}
	if s.beforeSQL != nil {
		if err := s.beforeSQL(ctx, s.conn, text); err != nil {
			return err
		}
	}
	err := s.conn.Raw(func(dc any) error {
		c, ok := dc.(*duckdb.Conn)
		if !ok {
			return fmt.Errorf("shell: Options.Conn is not a DuckDB connection (driver connection %T)", dc)
		}
		return s.query(ctx, c, text)
	})
	if err != nil {
		err = s.reservedHint(ctx, text, err)
	}
	if ferr := s.flush(); err == nil {
		err = ferr
	}
	if oerr := s.endOnce(); err == nil {
		err = oerr
	}
	if s.timer {
		fmt.Fprintf(s.errw, "Run Time: %.3fs\n", time.Since(start).Seconds())
	}
	return err
}

// query prepares the statement on the driver connection (the statement type tells result sets from status
// results), then runs it and renders the rows. Going below database/sql gives the column type names and the
// statement type; cancellation of ctx interrupts DuckDB (duckdb-go calls duckdb_interrupt).
func (s *session) query(ctx context.Context, c *duckdb.Conn, text string) error {
	ds, err := c.PrepareContext(ctx, text)
	if err != nil {
		return err
	}
	stmt, ok := ds.(*duckdb.Stmt)
	if !ok {
		ds.Close()
		return fmt.Errorf("shell: unexpected prepared statement type %T", ds)
	}
	typ, err := stmt.StatementType()
	if err != nil {
		stmt.Close()
		return err
	}
	if s.mode == "parquet" && typ == duckdb.STATEMENT_TYPE_SELECT {
		stmt.Close()
		return s.copyParquet(ctx, c, text)
	}
	var rawJSON []bool
	if typ == duckdb.STATEMENT_TYPE_SELECT {
		if wrapped, cols := rawJSONQuery(ctx, c, stmt, text); cols != nil {
			if ws, err := c.PrepareContext(ctx, wrapped); err == nil {
				if w, ok := ws.(*duckdb.Stmt); ok {
					stmt.Close()
					stmt, rawJSON = w, cols
				} else {
					ws.Close()
				}
			}
		}
	}
	defer stmt.Close()
	rows, err := stmt.QueryContext(ctx, nil)
	if err != nil {
		return err
	}
	defer rows.Close()
	return s.render(ctx, typ, rows, rawJSON)
}

// rawJSONQuery keeps JSON columns as the text DuckDB holds. duckdb-go decodes JSON values into Go maps, which
// loses the documents' key order and the precision of integers beyond 2^53; so a query whose result has
// top-level JSON columns is run as SELECT …, "col"::VARCHAR AS "col", … FROM (query), and the renderer embeds
// that text. It returns the wrapped query and which columns are JSON, or nil when the query has no JSON
// column or cannot be wrapped safely (duplicate column names); the caller then runs the query as is.
//
// The prepared-statement API does not expose type aliases (JSON is an alias of VARCHAR), so the JSON columns
// are found with DESCRIBE, which binds the query without running it; only queries with VARCHAR columns pay
// for it.
func rawJSONQuery(ctx context.Context, c *duckdb.Conn, stmt *duckdb.Stmt, text string) (string, []bool) {
	n, err := stmt.ColumnCount()
	if err != nil || n == 0 {
		return "", nil
	}
	names := make([]string, n)
	seen := make(map[string]bool, n)
	varchar := false
	for i := range names {
		name, err := stmt.ColumnName(i)
		key := strings.ToLower(name)
		if err != nil || name == "" || seen[key] {
			return "", nil
		}
		seen[key] = true
		names[i] = name
		if t, err := stmt.ColumnType(i); err == nil && t == duckdb.TYPE_VARCHAR {
			varchar = true
		}
	}
	if !varchar {
		return "", nil
	}
	rows, err := c.QueryContext(ctx, "DESCRIBE "+text+"\n", nil)
	if err != nil {
		return "", nil
	}
	defer rows.Close()
	cols := rows.Columns()
	if len(cols) < 2 || cols[0] != "column_name" || cols[1] != "column_type" {
		return "", nil
	}
	isJSON := make([]bool, 0, n)
	found := false
	vals := make([]driver.Value, len(cols))
	for rows.Next(vals) == nil {
		name, _ := vals[0].(string)
		typ, _ := vals[1].(string)
		if len(isJSON) >= n || name != names[len(isJSON)] {
			return "", nil
		}
		isJSON = append(isJSON, typ == "JSON")
		found = found || typ == "JSON"
	}
	if len(isJSON) != n || !found {
		return "", nil
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, name := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		q := `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
		b.WriteString(q)
		if isJSON[i] {
			b.WriteString("::VARCHAR AS " + q)
		}
	}
	// The query stays on the first line so that DuckDB's LINE numbers in run-time errors still match.
	b.WriteString(" FROM (" + text + "\n) AS eventlake_shell_query")
	return b.String(), isJSON
}

// copyParquet writes the result of a SELECT to the output file with DuckDB's own Parquet writer.
func (s *session) copyParquet(ctx context.Context, c *duckdb.Conn, text string) error {
	path := s.outPath
	if s.oncePath != "" {
		path = s.oncePath
	} else if s.parquetBy != 0 {
		return fmt.Errorf("%s already holds the result of statement %d: a Parquet file takes one query's result", s.outPath, s.parquetBy)
	}
	if path == "" {
		return errors.New("parquet output needs an output file")
	}
	// The newline before ')' ends a trailing -- comment of the statement.
	q := "COPY (" + text + "\n) TO " + sqlString(path) + " (FORMAT parquet, COMPRESSION zstd)"
	if _, err := c.ExecContext(ctx, q, nil); err != nil {
		// Some statements DuckDB plans as queries (PRAGMA, SHOW, …) are not accepted inside COPY (…).
		var de *duckdb.Error
		if errors.As(err, &de) && de.Type == duckdb.ErrorTypeParser {
			return fmt.Errorf("this statement cannot be written to Parquet: COPY (statement) TO … does not accept it: %w", err)
		}
		return err
	}
	if s.oncePath == "" {
		s.parquetBy = s.stmts
	}
	return nil
}

// sqlString quotes s as a SQL string literal.
func sqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// statusResult reports whether a result is DuckDB's status for a statement that produces no rows of its own:
// a single "Count" (INSERT, UPDATE, DELETE, CREATE, COPY, …) or "Success" (SET, ATTACH, …) column. Queries,
// and INSERT … RETURNING, have other columns.
func statusResult(typ duckdb.StmtType, cols, types []string) bool {
	switch typ {
	case duckdb.STATEMENT_TYPE_SELECT, duckdb.STATEMENT_TYPE_EXPLAIN, duckdb.STATEMENT_TYPE_PRAGMA,
		duckdb.STATEMENT_TYPE_CALL, duckdb.STATEMENT_TYPE_EXECUTE, duckdb.STATEMENT_TYPE_RELATION:
		return false
	}
	if len(cols) != 1 {
		return false
	}
	return cols[0] == "Count" && types[0] == "BIGINT" || cols[0] == "Success" && types[0] == "BOOLEAN"
}

// render writes a result set in the current mode.
// rawJSON marks the columns that hold JSON text (see rawJSONQuery).
func (s *session) render(ctx context.Context, typ duckdb.StmtType, rows driver.Rows, rawJSON []bool) error {
	cols := rows.Columns()
	if len(cols) == 0 {
		return nil
	}
	typeNames := make([]string, len(cols))
	if tn, ok := rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		for i := range cols {
			typeNames[i] = tn.ColumnTypeDatabaseTypeName(i)
		}
	}
	if statusResult(typ, cols, typeNames) {
		return nil
	}
	if s.mode == "parquet" {
		return errors.New("parquet output takes SELECT results only, and this statement is not a SELECT; run it with another format")
	}
	types := make([]*typeInfo, len(cols))
	for i, n := range typeNames {
		types[i] = parseType(n)
		if i < len(rawJSON) && rawJSON[i] {
			types[i] = rawJSONType
		}
	}
	w, err := s.writer()
	if err != nil {
		return err
	}
	rw := s.newResultWriter(w)
	werr := func(err error) error { return fmt.Errorf("writing results to %s: %w", s.destName(), err) }
	if err := rw.begin(cols, types); err != nil {
		return werr(err)
	}
	vals := make([]driver.Value, len(cols))
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := rows.Next(vals)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if err := rw.row(vals); err != nil {
			return werr(err)
		}
	}
	if err := rw.end(); err != nil {
		return werr(err)
	}
	return nil
}

// errInterrupted is returned by a lineSource when Ctrl-C was pressed while typing.
var errInterrupted = errors.New("interrupted")

// lineSource is where the interactive loop reads lines from: readline on a terminal, or plain lines.
type lineSource interface {
	// readLine returns the next line without its newline; io.EOF at the end (Ctrl-D), errInterrupted on Ctrl-C.
	readLine(prompt string) (string, error)
	saveHistory(entry string)
}

// interruptGuard starts watching for Ctrl-C while a statement runs; it calls cancel on Ctrl-C, and the returned
// function stops the watch.
type interruptGuard func(cancel context.CancelFunc) (stop func())

// Interactive runs the read-eval-print loop until .quit, .exit or Ctrl-D (or until ctx is done, which it then
// returns). On a terminal it edits lines with readline, keeps a persistent history (o.HistoryFile), shows the
// prompt "eventlake> " and "      ...> " while a statement is incomplete (until a ';' outside quotes and
// comments). Ctrl-C while typing clears the input; Ctrl-C while a statement runs interrupts it and prints
// "Interrupted"; it never ends the shell. Errors are printed to o.Err and the loop continues. Tab completes
// keywords, names and dot commands; Ctrl-L clears the screen.
//
// When o.In is not a terminal, it is a script read as it comes (no prompts, banner or history) and runs
// exactly as Run runs one: unlimited table rows by default, and the first error stops it and is returned as
// a *StatementError. .exit CODE with a non-zero CODE returns an *ExitError in both cases.
func Interactive(ctx context.Context, o Options) (err error) {
	if o.In == nil {
		return errors.New("shell: Options.In is nil")
	}
	tty, isTerminal := openTerminal(o.In)
	s, err := newSession(o, isTerminal)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := s.closeOutput(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if isTerminal {
		if err := s.interactiveTerminal(ctx, o, tty); err != nil {
			return err
		}
		return s.exitErr()
	}
	// Piped input is a script: it runs exactly as Run runs one, and stops at the first error.
	src := newPlainSource(ctx, o.In)
	defer src.stop()
	if _, err := s.runLines(ctx, func() (string, error) { return src.readLine("") }); err != nil {
		return err
	}
	return s.exitErr()
}

// repl is the loop shared by terminal and plain input.
func (s *session) repl(ctx context.Context, src lineSource, guard interruptGuard) error {
	sp := newSplitter()
	var lines []string // the lines of the statement being typed, for the history
	for {
		prompt := mainPrompt
		if sp.pending() {
			prompt = contPrompt
		}
		if s.comp != nil {
			s.comp.setContext(strings.Join(lines, "\n"), sp.pending(), s.stmts)
		}
		line, err := src.readLine(prompt)
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		switch {
		case errors.Is(err, errInterrupted):
			sp.reset()
			lines = nil
			continue
		case err == io.EOF:
			// Piped input may end without a final ';': run that last statement, as Run does. On a terminal,
			// Ctrl-D abandons what was typed.
			if st, ok := sp.flush(); ok && guard == nil {
				s.stmts++
				s.guarded(ctx, nil, func(qctx context.Context) error { return s.exec(qctx, st.Text) })
			}
			return ctx.Err()
		case err != nil:
			return err
		}
		if !sp.pending() && isDotLine(line) {
			cmd := strings.TrimSpace(line)
			src.saveHistory(cmd)
			sp.skipLine()
			quit := false
			s.guarded(ctx, guard, func(qctx context.Context) error {
				var err error
				quit, err = s.dot(qctx, cmd)
				if ferr := s.flush(); err == nil {
					err = ferr
				}
				return err
			})
			if quit {
				return nil
			}
			continue
		}
		lines = append(lines, line)
		stmts := sp.feed(line+"\n", nil)
		if !sp.pending() {
			for _, e := range historyEntries(lines) {
				src.saveHistory(e)
			}
			lines = nil
		}
		for _, st := range stmts {
			s.stmts++
			s.guarded(ctx, guard, func(qctx context.Context) error { return s.exec(qctx, st.Text) })
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
}

// guarded runs fn with a context that Ctrl-C cancels, and reports its outcome on Err.
func (s *session) guarded(ctx context.Context, guard interruptGuard, fn func(context.Context) error) {
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := func() {}
	if guard != nil {
		stop = guard(cancel)
	}
	err := fn(qctx)
	stop()
	switch {
	case err == nil || ctx.Err() != nil:
	case qctx.Err() != nil:
		fmt.Fprintln(s.errw, "Interrupted")
	default:
		fmt.Fprintf(s.errw, "Error: %s\n", termtext.Lines(err.Error()))
	}
}

// plainSource reads lines from a non-terminal reader. A goroutine does the reading so that a cancelled ctx
// ends the loop even while a read blocks.
type plainSource struct {
	ctx   context.Context
	lines chan plainLine
	done  chan struct{} // closed when the session ends (e.g. .quit before the end of the input)
}

type plainLine struct {
	text string
	err  error
}

func newPlainSource(ctx context.Context, r io.Reader) *plainSource {
	p := &plainSource{ctx: ctx, lines: make(chan plainLine), done: make(chan struct{})}
	go func() {
		defer close(p.lines)
		br := bufio.NewReader(r)
		for {
			text, err := br.ReadString('\n')
			if err == io.EOF && text != "" {
				err = nil
			}
			text = strings.TrimRight(text, "\r\n")
			select {
			case p.lines <- plainLine{text, err}:
			case <-ctx.Done():
				return
			case <-p.done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return p
}

func (p *plainSource) readLine(string) (string, error) {
	select {
	case l, ok := <-p.lines:
		if !ok {
			return "", io.EOF
		}
		return l.text, l.err
	case <-p.ctx.Done():
		return "", p.ctx.Err()
	}
}

func (p *plainSource) saveHistory(string) {}

func (p *plainSource) stop() { close(p.done) }
