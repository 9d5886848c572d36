package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sqlStdin runs `eventlake sql` with a script on stdin (not a terminal).
func sqlStdin(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := execute(context.Background(), append([]string{"sql", "--history", "-"}, args...),
		streams{in: strings.NewReader(stdin), out: &out, errOut: &errOut})
	return code, out.String(), errOut.String()
}

// A script piped on stdin behaves as the same script given with -f: same output, same error, exit 1, and
// nothing after the error runs.
func TestSQLStdinLikeFile(t *testing.T) {
	lake := sqlLake(t)
	script := "select 1 as a;\nselect nope;\nselect 3 as c;\n"
	file := filepath.Join(t.TempDir(), "s.sql")
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	fCode, fOut, fErr := runCLI(t, "sql", "--lake", lake, "--format", "csv", "-f", file)
	code, out, errOut := sqlStdin(t, script, "--lake", lake, "--format", "csv")
	if code != 1 || fCode != 1 {
		t.Errorf("exit codes: stdin %d, -f %d; want 1 and 1", code, fCode)
	}
	if out != "a\n1\n" || out != fOut {
		t.Errorf("stdout: stdin %q, -f %q; want %q", out, fOut, "a\n1\n")
	}
	if !strings.HasPrefix(errOut, "Error: statement 2 at line 2 (select nope)") || errOut != fErr {
		t.Errorf("stderr: stdin %q, -f %q", errOut, fErr)
	}
	if code, out, errOut := sqlStdin(t, "select 1 as a;\n.exit 3\n", "--lake", lake, "--format", "csv"); code != 3 || out != "a\n1\n" || errOut != "" {
		t.Errorf(".exit 3 on stdin: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// Repeated -c run in order, each with several statements, in one session; the first error stops them.
func TestSQLRepeatedCommand(t *testing.T) {
	lake := sqlLake(t)
	code, out, errOut := runCLI(t, "sql", "--lake", lake, "-c", ".mode csv", "-c", "select 1 as a; select 2 as b", "-c", "select count(*) as n from events")
	if code != 0 || out != "a\n1\nb\n2\nn\n19\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "sql", "--lake", lake, "--format", "csv", "-c", "select 1 as a", "-c", "select nope", "-c", "select 3 as c")
	if code != 1 || out != "a\n1\n" || !strings.HasPrefix(errOut, "Error: script 2: statement 1 at line 1 (select nope)") {
		t.Errorf("error in the second -c: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "sql", "--lake", lake, "-c", ".exit 3"); code != 3 || errOut != "" {
		t.Errorf("-c '.exit 3': exit %d, stderr %q", code, errOut)
	}
	if code, out, _ := runCLI(t, "sql", "--lake", lake, "--format", "jsonlines", "-c", "select 1 as a"); code != 0 || out != "{\"a\":1}\n" {
		t.Errorf("--format jsonlines: exit %d, stdout %q", code, out)
	}
}
