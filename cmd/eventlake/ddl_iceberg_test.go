package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// syncedMetadata runs `iceberg sync` and returns the metadata file it names.
func syncedMetadata(t *testing.T, lakeDir string) string {
	t.Helper()
	code, out, errOut := runCLI(t, "iceberg", "sync", "--lake", lakeDir)
	if code != 0 {
		t.Fatalf("iceberg sync: exit %d\n%s", code, errOut)
	}
	for _, l := range strings.Split(out, "\n") {
		if m, ok := strings.CutPrefix(l, "metadata: "); ok {
			return m
		}
	}
	t.Fatalf("iceberg sync printed no metadata file:\n%s", out)
	return ""
}

func TestDDLIceberg(t *testing.T) {
	lakeDir := t.TempDir()
	a, b := compactSources(t)
	if code, _, errOut := runCLI(t, "load", "--lake", lakeDir, "-q", a); code != 0 {
		t.Fatalf("load a: exit %d\n%s", code, errOut)
	}
	// No table yet: refused, naming the command that makes one.
	code, _, errOut := runCLI(t, "ddl", "--format", "iceberg", "--lake", lakeDir, "--engine", "spark")
	if code != 2 || !strings.Contains(errOut, "eventlake iceberg sync") {
		t.Fatalf("ddl --format iceberg without a table: exit %d, want 2 naming `eventlake iceberg sync`\n%s", code, errOut)
	}
	meta := syncedMetadata(t, lakeDir)
	rel, err := filepath.Rel(lakeDir, meta)
	if err != nil || strings.HasPrefix(rel, "..") {
		t.Fatalf("metadata %s is not in the lake %s", meta, lakeDir)
	}
	rel = filepath.ToSlash(rel)
	for _, c := range []struct{ engine, location, want string }{
		{"spark", "", "metadata_file => '" + filepath.ToSlash(meta) + "'"},
		{"spark", "s3://acme/lake", "metadata_file => 's3://acme/lake/" + rel + "'"},
		{"athena", "s3://acme/lake/", `"metadata_location":"s3://acme/lake/` + rel + `"`},
		{"trino", "s3://acme/lake/", `"metadata_location":"s3://acme/lake/` + rel + `"`},
		{"snowflake", "s3://acme/lake/", "REFRESH '" + rel + "'"},
		{"bigquery", "gs://acme/lake/", "uris = ['gs://acme/lake/" + rel + "']"},
	} {
		code, out, errOut := runCLI(t, "ddl", "--format", "iceberg", "--lake", lakeDir, "--engine", c.engine, "--location", c.location)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", c.engine, code, errOut)
		}
		if !strings.Contains(out, c.want) || !strings.Contains(out, "_rejects/_iceberg/v") {
			t.Errorf("%s %s: output does not contain %s and the _rejects table:\n%s", c.engine, c.location, c.want, out)
		}
		if !strings.Contains(errOut, "warning:") || !strings.Contains(out, filepath.ToSlash(lakeDir)) {
			t.Errorf("%s: the data files' local paths are not named:\n%s\n%s", c.engine, out, errOut)
		}
	}
	// A new commit makes a new metadata file, which the refresh names.
	if code, _, errOut := runCLI(t, "load", "--lake", lakeDir, "-q", b); code != 0 {
		t.Fatalf("load b: exit %d\n%s", code, errOut)
	}
	meta2 := syncedMetadata(t, lakeDir)
	if meta2 == meta {
		t.Fatalf("metadata file unchanged after a load: %s", meta2)
	}
	_, out, _ := runCLI(t, "ddl", "--format", "iceberg", "--lake", lakeDir, "--engine", "spark")
	if !strings.Contains(out, filepath.ToSlash(meta2)) || strings.Contains(out, filepath.ToSlash(meta)+"'") {
		t.Errorf("after a load the statements should name %s only:\n%s", meta2, out)
	}
	// Object-store engines need --location; hive DDL knows no snowflake; bad formats.
	for _, args := range [][]string{
		{"--format", "iceberg", "--lake", lakeDir, "--engine", "bigquery"},
		{"--format", "iceberg", "--engine", "spark"},
		{"--format", "hive", "--lake", lakeDir, "--engine", "snowflake", "--location", "s3://b/"},
		{"--format", "delta", "--lake", lakeDir, "--engine", "spark", "--location", "s3://b/"},
	} {
		if code, _, errOut := runCLI(t, append([]string{"ddl"}, args...)...); code != 2 {
			t.Errorf("ddl %v: exit %d, want 2\n%s", args, code, errOut)
		}
	}
}
