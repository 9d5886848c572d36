package shell

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/eventlake/eventlake/internal/termtext"
)

// maxReadDepth bounds .read nesting (a file that reads itself).
const maxReadDepth = 16

// dotCommandNames lists every dot command name, for completion and error messages.
func dotCommandNames() []string {
	var names []string
	for _, c := range dotCommands {
		for _, n := range strings.Split(c.usage, ", ") {
			names = append(names, strings.Fields(n)[0])
		}
	}
	return append(names, ".system")
}

// onOff parses the argument of an on|off setting.
func onOff(cmd string, args []string) (bool, error) {
	if len(args) == 1 {
		switch strings.ToLower(args[0]) {
		case "on", "true", "1", "yes":
			return true, nil
		case "off", "false", "0", "no":
			return false, nil
		}
	}
	return false, fmt.Errorf("usage: %s on|off", cmd)
}

// dotMore runs the dot commands that follow the duckdb CLI's habits beyond the basic ones; handled is false
// for a command it does not know.
func (s *session) dotMore(ctx context.Context, cmd string, args []string) (handled, quit bool, err error) {
	switch cmd {
	case ".quit", ".exit":
		if len(args) > 1 || len(args) == 1 && cmd == ".quit" {
			return true, false, fmt.Errorf("usage: %s [CODE]", cmd)
		}
		if len(args) == 1 {
			code, err := strconv.Atoi(args[0])
			if err != nil || code < 0 || code > 255 {
				return true, false, fmt.Errorf("usage: .exit [CODE]: CODE is a number from 0 to 255, not %q", args[0])
			}
			s.exitCode = code
		}
		return true, true, nil
	case ".headers", ".header":
		s.headers, err = onOff(".headers", args)
	case ".nullvalue":
		if len(args) != 1 {
			return true, false, errors.New("usage: .nullvalue TEXT")
		}
		s.nullValue, s.nullSet = args[0], true
	case ".maxrows":
		switch {
		case len(args) == 0:
			w, err := s.writer()
			if err != nil {
				return true, false, err
			}
			fmt.Fprintln(w, s.maxRowsText())
		case len(args) == 1:
			n, err := strconv.Atoi(args[0])
			if err != nil {
				return true, false, fmt.Errorf("usage: .maxrows [N]: N is a number of rows, not %q", args[0])
			}
			s.maxRows = n
			if n == 0 {
				s.maxRows = -1
			}
		default:
			return true, false, errors.New("usage: .maxrows [N]")
		}
	case ".width":
		widths := make([]int, len(args))
		for i, a := range args {
			n, err := strconv.Atoi(a)
			if err != nil || n < 0 {
				return true, false, fmt.Errorf("usage: .width [N ...]: N is a number of cells, 0 for automatic, not %q", a)
			}
			widths[i] = n
		}
		s.widths = widths
	case ".once":
		if len(args) != 1 {
			return true, false, errors.New("usage: .once FILE")
		}
		if err := s.endOnce(); err != nil {
			return true, false, err
		}
		s.oncePath = args[0]
		if s.mode != "parquet" { // DuckDB writes a Parquet file itself
			_, err = s.writer()
		}
	case ".read":
		if len(args) != 1 {
			return true, false, errors.New("usage: .read FILE")
		}
		quit, err = s.read(ctx, args[0])
	case ".shell", ".system":
		if len(args) == 0 {
			return true, false, fmt.Errorf("usage: %s CMD ...", cmd)
		}
		err = s.shellCommand(ctx, strings.Join(args, " "))
	case ".show":
		err = s.show()
	case ".databases":
		err = s.databases(ctx)
	default:
		return false, false, nil
	}
	return true, quit, err
}

func (s *session) maxRowsText() string {
	if s.maxRows <= 0 {
		return "unlimited"
	}
	return strconv.Itoa(s.maxRows)
}

// endOnce closes the .once file, if any: output goes back where it went before.
func (s *session) endOnce() error {
	if s.oncePath == "" {
		return nil
	}
	var err error
	if s.onceW != nil {
		if ferr := s.onceW.Flush(); ferr != nil {
			err = fmt.Errorf("writing results to %s: %w", s.oncePath, ferr)
		}
		if cerr := s.onceFile.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing %s: %w", s.oncePath, cerr)
		}
	}
	s.oncePath, s.onceFile, s.onceW = "", nil, nil
	return err
}

// read runs the script in a file in this session, as Run would; its first error stops it, and is returned
// naming the file.
func (s *session) read(ctx context.Context, path string) (quit bool, err error) {
	if s.readDepth >= maxReadDepth {
		return false, fmt.Errorf(".read %s: more than %d nested .read commands", path, maxReadDepth)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	s.readDepth++
	defer func() { s.readDepth-- }()
	quit, err = s.runLines(ctx, stringLines(string(b)))
	var se *StatementError
	if errors.As(err, &se) && se.Script == "" {
		se.Script = path
	}
	return quit, err
}

// shellCommand runs a command line with sh -c; its output goes where results go. It gets no input (the
// terminal belongs to the shell), and Ctrl-C kills it.
func (s *session) shellCommand(ctx context.Context, line string) error {
	w, err := s.writer()
	if err != nil {
		return err
	}
	if err := s.flush(); err != nil {
		return err
	}
	c := exec.CommandContext(ctx, "sh", "-c", line)
	c.Stdout = w
	c.Stderr = s.errw
	err = c.Run()
	if ferr := s.flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", line, err)
	}
	return nil
}

// show prints the settings, as the duckdb CLI's .show does.
func (s *session) show() error {
	w, err := s.writer()
	if err != nil {
		return err
	}
	onoff := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	null := `"NULL" in table and line mode, "" in the others`
	if s.nullSet {
		null = strconv.Quote(s.nullValue)
	}
	out := "stdout"
	if s.outPath != "" {
		out = s.outPath
	}
	widths := make([]string, len(s.widths))
	for i, n := range s.widths {
		widths[i] = strconv.Itoa(n)
	}
	for _, kv := range [][2]string{
		{"headers", onoff(s.headers)},
		{"mode", s.mode},
		{"nullvalue", null},
		{"output", out},
		{"maxrows", s.maxRowsText()},
		{"timer", onoff(s.timer)},
		{"width", strings.Join(widths, " ")},
	} {
		fmt.Fprintf(w, "%12s: %s\n", kv[0], kv[1])
	}
	return nil
}

// databases lists the attached databases: name, path (":memory:" for an in-memory one), read-only flag.
func (s *session) databases(ctx context.Context) error {
	rows, err := s.conn.QueryContext(ctx, `
		SELECT database_name, coalesce(path, ':memory:'), readonly FROM duckdb_databases()
		WHERE NOT internal ORDER BY database_oid`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var name, path string
		var ro bool
		if err := rows.Scan(&name, &path, &ro); err != nil {
			return err
		}
		l := termtext.Escape(name) + ": " + termtext.Escape(path)
		if ro {
			l += " (read-only)"
		}
		lines = append(lines, l)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	w, err := s.writer()
	if err != nil {
		return err
	}
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	return nil
}
