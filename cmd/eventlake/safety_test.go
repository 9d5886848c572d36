package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A lake must not be the filesystem root, nor read itself as a source.
func TestLakeAndSourcesMustNotOverlap(t *testing.T) {
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	if code, _, errOut := runCLI(t, "load", "--lake", lake, "-q", testdata("pismo")); code != 0 {
		t.Fatal(errOut)
	}
	for name, args := range map[string][]string{
		"root lake":        {"load", "--lake", "/", "-q", testdata("pismo")},
		"root lake dotted": {"load", "--lake", "/tmp/..", "-q", testdata("pismo")},
		"lake as source":   {"load", "--lake", lake, "-q", lake},
		"source in lake":   {"load", "--lake", lake, "-q", filepath.Join(lake, "events")},
		"file in lake":     {"load", "--lake", lake, "-q", filepath.Join(lake, "_eventlake", "catalog.db")},
		"lake URL source":  {"load", "--lake", lake, "-q", "file://" + lake + "/"},
	} {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runCLI(t, args...)
			if code != 2 || !strings.Contains(errOut, "lake") {
				t.Fatalf("exit %d, want 2 and an error naming the lake\nstdout: %s\nstderr: %s", code, out, errOut)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(lake, "_rejects")); err == nil {
		t.Error("the refused loads quarantined something")
	}

	// A source folder holding the lake loads its own files and never the
	// lake's: a second run finds nothing new.
	src := filepath.Join(dir, "exports")
	copyDir(t, testdata("pismo"), src)
	inner := filepath.Join(src, "lake")
	for i := 0; i < 2; i++ {
		code, out, errOut := runCLI(t, "load", "--lake", inner, "--settle", "0", "--json", "-q", src)
		if code != 0 {
			t.Fatalf("run %d: exit %d\n%s\n%s", i, code, out, errOut)
		}
		var sum struct{ Objects, Rejects, Quarantined int }
		if err := json.Unmarshal([]byte(out), &sum); err != nil {
			t.Fatal(err)
		}
		want := 2
		if i == 1 {
			want = 0
		}
		if sum.Objects != want || sum.Rejects != 0 || sum.Quarantined != 0 {
			t.Fatalf("run %d: %s, want %d objects, no rejects", i, out, want)
		}
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
}

// A failing load --json still prints one JSON object, with the error.
func TestLoadJSONOnFailure(t *testing.T) {
	lake := t.TempDir()
	l, err := acquireForTest(lake)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	for name, args := range map[string][]string{
		"locked":         {"load", "--lake", lake, "--json", "-q", "--lock-wait", "0s", testdata("pismo")},
		"missing source": {"load", "--lake", t.TempDir(), "--json", "-q", "/does/not/exist"},
		"usage":          {"load", "--lake", lake, "--json", "-q", "--on-change", "nope", testdata("pismo")},
	} {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runCLI(t, args...)
			if code == 0 {
				t.Fatalf("exit 0\n%s", out)
			}
			var sum map[string]any
			if err := json.Unmarshal([]byte(out), &sum); err != nil {
				t.Fatalf("stdout is not one JSON object: %v\nstdout: %q\nstderr: %s", err, out, errOut)
			}
			if e, _ := sum["error"].(string); e == "" {
				t.Fatalf("summary has no error: %s", out)
			}
			if _, ok := sum["objects"]; !ok {
				t.Fatalf("summary lacks its counts: %s", out)
			}
		})
	}
}

// Every numeric flag is checked, a given 0 included.
func TestFlagValues(t *testing.T) {
	lake := t.TempDir()
	src := testdata("pismo")
	for name, args := range map[string][]string{
		"workers 0":           {"load", "--lake", lake, "--workers", "0", src},
		"workers -3":          {"load", "--lake", lake, "--workers", "-3", src},
		"workers 10000":       {"load", "--lake", lake, "--workers", "10000", src},
		"zstd 0":              {"load", "--lake", lake, "--zstd-level", "0", src},
		"zstd 20":             {"load", "--lake", lake, "--zstd-level", "20", src},
		"record bytes 0":      {"load", "--lake", lake, "--max-record-bytes", "0", src},
		"lock wait -1s":       {"load", "--lake", lake, "--lock-wait", "-1s", src},
		"watch workers 0":     {"watch", "--lake", lake, "--workers", "0", src},
		"watch zstd 0":        {"watch", "--lake", lake, "--zstd-level", "0", src},
		"watch lock wait -1s": {"watch", "--lake", lake, "--lock-wait", "-1s", src},
		"compact zstd 0":      {"compact", "--lake", lake, "--zstd-level", "0"},
		"compact lock -1s":    {"compact", "--lake", lake, "--lock-wait", "-1s"},
		"compact min files 0": {"compact", "--lake", lake, "--min-files", "0"},
		"ddl no engine":       {"ddl", "--lake", lake},
		"sql bad format":      {"sql", "--lake", lake, "--format", "xml", "-c", "select 1"},
		"sql extra arg":       {"sql", "--lake", lake, "extra"},
		"status no lake":      {"status"},
	} {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runCLI(t, args...)
			if code != 2 {
				t.Fatalf("exit %d, want 2\nstdout: %s\nstderr: %s", code, out, errOut)
			}
		})
	}
	// --lock-wait 0s does not wait for the lock.
	if code, _, errOut := runCLI(t, "load", "--lake", lake, "-q", src); code != 0 {
		t.Fatal(errOut)
	}
	l, err := acquireForTest(lake)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	for _, cmd := range []string{"load", "compact"} {
		args := []string{cmd, "--lake", lake, "-q", "--lock-wait", "0s"}
		if cmd == "compact" {
			args = args[:len(args)-3]
			args = append(args, "--lock-wait", "0s")
		} else {
			args = append(args, src)
		}
		start := time.Now()
		code, _, errOut := runCLI(t, args...)
		if took := time.Since(start); code != 1 || !strings.Contains(errOut, "locked") || took > 5*time.Second {
			t.Errorf("%s --lock-wait 0s: exit %d after %s, stderr %q; want exit 1 at once", cmd, code, took, errOut)
		}
	}
}
