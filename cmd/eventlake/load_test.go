package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func testdata(parts ...string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(append([]string{filepath.Dir(file), "..", "..", "testdata"}, parts...)...)
}

// run executes the CLI in-process and returns exit code, stdout, stderr.
// runCLI runs the command line in-process. A load, watch or reprocess whose arguments
// do not set --settle gets --settle 0: tests load files they have just
// written (and CI loads testdata/ right after its checkout), which the
// default settle time would defer. runCLIExact passes the arguments as given.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	if len(args) > 0 && (args[0] == "load" || args[0] == "watch" || args[0] == "reprocess") && !slices.ContainsFunc(args, func(a string) bool {
		return a == "--settle" || strings.HasPrefix(a, "--settle=")
	}) {
		args = append([]string{args[0], "--settle", "0"}, args[1:]...)
	}
	return runCLIExact(t, args...)
}

func runCLIExact(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := execute(context.Background(), args, streams{in: strings.NewReader(""), out: &out, errOut: &errOut})
	return code, out.String(), errOut.String()
}

func TestLoadJSONContract(t *testing.T) {
	lake := t.TempDir()
	code, out, errOut := runCLI(t, "load", "--lake", lake, "--json", "-q", testdata("pismo"), testdata("fulfillmenttools"))
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	var sum map[string]any
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
	}
	for _, k := range []string{"objects", "records", "rejects", "bytes", "seconds", "load_id"} {
		if _, ok := sum[k]; !ok {
			t.Errorf("summary lacks %q: %s", k, out)
		}
	}
	if sum["objects"] != 6.0 || sum["records"] != 26.0 || sum["rejects"] != 0.0 {
		t.Errorf("summary = %s, want 6 objects, 26 records, 0 rejects", out)
	}
	// A second run loads nothing, still exit 0.
	code, out, _ = runCLI(t, "load", "--lake", lake, "--json", "-q", testdata("pismo"), testdata("fulfillmenttools"))
	if code != 0 || !strings.Contains(out, `"objects":0`) || !strings.Contains(out, `"load_id":""`) {
		t.Errorf("re-run: exit %d, %s", code, out)
	}
}

func TestLoadExitCodes(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"bad files", []string{"load", "--lake", "LAKE", "-q", testdata("bad")}, 1, "failed"},
		{"no lake", []string{"load", testdata("pismo")}, 2, "no lake"},
		{"no source", []string{"load", "--lake", "LAKE"}, 2, "no source"},
		{"unknown flag", []string{"load", "--lake", "LAKE", "--nope", "x"}, 2, "unknown flag"},
		{"bad profile", []string{"load", "--lake", "LAKE", "--profile", "nope", testdata("pismo")}, 2, "unknown profile"},
		{"missing source", []string{"load", "--lake", "LAKE", "/does/not/exist"}, 1, "no such file"},
		{"bad since", []string{"load", "--lake", "LAKE", "--since", "yesterday", testdata("pismo")}, 2, "not a date"},
		{"unknown command", []string{"lod"}, 2, "unknown command"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lake := t.TempDir()
			args := make([]string, len(c.args))
			for i, a := range c.args {
				args[i] = strings.ReplaceAll(a, "LAKE", lake)
			}
			code, out, errOut := runCLI(t, args...)
			if code != c.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.code, out, errOut)
			}
			if !strings.Contains(out+errOut, c.msg) {
				t.Errorf("output lacks %q:\nstdout: %s\nstderr: %s", c.msg, out, errOut)
			}
		})
	}
}

func TestConfigSources(t *testing.T) {
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	cfg := filepath.Join(dir, "eventlake.yaml")
	yaml := "lake: " + lake + "\nsources:\n  - url: " + testdata("fulfillmenttools") + "\n    profile: fulfillmenttools\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "load", "--config", cfg, "--json", "-q")
	if code != 0 || !strings.Contains(out, `"records":10`) {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "status", "--config", cfg, "--json")
	if code != 0 || !strings.Contains(out, `"committed": 4`) || !strings.Contains(out, `"pending"`) {
		t.Errorf("status: exit %d\n%s", code, out)
	}
	// A typo in the config is an error naming the key, not a silent default.
	if err := os.WriteFile(cfg, []byte("lake: x\nworkrs: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI(t, "load", "--config", cfg, testdata("pismo"))
	if code != 2 || !strings.Contains(errOut, "workrs") {
		t.Errorf("typo: exit %d, %s", code, errOut)
	}
}

func TestSecondWriterWaitsThenExplains(t *testing.T) {
	lake := t.TempDir()
	if code, _, errOut := runCLI(t, "load", "--lake", lake, "-q", testdata("pismo")); code != 0 {
		t.Fatal(errOut)
	}
	// Hold the lock as another process would.
	l, err := acquireForTest(lake)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	code, _, errOut := runCLI(t, "load", "--lake", lake, "--lock-wait", "200ms", "-q", testdata("subscriber"))
	if code != 1 || !strings.Contains(errOut, "locked") || !strings.Contains(errOut, "pid") {
		t.Errorf("second writer: exit %d, stderr %q", code, errOut)
	}
}
