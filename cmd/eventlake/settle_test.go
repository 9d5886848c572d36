package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eventlake/eventlake/internal/laketest"
)

// exportFile returns an NDJSON Pismo export of n events (about 250 bytes
// each) whose ids are <name>-1 … <name>-n.
func exportFile(name string, n int) []byte {
	var b bytes.Buffer
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `{"event_id":"%s-%d","domain":"cards","event_type":"card-blocked-1","schema_version":1,"org_id":"TN-1","cid":"c-%d","timestamp":"2024-02-01T10:%02d:%02dZ","data":{"n":%d,"pad":"%s"}}`+"\n",
			name, i, i, (i/60)%60, i%60, i, strings.Repeat("x", 64))
	}
	return b.Bytes()
}

// slowWrite writes data into path in place, chunk bytes at a time (cut
// anywhere, mid-record included), pausing between chunks, as a copy over a
// slow link does.
func slowWrite(path string, data []byte, chunk int, pause time.Duration) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	for off := 0; off < len(data); off += chunk {
		if _, err := f.Write(data[off:min(off+chunk, len(data))]); err != nil {
			f.Close()
			return err
		}
		time.Sleep(pause)
	}
	return f.Close()
}

// backdate sets a file's mtime to ago before now: its writer finished long
// ago, beyond any settle time.
func backdate(t *testing.T, path string, ago time.Duration) {
	t.Helper()
	at := time.Now().Add(-ago)
	if err := os.Chtimes(path, at, at); err != nil {
		t.Fatal(err)
	}
}

// loadSummary is the part of `load --json` these tests read.
type loadSummary struct {
	LoadID    string `json:"load_id"`
	Committed int64  `json:"committed"`
	Failed    int64  `json:"failed"`
	Skipped   int64  `json:"skipped"`
	Deferred  int64  `json:"deferred"`
	Grown     int64  `json:"grown"`
	Records   int64  `json:"records"`
	Rejects   int64  `json:"rejects"`
	Errors    []struct {
		Object, Status, Error string
	} `json:"errors"`
}

func loadJSON(t *testing.T, args ...string) (int, loadSummary, string) {
	t.Helper()
	return loadJSONWith(t, runCLI, args...)
}

// loadJSONExact is loadJSON with the default settle time.
func loadJSONExact(t *testing.T, args ...string) (int, loadSummary, string) {
	t.Helper()
	return loadJSONWith(t, runCLIExact, args...)
}

func loadJSONWith(t *testing.T, run func(*testing.T, ...string) (int, string, string), args ...string) (int, loadSummary, string) {
	t.Helper()
	code, out, errOut := run(t, append([]string{"load", "--json", "-q"}, args...)...)
	var s loadSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("load %v: exit %d, summary %q: %v\n%s", args, code, out, err, errOut)
	}
	return code, s, errOut
}

// settledCounts counts the lake's rows through the shell's views and through
// DuckDB reading the Parquet files.
func settledCounts(t *testing.T, lake string) (raw, distinct, rejects, files string) {
	t.Helper()
	code, out, errOut := runCLI(t, "sql", "--lake", lake, "--format", "csv", "-c",
		"select (select count(*) from events_raw) as r, (select count(distinct event_id) from events) as d, (select count(*) from eventlake.rejects) as j")
	if code != 0 {
		t.Fatalf("sql: exit %d: %s", code, errOut)
	}
	parts := strings.Split(strings.TrimSpace(strings.TrimPrefix(out, "r,d,j\n")), ",")
	if len(parts) != 3 {
		t.Fatalf("sql output %q", out)
	}
	db := laketest.DuckDB(t)
	files = laketest.One(t, db, "select count(*) from "+laketest.Events(lake))
	return parts[0], parts[1], parts[2], files
}

// A file copied slowly into a loaded folder is never loaded half-written:
// the loads that run while it grows defer it, and the first load after its
// writer finished loads it once, with no false rejects.
func TestLoadDefersAFileBeingWritten(t *testing.T) {
	src, lake := t.TempDir(), t.TempDir()
	const n = 8000 // about 2 MB
	data := exportFile("ev", n)
	path := filepath.Join(src, "export.json")
	done := make(chan error, 1)
	go func() { done <- slowWrite(path, data, 40<<10, 25*time.Millisecond) }()
	var runs, deferred int64
	for writing := true; writing; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			writing = false
		default:
		}
		if _, err := os.Stat(path); err != nil {
			continue
		}
		// The default settle time applies (no --settle).
		code, s, errOut := loadJSONExact(t, "--lake", lake, src)
		if code != 0 || s.Committed != 0 || s.Failed != 0 {
			t.Fatalf("load while the file is written: exit %d, %+v\n%s", code, s, errOut)
		}
		runs++
		deferred += s.Deferred
	}
	if runs < 2 || deferred != runs {
		t.Errorf("%d loads ran while the file was written, %d deferred it; want every one", runs, deferred)
	}
	backdate(t, path, time.Minute)
	code, s, errOut := loadJSON(t, "--lake", lake, src)
	if code != 0 || s.Committed != 1 || s.Records != n || s.Rejects != 0 {
		t.Fatalf("load after the writer finished: exit %d, %+v\n%s", code, s, errOut)
	}
	want := fmt.Sprint(n)
	if raw, distinct, rejects, files := settledCounts(t, lake); raw != want || distinct != want || rejects != "0" || files != want {
		t.Errorf("events_raw %s, distinct events %s, rejects %s, rows in the files %s; want %d, %d, 0, %d", raw, distinct, rejects, files, n, n, n)
	}
	// --settle 0 turns the deferral off.
	other := filepath.Join(src, "now.json")
	if err := os.WriteFile(other, exportFile("now", 3), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, s, _ := loadJSONExact(t, "--lake", lake, src); code != 0 || s.Deferred != 1 || s.Committed != 0 {
		t.Errorf("a file written just now: exit %d, %+v; want it deferred", code, s)
	}
	if code, s, _ := loadJSON(t, "--lake", lake, "--settle", "0", src); code != 0 || s.Deferred != 0 || s.Committed != 1 {
		t.Errorf("--settle 0: exit %d, %+v; want it loaded", code, s)
	}
	if code, _, errOut := runCLI(t, "load", "--lake", lake, "--settle", "-1s", src); code != 2 || !strings.Contains(errOut, "--settle") {
		t.Errorf("--settle -1s: exit %d, %s", code, errOut)
	}
}

// With --on-change skip, an object loaded from a version that later grew
// (its writer paused longer than the settle time) is reported by every
// later load (exit 1) and by status, never silently left partial.
func TestOnChangeSkipReportsAGrownObject(t *testing.T) {
	src, lake := t.TempDir(), t.TempDir()
	const n = 2000
	data := exportFile("ev", n)
	cut := len(data)/2 + 7 // mid-record
	path := filepath.Join(src, "export.json")
	if err := os.WriteFile(path, data[:cut], 0o644); err != nil {
		t.Fatal(err)
	}
	backdate(t, path, 2*time.Minute)
	code, first, errOut := loadJSON(t, "--lake", lake, "--on-change", "skip", src)
	if code != 0 || first.Committed != 1 || first.Rejects != 1 {
		t.Fatalf("first load: exit %d, %+v\n%s", code, first, errOut)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data[cut:]); err != nil {
		t.Fatal(err)
	}
	f.Close()
	backdate(t, path, time.Minute)
	for range 2 {
		code, s, errOut := loadJSON(t, "--lake", lake, "--on-change", "skip", src)
		if code != 1 || s.Grown != 1 || len(s.Errors) != 1 || s.Errors[0].Status != "grown" ||
			!strings.Contains(s.Errors[0].Error, "--on-change reload") {
			t.Errorf("load after the object grew: exit %d, %+v; want exit 1, grown 1\n%s", code, s, errOut)
		}
	}
	code, out, errOut := runCLI(t, "status", "--lake", lake, "--on-change", "skip", src)
	if code != 0 || !strings.Contains(out, "grew after it was loaded") {
		t.Errorf("status: exit %d\n%s%s", code, out, errOut)
	}
	// Reloading it gives the whole file (the events view: one row per event).
	code, s, errOut := loadJSON(t, "--lake", lake, "--on-change", "reload", src)
	if code != 0 || s.Committed != 1 || s.Records != n || s.Rejects != 0 {
		t.Fatalf("reload: exit %d, %+v\n%s", code, s, errOut)
	}
	if _, distinct, _, _ := settledCounts(t, lake); distinct != fmt.Sprint(n) {
		t.Errorf("distinct events %s, want %d", distinct, n)
	}
}
