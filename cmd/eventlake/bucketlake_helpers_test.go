package main

import (
	"bytes"
	"context"
	dbsql "database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	lk "github.com/eventlake/eventlake/lake"
)

// bucketKeys lists the keys of the bucket lake at url.
func bucketKeys(t *testing.T, url string) []string {
	t.Helper()
	st := openBucket(t, url)
	var keys []string
	if err := st.List(context.Background(), "", "", func(o lk.ObjectInfo) error {
		keys = append(keys, o.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return keys
}

// bucketLog returns every entry of the bucket lake's commit log, in order.
func bucketLog(t *testing.T, lakeURL string) []lk.LogEntry {
	t.Helper()
	st := openBucket(t, lakeURL)
	var out []lk.LogEntry
	err := st.List(context.Background(), "_eventlake/log/", "", func(o lk.ObjectInfo) error {
		b, _, err := st.Get(context.Background(), o.Key)
		if err != nil {
			return err
		}
		var e lk.LogEntry
		if err := json.Unmarshal(b, &e); err != nil {
			return fmt.Errorf("%s: %w", o.Key, err)
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func openBucket(t *testing.T, url string) lk.ObjectStore {
	t.Helper()
	loc, err := lk.ParseLocation(url)
	if err != nil {
		t.Fatal(err)
	}
	st, err := lk.OpenStore(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// bucketRows downloads every Parquet file of the bucket lake's tables (as a
// Hive reader lists them: nothing under _eventlake/) and counts their rows
// and distinct event IDs with DuckDB, per table folder.
func bucketRows(t *testing.T, url, table string) (rows, distinct int64) {
	t.Helper()
	st := openBucket(t, url)
	dir := t.TempDir()
	var files []string
	for _, k := range bucketKeys(t, url) {
		if !strings.HasPrefix(k, table+"/") || !strings.HasSuffix(k, ".parquet") {
			continue
		}
		var buf bytes.Buffer
		if err := st.Download(context.Background(), k, &buf); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, fmt.Sprintf("f%05d.parquet", len(files)))
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, "'"+p+"'")
	}
	if len(files) == 0 {
		return 0, 0
	}
	db, err := dbsql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(`SELECT count(*), count(DISTINCT event_id) FROM read_parquet([`+strings.Join(files, ",")+`])`).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	return rows, distinct
}

// freshRunner gives the test a new empty working folder and HOME, as a
// scheduled run on a fresh machine has.
func freshRunner(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("HOME", dir)
	t.Setenv("TMPDIR", t.TempDir())
	return dir
}

// copyTree copies the regular files under src into dst, keeping paths.
func copyTree(t *testing.T, src, dst string, only func(rel string) bool) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if only != nil && !only(rel) {
			return nil
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755); err != nil {
			return err
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(filepath.Join(dst, rel))
		if err != nil {
			return err
		}
		defer out.Close()
		_, err = io.Copy(out, in)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
