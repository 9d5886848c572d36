package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/eventlake/eventlake/lake/icetable"
)

// icebergReferenced lists what the table's current metadata refers to in
// its metadata folder: the current and logged metadata files, the version
// hint, and each retained snapshot's manifest list, manifests and delete
// files.
func icebergReferenced(t *testing.T, tbl *table.Table) map[string]bool {
	t.Helper()
	out := map[string]bool{tbl.MetadataLocation(): true}
	for e := range tbl.Metadata().PreviousFiles() {
		out[e.MetadataFile] = true
	}
	out[filepath.Join(filepath.Dir(tbl.MetadataLocation()), icetable.HintFile)] = true
	fs, err := tbl.FS(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, sn := range tbl.Metadata().Snapshots() {
		out[sn.ManifestList] = true
		mfs, err := sn.Manifests(fs)
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			out[mf.FilePath()] = true
			if mf.ManifestContent() != iceberg.ManifestContentDeletes {
				continue
			}
			es, err := mf.FetchEntries(fs, true)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				out[e.DataFile().FilePath()] = true
			}
		}
	}
	return out
}

// metadataFolder lists the files of the events table's metadata folder.
func metadataFolder(t *testing.T, lakeDir string) (all, versions []string) {
	t.Helper()
	dir := filepath.Join(lakeDir, "events", icetable.MetaFolder)
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		p := filepath.Join(dir, e.Name())
		all = append(all, p)
		if strings.HasSuffix(e.Name(), ".metadata.json") {
			versions = append(versions, p)
		}
	}
	return all, versions
}

// assertMetadataFolderReferenced checks that every file of the metadata
// folder is referenced by the current metadata, and that at most max
// metadata versions are kept besides the current one.
func assertMetadataFolderReferenced(t *testing.T, lakeDir string, max int, when string) {
	t.Helper()
	tbl := loadIcebergTable(t, lakeDir)
	ref := icebergReferenced(t, tbl)
	all, versions := metadataFolder(t, lakeDir)
	for _, p := range all {
		if !ref[p] {
			t.Errorf("%s: %s is in the metadata folder, referenced by no retained snapshot or logged version", when, filepath.Base(p))
		}
	}
	if len(versions) > max+1 {
		t.Errorf("%s: %d metadata versions kept, want at most %d + the current one", when, len(versions), max)
	}
	n := 0
	for range tbl.Metadata().PreviousFiles() {
		n++
	}
	if n > max {
		t.Errorf("%s: metadata log holds %d versions, want at most %d", when, n, max)
	}
}

// TestIcebergMetadataRetention: the metadata folder does not grow with
// every commit: older metadata versions than the last N
// (write.metadata.previous-versions-max, set by iceberg sync
// --metadata-versions) are deleted, and so are the manifest lists,
// manifests and delete files of expired snapshots.
func TestIcebergMetadataRetention(t *testing.T) {
	lakeDir := t.TempDir()
	src := filepath.Join(t.TempDir(), "pismo")
	if err := os.CopyFS(src, os.DirFS(testdata("pismo"))); err != nil {
		t.Fatal(err)
	}
	a, b := compactSources(t)
	if code, _, errOut := runCLI(t, "load", "--lake", lakeDir, "--settle", "0", "-q", "--iceberg", src); code != 0 {
		t.Fatalf("load: exit %d\n%s", code, errOut)
	}
	tbl := loadIcebergTable(t, lakeDir)
	if v := tbl.Properties()[table.MetadataPreviousVersionsMaxKey]; v != "100" {
		t.Errorf("%s = %q, want 100 by default", table.MetadataPreviousVersionsMaxKey, v)
	}
	code, out, errOut := runCLI(t, "iceberg", "sync", "--lake", lakeDir, "--metadata-versions", "3")
	if code != 0 {
		t.Fatalf("iceberg sync --metadata-versions 3: exit %d\n%s%s", code, out, errOut)
	}
	steps := [][]string{
		{"load", "--lake", lakeDir, "--settle", "0", "-q", a},
		{"reprocess", "--lake", lakeDir, "--object", "**09-00-00*", "--settle", "0", "-q", src},
		{"load", "--lake", lakeDir, "--settle", "0", "-q", b},
		{"forget", "--lake", lakeDir, "--object", "**10-05-00*"},
		{"compact", "--lake", lakeDir, "--query-cache=false", "--iceberg-retention", "1ms"},
		{"iceberg", "sync", "--lake", lakeDir, "--iceberg-retention", "1ms"},
	}
	for _, args := range steps {
		if code, out, errOut := runCLI(t, args...); code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		assertMetadataFolderReferenced(t, lakeDir, 3, strings.Join(args[:1], " "))
	}
	tbl = loadIcebergTable(t, lakeDir)
	if n := len(tbl.Metadata().Snapshots()); n != 1 {
		t.Errorf("%d snapshots after expiry, want 1", n)
	}
	if dels := assertIcebergIsShell(t, lakeDir, "after expiry"); len(dels) != 0 {
		t.Errorf("delete files after compaction: %q", dels)
	}
	all, _ := metadataFolder(t, lakeDir)
	if slices.ContainsFunc(all, func(p string) bool { return strings.Contains(filepath.Base(p), "deletes-") }) {
		t.Errorf("delete files left in the metadata folder after expiry: %q", all)
	}
}
