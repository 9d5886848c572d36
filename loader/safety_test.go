package loader_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/laketest"
	"github.com/eventlake/eventlake/loader"
)

// copyTree copies the files under src into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		copyFile(t, p, filepath.Join(dst, rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// objectStatuses counts the catalog's object rows by status.
func objectStatuses(t *testing.T, lake string) map[string]int {
	t.Helper()
	c, err := catalog.Open(loader.CatalogPath(lake), catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rows, err := c.DB().Query(`SELECT status, count(*) FROM objects GROUP BY status`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		got[s] = n
	}
	return got
}

// parquetRows counts the events rows by reading the lake's Parquet files.
func parquetRows(t *testing.T, lake string) string {
	t.Helper()
	return laketest.One(t, laketest.DuckDB(t), "select count(*) from "+laketest.Events(lake))
}

// The same object reached through several spellings of one source, or
// through overlapping sources, is one object: it is loaded once, recorded
// committed, and later copies of it are recognised as duplicates.
func TestRepeatedSourcesLoadEachObjectOnce(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "c1")
	copyTree(t, testdata("pismo"), src)
	rel, err := filepath.Rel(mustGetwd(t), src)
	if err != nil {
		t.Fatal(err)
	}
	clean := t.TempDir()
	want := load(t, clean, src)

	spellings := map[string][]string{
		"twice":       {src, src},
		"spellings":   {src, rel + "/", "file://" + filepath.ToSlash(src), rel},
		"overlapping": {src, filepath.Join(src, "main_stream")},
		"inner first": {filepath.Join(src, "main_stream"), src},
	}
	for name, srcs := range spellings {
		t.Run(name, func(t *testing.T) {
			lake := t.TempDir()
			sum := load(t, lake, srcs...)
			if sum.Objects != want.Objects || sum.Committed != want.Objects || sum.Duplicates != 0 || sum.Records != want.Records {
				t.Fatalf("summary %+v, want %d objects committed, %d records", sum, want.Objects, want.Records)
			}
			if got := objectStatuses(t, lake); got["committed"] != int(want.Objects) || len(got) != 1 {
				t.Fatalf("catalog objects by status %v, want %d committed", got, want.Objects)
			}
			if got, wantRows := parquetRows(t, lake), parquetRows(t, clean); got != wantRows {
				t.Fatalf("parquet rows %s, want %s", got, wantRows)
			}
			// Copies under new names add no rows, as in the clean lake.
			copies := filepath.Join(dir, "copies-"+strings.ReplaceAll(name, " ", "-"))
			copyTree(t, filepath.Join(src, "main_stream"), copies)
			sum = load(t, lake, copies)
			if sum.Duplicates != sum.Objects || sum.Records != 0 {
				t.Fatalf("copies: %+v, want every object a duplicate, 0 records", sum)
			}
			if got, wantRows := parquetRows(t, lake), parquetRows(t, clean); got != wantRows {
				t.Fatalf("after copies: parquet rows %s, want %s", got, wantRows)
			}
			// A re-run of the same repeated list is a no-op.
			sum = load(t, lake, srcs...)
			if sum.LoadID != "" || sum.Skipped != want.Objects {
				t.Fatalf("re-run: %+v, want nothing new and %d skipped", sum, want.Objects)
			}
		})
	}
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

// A source folder whose data sits behind a folder link: follow_symlinks=true
// (also on a relative path) loads it; without it the skipped link is logged.
func TestFolderSymlinkSources(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, testdata("pismo"), filepath.Join(dir, "real"))
	if err := os.MkdirAll(filepath.Join(dir, "c1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "real", "main_stream"), filepath.Join(dir, "c1", "main_stream")); err != nil {
		t.Skip("symlinks not supported:", err)
	}
	t.Chdir(dir)

	var logs strings.Builder
	lake := t.TempDir()
	sum, err := loader.Run(context.Background(), loader.Options{Lake: lake, Workers: 2,
		Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))},
		[]loader.SourceSpec{{URL: "c1"}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Objects != 0 || !strings.Contains(logs.String(), "follow_symlinks=true") || !strings.Contains(logs.String(), "main_stream") {
		t.Fatalf("without follow_symlinks: %d objects, log:\n%s\nwant 0 objects and the skipped link logged", sum.Objects, logs.String())
	}

	sum = load(t, lake, "c1?follow_symlinks=true")
	if sum.Objects != 2 || sum.Committed != 2 || sum.Records != 16 {
		t.Fatalf("follow_symlinks=true: %+v, want 2 objects, 16 records", sum)
	}
	if got := parquetRows(t, lake); got != "16" {
		t.Fatalf("parquet rows %s, want 16", got)
	}
}

// A load cancelled after its objects were read (a watcher shutting down
// before the commit) is recorded as interrupted, with the cancel's cause,
// not as whichever catalog query noticed the cancel first.
func TestInterruptedLoadRecordsWhy(t *testing.T) {
	lake := t.TempDir()
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	calls := 0
	now := func() time.Time {
		calls++
		if calls == 2 { // the commit's clock: every object has been read
			cancel(errors.New("shutting down: context canceled"))
		}
		return time.Now()
	}
	_, err := loader.Run(ctx, loader.Options{Lake: lake, Workers: 2, Now: now}, []loader.SourceSpec{{URL: testdata("pismo")}})
	if err == nil {
		t.Fatal("a cancelled load succeeded")
	}
	c, cerr := catalog.Open(loader.CatalogPath(lake), catalog.Options{ReadOnly: true})
	if cerr != nil {
		t.Fatal(cerr)
	}
	defer c.Close()
	var status, reason string
	if err := c.DB().QueryRow(`SELECT status, COALESCE(error, '') FROM loads`).Scan(&status, &reason); err != nil {
		t.Fatal(err)
	}
	if status != "failed" || !strings.HasPrefix(reason, "interrupted: shutting down") || !strings.HasPrefix(err.Error(), "interrupted: shutting down") {
		t.Fatalf("load %s, reason %q, error %q; want failed, interrupted: shutting down", status, reason, err)
	}
	if got := laketest.Files(t, filepath.Join(lake, "events")); len(got) != 0 {
		t.Fatalf("an interrupted load left files: %v", got)
	}
}

// Memory grows with the workers that run (each holds its own buffers), so
// their number is bounded whatever Options.Workers says.
func TestWorkersAreBounded(t *testing.T) {
	dir := t.TempDir()
	const objects = 2 * loader.MaxWorkers
	for i := range objects {
		var b strings.Builder
		for j := range 5 {
			b.WriteString(pismoLine(fmt.Sprintf("o%d-e%d", i, j)) + "\n")
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("obj-%04d.json", i)), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, workers := range []int{3, loader.MaxWorkers, loader.MaxWorkers + 1, 10000} {
		sum, err := loader.Run(context.Background(), loader.Options{Lake: t.TempDir(), Workers: workers}, []loader.SourceSpec{{URL: dir}})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Committed != objects || sum.Workers != min(workers, loader.MaxWorkers) {
			t.Fatalf("workers %d: %d objects committed by %d workers, want %d by %d", workers, sum.Committed, sum.Workers, objects, min(workers, loader.MaxWorkers))
		}
	}
}
