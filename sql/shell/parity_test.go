package shell

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runScript runs a script on the test connection and returns stdout, or fails the test.
func runScript(t *testing.T, o Options, script string) string {
	t.Helper()
	var out bytes.Buffer
	o.Conn = newTestConn(t)
	o.Out = &out
	if err := Run(context.Background(), o, script); err != nil {
		t.Fatalf("Run(%q) = %v", script, err)
	}
	return out.String()
}

func TestDotMaxRows(t *testing.T) {
	out := runScript(t, Options{}, ".maxrows 4\nselect range as r from range(10);\n.maxrows\n.maxrows 0\nselect count(*) as n from range(100);")
	if !strings.Contains(out, "… 6 more rows …") || !strings.Contains(out, "10 rows (4 shown)\n") {
		t.Errorf(".maxrows 4 did not cut the table to 4 rows:\n%s", out)
	}
	if !strings.Contains(out, "\n4\n") {
		t.Errorf(".maxrows without argument does not show the setting:\n%s", out)
	}
	if _, err := runErr(t, ".maxrows lots"); err == nil || !strings.Contains(err.Error(), ".maxrows") {
		t.Errorf(".maxrows lots = %v, want a usage error", err)
	}
}

// runErr runs a script and returns its output and error.
func runErr(t *testing.T, script string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := Run(context.Background(), Options{Conn: newTestConn(t), Out: &out}, script)
	return out.String(), err
}

func TestDotHeadersNullValue(t *testing.T) {
	out := runScript(t, Options{Format: "csv"}, ".headers off\nselect 1 as a, null as b;\n.headers on\n.nullvalue <null>\nselect 2 as a, null as b;\n.mode table\nselect null as c;\n.mode line\nselect null as d;")
	want := "1,\n" + "a,b\n2,<null>\n"
	if !strings.HasPrefix(out, want) {
		t.Errorf("csv with .headers off, then .nullvalue:\n%s\nwant prefix\n%s", out, want)
	}
	if !strings.Contains(out, "│ <null> │") || !strings.HasSuffix(out, "d = <null>\n") {
		t.Errorf(".nullvalue not used by table and line modes:\n%s", out)
	}
	if _, err := runErr(t, ".headers maybe"); err == nil {
		t.Error(".headers maybe accepted")
	}
}

func TestDotWidth(t *testing.T) {
	out := runScript(t, Options{}, ".width 4 0\nselect 'abcdefgh' as long_name, 'abcdefgh' as other;")
	for _, want := range []string{"│ lon… │  other   │", "│ abc… │ abcdefgh │"} {
		if !strings.Contains(out, want) {
			t.Errorf(".width 4 0: table lacks %q:\n%s", want, out)
		}
	}
	out = runScript(t, Options{}, ".width 4\n.width\nselect 'abcdefgh' as v;")
	if !strings.Contains(out, "│ abcdefgh │") {
		t.Errorf(".width without arguments did not reset the widths:\n%s", out)
	}
}

func TestModeMarkdownJSONLines(t *testing.T) {
	out := runScript(t, Options{}, ".mode markdown\nselect 1 as n, 'a|b' as s, null::varchar as z;\n.mode jsonlines\nselect 1 as n, 'x' as s union all select 2, null order by 1;\n.mode")
	want := "| n | s | z |\n|--:|---|---|\n| 1 | a\\|b |  |\n" +
		"{\"n\":1,\"s\":\"x\"}\n{\"n\":2,\"s\":null}\n" + "jsonlines\n"
	if out != want {
		t.Errorf("markdown and jsonlines:\n%s\nwant\n%s", out, want)
	}
	out = runScript(t, Options{}, ".mode list\nselect 1 as a, 'x' as b;\n.mode tabs\nselect 1 as a, 'x' as b;\n.mode duckbox\n.mode")
	if want := "a|b\n1|x\n" + "a\tb\n1\tx\n" + "table\n"; out != want {
		t.Errorf("list and tabs:\n%q\nwant\n%q", out, want)
	}
}

func TestDotReadOnce(t *testing.T) {
	dir := t.TempDir()
	inc := filepath.Join(dir, "inc.sql")
	if err := os.WriteFile(inc, []byte(".mode csv\nselect 1 as a;\nselect 2 as b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	once := filepath.Join(dir, "once.csv")
	out := runScript(t, Options{}, ".read '"+inc+"'\n.once "+once+"\nselect 3 as c;\nselect 4 as d;")
	if want := "a\n1\nb\n2\nd\n4\n"; out != want {
		t.Errorf("output = %q, want %q", out, want)
	}
	if b, err := os.ReadFile(once); err != nil || string(b) != "c\n3\n" {
		t.Errorf(".once file = %q (%v), want only the next result", b, err)
	}

	// An error in the file stops it and names the file, the statement and its line.
	bad := filepath.Join(dir, "bad.sql")
	if err := os.WriteFile(bad, []byte("select 1 as a;\n\nselect nope;\nselect 3 as c;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runErr(t, ".mode csv\n.read "+bad+"\nselect 4 as d;")
	var se *StatementError
	if !errors.As(err, &se) || se.Script != bad || se.Index != 2 || se.Line != 3 {
		t.Fatalf(".read of a failing file: error %v, want statement 2 at line 3 of %s", err, bad)
	}
	if !strings.HasPrefix(err.Error(), bad+": statement 2 at line 3 (select nope)") {
		t.Errorf("error message = %q", err.Error())
	}
	if out != "a\n1\n" {
		t.Errorf("output = %q: the rest of the file or of the script ran", out)
	}
	if _, err := runErr(t, ".read "+filepath.Join(dir, "missing.sql")); err == nil {
		t.Error(".read of a missing file succeeded")
	}
	// A file that reads itself ends with an error, not a stack overflow.
	loop := filepath.Join(dir, "loop.sql")
	os.WriteFile(loop, []byte(".read "+loop+"\n"), 0o644)
	if _, err := runErr(t, ".read "+loop); err == nil || !strings.Contains(err.Error(), "nested") {
		t.Errorf(".read loop = %v, want a nesting error", err)
	}
}

func TestDotShellShowDatabases(t *testing.T) {
	out := runScript(t, Options{}, ".shell echo 'hello  there'\n.system printf x\n.mode csv\n.headers off\n.nullvalue -\n.show\n.databases")
	for _, want := range []string{"hello there\n", "x", "mode: csv", "headers: off", `nullvalue: "-"`, "output: stdout", "maxrows: unlimited", "memory"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := runErr(t, ".shell exit 7"); err == nil || !strings.Contains(err.Error(), "exit status 7") {
		t.Errorf(".shell exit 7 = %v, want an error with the status", err)
	}
}

func TestDotExitCode(t *testing.T) {
	out, err := runErr(t, "select 1 as a;\n.exit 3\nselect 2 as b;")
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 3 {
		t.Fatalf("Run with .exit 3 = %v, want ExitError{3}", err)
	}
	if strings.Contains(out, "b") {
		t.Errorf("statement after .exit ran:\n%s", out)
	}
	if _, err := runErr(t, ".exit 0\nselect nope;"); err != nil {
		t.Errorf(".exit 0 = %v, want nil", err)
	}
	if _, err := runErr(t, ".exit three"); err == nil {
		t.Error(".exit three accepted")
	}
}

func TestRunSeveralScripts(t *testing.T) {
	var out bytes.Buffer
	conn := newTestConn(t)
	err := Run(context.Background(), Options{Conn: conn, Out: &out, Format: "csv"}, "select 1 as a", ".mode line\nselect 2 as b; select 3 as c")
	if err != nil {
		t.Fatal(err)
	}
	if want := "a\n1\nb = 2\nc = 3\n"; out.String() != want {
		t.Errorf("output = %q, want %q", out.String(), want)
	}
	out.Reset()
	err = Run(context.Background(), Options{Conn: conn, Out: &out, Format: "csv"}, "select 1 as a", "select 2 as b;\nselect nope", "select 3 as c")
	var se *StatementError
	if !errors.As(err, &se) || se.Script != "script 2" || se.Index != 2 || se.Line != 2 {
		t.Fatalf("error = %v, want statement 2 at line 2 of script 2", err)
	}
	if out.String() != "a\n1\nb\n2\n" {
		t.Errorf("output = %q: a statement after the error ran", out.String())
	}
}

// Piped input runs like a script: the first error stops it and is returned, as Run does.
func TestInteractivePlainInputStopsAtError(t *testing.T) {
	conn := newTestConn(t)
	var out, errb bytes.Buffer
	in := strings.NewReader("select 1 as a;\nselect nope;\nselect 3 as c;\n")
	err := Interactive(context.Background(), Options{Conn: conn, In: in, Out: &out, Err: &errb, Format: "csv"})
	var se *StatementError
	if !errors.As(err, &se) || se.Index != 2 || se.Line != 2 {
		t.Fatalf("Interactive on piped input = %v, want a StatementError for statement 2 at line 2", err)
	}
	if out.String() != "a\n1\n" {
		t.Errorf("output = %q: the statement after the error ran", out.String())
	}
	var ee *ExitError
	if err := Interactive(context.Background(), Options{Conn: conn, In: strings.NewReader(".exit 4\n"), Out: &out}); !errors.As(err, &ee) || ee.Code != 4 {
		t.Errorf("piped .exit 4 = %v", err)
	}
}

func TestLineModeEscapes(t *testing.T) {
	out := runScript(t, Options{Format: "line"}, `select 'red' || chr(27) || '[31m' || chr(10) || 'x' || chr(8238) as v;`)
	if want := `v = red\x1B[31m` + "\n" + `x\u202E` + "\n"; out != want {
		t.Errorf("line mode = %q, want %q", out, want)
	}
	out = runScript(t, Options{Format: "csv"}, `select 'red' || chr(27) || '[31m' as v;`)
	if want := "v\nred\x1b[31m\n"; out != want {
		t.Errorf("csv = %q, want the exact bytes %q", out, want)
	}
}
