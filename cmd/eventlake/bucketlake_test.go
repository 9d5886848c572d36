package main

import (
	"os"
	"strings"
	"testing"
)

// A lake URL of a scheme no store serves is refused by every command, and
// never becomes a local folder named after the scheme.
func TestLakeUnknownSchemeRefused(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, args := range [][]string{
		{"load", "--lake", "ftp://bucket/lake", "-q", testdata("pismo")},
		{"load", "--lake", "file:///tmp/lake", "-q", testdata("pismo")},
		{"status", "--lake", "ftp://bucket/lake"},
		{"sql", "--lake", "ftp://bucket/lake", "-c", "select 1"},
		{"compact", "--lake", "ftp://bucket/lake"},
		{"ddl", "--lake", "ftp://bucket/lake", "--engine", "spark", "--location", "s3://x/y"},
	} {
		code, _, errOut := runCLI(t, args...)
		if code != 2 || !strings.Contains(errOut, "is not a place a lake can live") {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and the unknown scheme named", args[0], code, errOut)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the refused lake left %v in the working folder", ents)
	}
}
