package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eventlake/eventlake/loader"
)

// A usage error names the subcommand's help, exits 2, and a mistyped
// profile is one.
func TestUsageErrorsPointAtSubcommandHelp(t *testing.T) {
	lake := t.TempDir()
	cases := []struct {
		args []string
		help string
		msg  string
	}{
		{[]string{"load", "--lake", lake, "--profile", "pismoo", testdata("pismo")}, "Run 'eventlake load --help'", "unknown profile"},
		{[]string{"load", "--lake", lake, "--nope"}, "Run 'eventlake load --help'", "unknown flag"},
		{[]string{"status"}, "Run 'eventlake status --help'", "no lake"},
		{[]string{"catalog", "rebuild", "--nope"}, "Run 'eventlake catalog rebuild --help'", "unknown flag"},
		{[]string{"lod"}, "Run 'eventlake --help'", "unknown command"},
	}
	for _, c := range cases {
		code, out, errOut := runCLI(t, c.args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want 2\n%s%s", c.args, code, out, errOut)
		}
		if !strings.Contains(errOut, c.help) || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: stderr lacks %q or %q:\n%s", c.args, c.help, c.msg, errOut)
		}
	}
}

func TestUnknownProfileListsEveryProfile(t *testing.T) {
	_, _, errOut := runCLI(t, "load", "--lake", t.TempDir(), "--profile", "pismoo", testdata("pismo"))
	for _, want := range []string{"auto", "pismo", "fulfillmenttools", "generic", "jwo-orders"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("unknown-profile message lacks %q: %s", want, errOut)
		}
	}
}

func TestHelpTexts(t *testing.T) {
	_, out, _ := runCLI(t, "load", "--help")
	if !strings.Contains(out, "jwo-orders") {
		t.Errorf("load --help does not name jwo-orders:\n%s", out)
	}
	_, out, _ = runCLI(t, "watch", "--help")
	usage, _, _ := strings.Cut(out, "\n\n")
	if strings.Contains(out, "watch --lake DIR --config FILE") {
		t.Errorf("watch usage claims --config is required:\n%s", usage)
	}
}

// -v is --verbose on every command; --version has no shorthand.
func TestShortVIsVerbose(t *testing.T) {
	code, out, _ := runCLI(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "eventlake ") {
		t.Errorf("--version: exit %d, %q", code, out)
	}
	if code, out, _ := runCLI(t, "-v"); strings.Contains(out, "eventlake dev") || code != 0 {
		// -v alone is a verbose root: it prints the help, not the version.
		t.Errorf("-v printed the version or failed: exit %d, %q", code, out)
	}
	lake := t.TempDir()
	if code, _, errOut := runCLI(t, "load", "--lake", lake, "-q", testdata("pismo")); code != 0 {
		t.Fatal(errOut)
	}
	code, _, errOut := runCLI(t, "load", "-v", "--lake", lake, "-q", testdata("pismo"))
	if code != 0 || !strings.Contains(errOut, "INFO") && !strings.Contains(errOut, `"level":"INFO"`) {
		t.Errorf("load -v: exit %d, no info log:\n%s", code, errOut)
	}
	for _, args := range [][]string{
		{"status", "-v", "--lake", lake},
		{"check", "-v", "--lake", lake},
		{"compact", "-v", "--lake", lake},
	} {
		if code, _, errOut := runCLI(t, args...); code != 0 {
			t.Errorf("%v: exit %d\n%s", args, code, errOut)
		}
	}
}

// A typo in the config names the key, the file and the line, and the key
// meant — not Go's type names.
func TestConfigTypoMessage(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "eventlake.yaml")
	if err := os.WriteFile(cfg, []byte("lake: x\nprofil: pismo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, "load", "--config", cfg, testdata("pismo"))
	want := `unknown key "profil" in ` + cfg + ` line 2; did you mean "profile"?`
	if code != exitUsage || !strings.Contains(errOut, want) || strings.Contains(errOut, "config.Config") {
		t.Errorf("exit %d, stderr %q, want %q", code, errOut, want)
	}
}

// status lists quarantined objects, and --fail-on gives cron a non-zero exit
// when the lake holds objects in the statuses named.
func TestStatusFailOn(t *testing.T) {
	lake := t.TempDir()
	if code, _, errOut := runCLI(t, "load", "--lake", lake, "-q", testdata("bad")); code != 1 {
		t.Fatalf("load: exit %d\n%s", code, errOut)
	}
	code, out, errOut := runCLI(t, "status", "--lake", lake)
	if code != 0 {
		t.Fatalf("status: exit %d\n%s", code, errOut)
	}
	if !strings.Contains(out, "quarantined objects") || !strings.Contains(out, "binary-garbage") {
		t.Errorf("status does not list the quarantined object:\n%s", out)
	}
	for _, c := range []struct {
		on   string
		code int
	}{
		{"failed", 1}, {"quarantined", 1}, {"failed,quarantined", 1}, {"missing", 0}, {"nope", 2},
	} {
		code, out, errOut := runCLI(t, "status", "--lake", lake, "--fail-on", c.on)
		if code != c.code {
			t.Errorf("--fail-on %s: exit %d, want %d\n%s%s", c.on, code, c.code, out, errOut)
		}
		if c.code == 1 && !strings.Contains(errOut, "eventlake: status: ") {
			t.Errorf("--fail-on %s: stderr does not say why: %q", c.on, errOut)
		}
	}
	// A clean lake passes every check.
	clean := t.TempDir()
	if code, _, errOut := runCLI(t, "load", "--lake", clean, "-q", testdata("pismo")); code != 0 {
		t.Fatal(errOut)
	}
	if code, _, errOut := runCLI(t, "status", "--lake", clean, "--fail-on", "failed,quarantined,missing"); code != 0 {
		t.Errorf("clean lake: exit %d\n%s", code, errOut)
	}
}

// Object keys and error texts come from the source: the load summary and
// status print them with control characters escaped, never raw.
func TestSummaryEscapesControlCharacters(t *testing.T) {
	src := t.TempDir()
	name := "evil\x1b[31mred.ndjson"
	body := "{\"x\":\"\x1b]0;owned\x07\x1b[2J\"}\n"
	if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	lake := t.TempDir()
	code, out, errOut := runCLI(t, "load", "--lake", lake, "-q", src)
	if code != 1 {
		t.Fatalf("load: exit %d\n%s%s", code, out, errOut)
	}
	_, st, _ := runCLI(t, "status", "--lake", lake)
	for what, text := range map[string]string{"load summary": out, "status": st} {
		if strings.ContainsAny(text, "\x1b\x07") {
			t.Errorf("%s prints raw control characters: %q", what, text)
		}
		if !strings.Contains(text, `evil\x1B[31mred.ndjson`) {
			t.Errorf("%s does not show the key escaped: %q", what, text)
		}
	}
}

// Binary bytes that happen to start like JSON are reported as binary
// content, not as records no profile recognises (which advises --profile).
func TestBinaryContentSaysBinary(t *testing.T) {
	src := t.TempDir()
	noise := make([]byte, 3000)
	for i := range noise {
		noise[i] = byte(i*7919>>3) ^ byte(i)
	}
	for name, head := range map[string]string{"brace.bin": "{", "bracket.bin": "["} {
		if err := os.WriteFile(filepath.Join(src, name), append([]byte(head), noise...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := runCLI(t, "load", "--lake", t.TempDir(), "-q", src)
	if code != 1 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if strings.Count(out, "binary content") != 2 || strings.Contains(out, "--profile") || strings.Contains(out, "no profile") {
		t.Errorf("binary objects not reported as binary:\n%s", out)
	}
}

// completion completes flag values, not only flag names.
func TestCompletionCompletesValues(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"ddl", "--engine", ""}, []string{"athena", "spark", "trino"}},
		{[]string{"load", "--profile", ""}, []string{"auto", "pismo", "fulfillmenttools", "generic", "jwo-orders"}},
		{[]string{"watch", "--profile", "jw"}, []string{"jwo-orders"}},
		{[]string{"sql", "--format", ""}, []string{"table", "csv", "json", "jsonlines", "markdown", "parquet"}},
		{[]string{"load", "--on-change", ""}, []string{"reload", "skip"}},
		{[]string{"reprocess", "--status", ""}, []string{"committed", "quarantined", "duplicate", "failed"}},
		{[]string{"forget", "--status", ""}, []string{"committed", "quarantined", "duplicate", "failed"}},
		{[]string{"status", "--fail-on", ""}, []string{"failed", "quarantined", "missing", "pending"}},
	}
	for _, c := range cases {
		code, out, errOut := runCLIExact(t, append([]string{"__complete"}, c.args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", c.args, code, errOut)
		}
		got := strings.Split(strings.TrimSpace(out), "\n")
		got = got[:len(got)-1] // the directive line
		for _, w := range c.want {
			if !slices.Contains(got, w) {
				t.Errorf("%v: completions %q lack %q", c.args, got, w)
			}
		}
		if !strings.Contains(out, ":4") { // ShellCompDirectiveNoFileComp
			t.Errorf("%v: completion offers file names: %q", c.args, out)
		}
	}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		if code, out, _ := runCLIExact(t, "completion", sh); code != 0 || len(out) < 100 {
			t.Errorf("completion %s: exit %d, %d bytes", sh, code, len(out))
		}
	}
}

// The summary's rate counts the bytes read from the sources as stored, like
// the progress line ("MB/s read"), not the decompressed bytes.
func TestSummaryRateIsBytesRead(t *testing.T) {
	var out strings.Builder
	printSummary(streams{out: &out}, &loader.Summary{LoadID: "x", Objects: 1, Committed: 1, Bytes: 10e6, UncompressedBytes: 40e6, Seconds: 1})
	if !strings.Contains(out.String(), "(10.0 MB/s read)") {
		t.Errorf("summary rate is not bytes read per second:\n%s", out.String())
	}
}

// watch refuses an unknown profile at start (exit 2) instead of failing
// every interval.
func TestWatchUnknownProfileIsUsageError(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	code := execute(ctx, []string{"watch", "--settle", "0", "--lake", t.TempDir(), "--profile", "pismoo", "--interval", "1h", testdata("pismo")},
		streams{in: strings.NewReader(""), out: &out, errOut: &errOut})
	if code != exitUsage || !strings.Contains(errOut.String(), "Run 'eventlake watch --help'") {
		t.Errorf("exit %d, want 2\n%s", code, errOut.String())
	}
}
