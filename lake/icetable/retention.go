package icetable

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/eventlake/eventlake/lake"
)

// The metadata folder does not grow with every commit:
//
//   - A metadata version records the last N earlier versions in its
//     metadata log (write.metadata.previous-versions-max, default
//     DefaultMetadataVersions); older vN.metadata.json files are deleted
//     (write.metadata.delete-after-commit.enabled).
//   - When snapshots expire, the manifest lists, manifests and position
//     delete files that no retained snapshot refers to are deleted.
//
// Both are done by sweep, after each publication (the finishing hook),
// from what the folder holds and the current metadata refers to, so a
// crash at any point leaves nothing that a later run does not delete:
// manifest lists are deleted last, and a manifest list naming no snapshot
// of the metadata (an expired snapshot's, or a commit's that never
// happened) makes the next run sweep the manifests and delete files too.

// DefaultMetadataVersions is how many earlier metadata versions a table
// keeps besides the current one.
const DefaultMetadataVersions = 100

// metadataProps are the table properties that keep the last n metadata
// versions.
func metadataProps(n int) iceberg.Properties {
	return iceberg.Properties{
		table.MetadataPreviousVersionsMaxKey:      strconv.Itoa(n),
		table.MetadataDeleteAfterCommitEnabledKey: "true",
	}
}

// SetMetadataVersions makes the table keep the last n earlier metadata
// versions (at least 1), creating the table first if it has none. It
// reports whether it committed a new version.
func (t *Table) SetMetadataVersions(ctx context.Context, n int) (bool, error) {
	if n < 1 {
		return false, fmt.Errorf("icetable: keep at least 1 earlier metadata version, not %d", n)
	}
	tbl, err := t.Load(ctx)
	if err == nil && tbl == nil {
		tbl, err = t.create(ctx)
	}
	if err != nil {
		return false, err
	}
	want := metadataProps(n)
	same := true
	for k, v := range want {
		same = same && tbl.Properties()[k] == v
	}
	if same {
		return false, nil
	}
	txn := tbl.NewTransaction()
	if err := txn.SetProperties(want); err != nil {
		return false, err
	}
	if _, err := txn.Commit(ctx); err != nil {
		return false, fmt.Errorf("icetable: set %s: %w", table.MetadataPreviousVersionsMaxKey, err)
	}
	return true, nil
}

// localPath turns a location written in the metadata into a local path.
func localPath(loc string) string { return filepath.Clean(strings.TrimPrefix(loc, "file://")) }

// norm names a file of the table's metadata as the sweep lists it: its
// local path in a folder lake, its URL in a bucket lake.
func (t *Table) norm(loc string) string {
	if t.bucket != nil {
		return loc
	}
	return localPath(loc)
}

// metaFile is a file of the table's metadata folder: its name, and its
// location (local path or URL).
type metaFile struct{ name, loc string }

// metadataFiles lists the files of the table's metadata folder (in a
// bucket lake, the objects directly under its prefix).
func (t *Table) metadataFiles(ctx context.Context) ([]metaFile, error) {
	dir := t.store.Dir()
	var out []metaFile
	if t.bucket != nil {
		prefix, err := keyOf(t.bucket, strings.TrimSuffix(dir, "/")+"/")
		if err != nil {
			return nil, err
		}
		err = t.bucket.List(ctx, prefix, "", func(o lake.ObjectInfo) error {
			name := strings.TrimPrefix(o.Key, prefix)
			if name != "" && !strings.Contains(name, "/") {
				out = append(out, metaFile{name, t.bucket.URL() + o.Key})
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("icetable: sweep %s: %w", dir, err)
		}
		return out, nil
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("icetable: sweep %s: %w", dir, err)
	}
	for _, e := range ents {
		if e.Type().IsRegular() {
			out = append(out, metaFile{e.Name(), filepath.Join(dir, e.Name())})
		}
	}
	return out, nil
}

// sweep deletes from the table's metadata folder the metadata files older
// than its metadata log, and, when snapshots were expired (or a manifest
// list names no snapshot of the metadata), the manifest lists, manifests
// and delete files no retained snapshot refers to. It returns the number
// of files deleted. Step (crash point): during-sweep, between the
// manifests and delete files and the manifest lists.
func (t *Table) sweep(ctx context.Context, expired bool, step func(string)) (int, error) {
	ents, err := t.metadataFiles(ctx)
	if err != nil {
		return 0, err
	}
	if len(ents) == 0 {
		return 0, nil
	}
	tbl, v, err := t.load(ctx)
	if err != nil || tbl == nil {
		return 0, err
	}
	meta := tbl.Metadata()
	logged := map[string]bool{t.norm(tbl.MetadataLocation()): true}
	for e := range meta.PreviousFiles() {
		logged[t.norm(e.MetadataFile)] = true
	}
	lists := map[string]bool{}
	for _, sn := range meta.Snapshots() {
		lists[t.norm(sn.ManifestList)] = true
	}
	var oldMeta, orphanLists, others []string
	for _, e := range ents {
		name, p := e.name, e.loc
		switch {
		case strings.HasSuffix(name, ".metadata.json"):
			var n int
			if _, err := fmt.Sscanf(name, "v%d.metadata.json", &n); err == nil && n < v && !logged[p] {
				oldMeta = append(oldMeta, p)
			}
		case strings.HasPrefix(name, "snap-") && strings.HasSuffix(name, ".avro"):
			if !lists[p] {
				orphanLists = append(orphanLists, p)
			}
		case strings.HasSuffix(name, ".avro"), strings.HasPrefix(name, "deletes-") && strings.HasSuffix(name, ".parquet"):
			others = append(others, p)
		}
	}
	var doomed []string
	if (expired || len(orphanLists) > 0) && len(others) > 0 {
		ref, err := t.referenced(tbl)
		if err != nil {
			return 0, err
		}
		for _, p := range others {
			if !ref[p] {
				doomed = append(doomed, p)
			}
		}
	}
	n := 0
	remove := func(ps []string) error {
		for _, p := range ps {
			if err := t.fs.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("icetable: sweep: %w", err)
			}
			n++
		}
		return nil
	}
	if err := remove(doomed); err != nil {
		return n, err
	}
	if len(doomed) > 0 && step != nil {
		step("during-sweep")
	}
	if err := remove(orphanLists); err != nil {
		return n, err
	}
	return n, remove(oldMeta)
}

// referenced lists the manifests and delete files the retained snapshots
// of tbl refer to.
func (t *Table) referenced(tbl *table.Table) (map[string]bool, error) {
	out := map[string]bool{}
	for _, sn := range tbl.Metadata().Snapshots() {
		mfs, err := sn.Manifests(t.fs)
		if err != nil {
			return nil, fmt.Errorf("icetable: snapshot %d: %w", sn.SnapshotID, err)
		}
		for _, mf := range mfs {
			out[t.norm(mf.FilePath())] = true
			if mf.ManifestContent() != iceberg.ManifestContentDeletes {
				continue
			}
			entries, err := mf.FetchEntries(t.fs, true)
			if err != nil {
				return nil, fmt.Errorf("icetable: manifest %s: %w", mf.FilePath(), err)
			}
			for _, e := range entries {
				out[t.norm(e.DataFile().FilePath())] = true
			}
		}
	}
	return out, nil
}
