package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		code, out, errOut := runCLI(t, "load", "--lake", inner, "--json", "-q", src)
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
