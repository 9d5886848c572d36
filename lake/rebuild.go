package lake

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/fsync"
	"github.com/eventlake/eventlake/partitions"
)

// RebuildOptions configure Rebuild.
type RebuildOptions struct {
	Lake        string
	CatalogPath string // default <lake>/_eventlake/catalog.db
	DryRun      bool   // build the catalog in a temporary folder, report, change nothing
	LockWait    time.Duration
}

// RebuildReport says what Rebuild found and did.
type RebuildReport struct {
	DryRun  bool             `json:"dry_run"`
	Catalog string           `json:"catalog"`
	Loads   int              `json:"loads"`
	Objects map[string]int64 `json:"objects"`
	Files   int64            `json:"files"`
	Rows    int64            `json:"rows"`
	Rejects int64            `json:"rejects"`
	// Published counts files of committed loads that were still in the
	// staging area (a crash while publishing) and have been published.
	Published int `json:"published"`
	// ReplacedDeleted counts files a compaction replaced that were still on
	// disk (a crash before their deletion) and have been deleted.
	ReplacedDeleted int `json:"replaced_deleted"`
	// Missing lists files a manifest names that are not in the lake (their
	// rows are lost; restore them from a backup and rebuild again).
	Missing []string `json:"missing"`
	// Untracked lists Parquet files of the lake that no manifest names.
	Untracked []string `json:"untracked"`
	// Uncommitted lists loads whose manifest was staged but none of whose
	// files were published: they are not recovered (their objects load
	// again).
	Uncommitted []string `json:"uncommitted"`
}

// Rebuild reconstructs the catalog of a lake whose catalog is lost from the
// load manifests in <lake>/_eventlake/loads/ (and those still staged by a
// load that committed but did not finish publishing), replaying them in
// commit order through the catalog's own methods so loads, objects, files,
// replaced files and schemas are as the lost catalog had them. It refuses
// when a catalog with loads exists, and when the lake holds Parquet files
// that no manifest names (their objects could not be recognised as loaded
// and would be loaded twice). It holds the writer lock throughout. A lake
// in a bucket is rebuilt from its commit log instead (see rebuildBucket).
func Rebuild(ctx context.Context, o RebuildOptions) (*RebuildReport, error) {
	if o.Lake == "" {
		return nil, errors.New("catalog rebuild: no lake given")
	}
	if loc, err := ParseLocation(o.Lake); err != nil {
		return nil, err
	} else if loc.IsBucket() {
		return rebuildBucket(ctx, loc, o)
	}
	root, err := filepath.Abs(o.Lake)
	if err != nil {
		return nil, err
	}
	l := At(root)
	if o.CatalogPath == "" {
		o.CatalogPath = l.CatalogPath()
	}
	catPath, err := filepath.Abs(o.CatalogPath)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("catalog rebuild: lake %s is not a folder", o.Lake)
	}
	lock, err := AcquireLock(root, o.LockWait, "catalog rebuild")
	if err != nil {
		return nil, err
	}
	defer lock.Release()

	replaceEmpty := false
	if _, err := os.Stat(catPath); err == nil {
		cat, err := catalog.Open(catPath, catalog.Options{ReadOnly: true})
		if err != nil {
			return nil, fmt.Errorf("catalog rebuild: %w", err)
		}
		loads, err := cat.LoadCount(ctx)
		cat.Close()
		if err != nil {
			return nil, fmt.Errorf("catalog rebuild: %w", err)
		}
		if loads > 0 {
			p := shellQuote(catPath)
			return nil, fmt.Errorf("catalog %s already exists and records %d load(s); catalog rebuild never overwrites a catalog. "+
				"If it is older than the lake or damaged, move it aside with its -wal and -shm files first "+
				"(for f in %s %s-wal %s-shm; do mv \"$f\" \"$f.old\"; done)", catPath, loads, p, p, p)
		}
		replaceEmpty = true // made by a watcher or a refused writer: nothing in it
	}

	rep := &RebuildReport{DryRun: o.DryRun, Catalog: catPath, Missing: []string{}, Untracked: []string{}, Uncommitted: []string{}}
	onDisk, err := lakeParquet(l)
	if err != nil {
		return nil, fmt.Errorf("catalog rebuild: list the lake's files: %w", err)
	}
	manifests, err := readManifests(l, onDisk, rep)
	if err != nil {
		return nil, fmt.Errorf("catalog rebuild: %w", err)
	}

	named := map[string]bool{}
	replaced := map[string]bool{}
	for _, m := range manifests {
		for _, f := range m.Files {
			named[f.Path] = true
		}
		for _, p := range m.Replaces {
			replaced[p] = true
		}
		for _, p := range m.Retires {
			replaced[p] = true // retired (format 2): deleted after that commit
		}
	}
	for p := range onDisk {
		if !named[p] {
			rep.Untracked = append(rep.Untracked, p)
		}
	}
	sort.Strings(rep.Untracked)
	if len(rep.Untracked) > 0 {
		show := rep.Untracked[:min(len(rep.Untracked), 5)]
		return rep, fmt.Errorf("catalog rebuild: %d Parquet file(s) of the lake are named by no load manifest under %s (e.g. %s): "+
			"they were written by an eventlake that kept no manifests, or copied in. Without a manifest the objects they came from "+
			"cannot be recognised as loaded, and a load would write them again. Move them out of the lake (keeping their "+
			"folders), run catalog rebuild, then load their sources again",
			len(rep.Untracked), l.ManifestsDir(), strings.Join(show, ", "))
	}

	// Build the new catalog under a temporary name (a dry run: outside the lake).
	var tmpDir string
	if o.DryRun {
		tmpDir, err = os.MkdirTemp("", "eventlake-rebuild-*")
	} else {
		if err := ensureDirSynced(filepath.Dir(catPath)); err != nil {
			return nil, err
		}
		tmpDir, err = os.MkdirTemp(filepath.Dir(catPath), ".rebuild-*")
	}
	if err != nil {
		return nil, fmt.Errorf("catalog rebuild: %w", err)
	}
	defer os.RemoveAll(tmpDir)
	tmp := filepath.Join(tmpDir, "catalog.db")
	cat, err := catalog.Open(tmp, catalog.Options{})
	if err != nil {
		return nil, fmt.Errorf("catalog rebuild: %w", err)
	}
	defer cat.Close()

	inserted := map[string]bool{}
	var lastSeq int64
	for _, m := range manifests {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := replay(ctx, cat, m, onDisk, replaced, inserted, rep); err != nil {
			return nil, fmt.Errorf("catalog rebuild: load %s: %w", m.LoadID, err)
		}
		lastSeq = max(lastSeq, m.Seq)
		rep.Loads++
	}
	if st, ok, err := ReadLakeState(l); err != nil {
		return nil, err
	} else if ok {
		lastSeq = max(lastSeq, st.Commits)
	}
	if err := cat.RaiseCommitCount(ctx, lastSeq); err != nil {
		return nil, fmt.Errorf("catalog rebuild: %w", err)
	}
	st, err := cat.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("catalog rebuild: %w", err)
	}
	rep.Objects, rep.Files, rep.Rows, rep.Rejects = st.Objects, st.Files, st.Rows, st.Rejects
	removed, err := cat.RemovedFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("catalog rebuild: %w", err)
	}
	var leftovers []string
	for _, p := range removed {
		if onDisk[p] {
			leftovers = append(leftovers, p)
		}
	}
	if o.DryRun {
		rep.ReplacedDeleted = len(leftovers)
		return rep, nil
	}
	if err := writeLakeState(ctx, cat, l); err != nil {
		return nil, fmt.Errorf("catalog rebuild: %w", err)
	}
	if err := cat.Close(); err != nil {
		return nil, fmt.Errorf("catalog rebuild: %w", err)
	}
	if replaceEmpty {
		for _, suf := range []string{"", "-wal", "-shm"} {
			if err := os.Remove(catPath + suf); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("catalog rebuild: replace the empty catalog: %w", err)
			}
		}
	}
	// Link, not rename: a catalog that appeared meanwhile is never replaced.
	if err := os.Link(tmp, catPath); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("catalog rebuild: %s appeared while rebuilding; left it alone", catPath)
		}
		if rerr := os.Rename(tmp, catPath); rerr != nil {
			return nil, fmt.Errorf("catalog rebuild: %w", rerr)
		}
	}
	if err := fsync.Dir(filepath.Dir(catPath)); err != nil {
		return nil, fmt.Errorf("catalog rebuild: %w", err)
	}
	n, err := DeleteFiles(ctx, l, leftovers, nil)
	rep.ReplacedDeleted = n
	if err != nil {
		return rep, fmt.Errorf("catalog rebuild: the catalog is rebuilt, but deleting files a compaction replaced failed: %w", err)
	}
	return rep, nil
}

// replay records one manifest's load in cat as its commit did.
func replay(ctx context.Context, cat *catalog.Catalog, m *Manifest, onDisk, replaced, inserted map[string]bool, rep *RebuildReport) error {
	info := m.loadInfo()
	info.PID = max(info.PID, 1)
	if err := cat.BeginLoad(ctx, info); err != nil {
		return err
	}
	// The manifest's commit, with only the files still in the lake (or
	// deleted by a later compaction) and the replaced files among them.
	cm := m.commit()
	cm.Files, cm.Replaces, cm.Retires = nil, nil, nil
	for _, f := range m.Files {
		switch {
		case onDisk[f.Path] || replaced[f.Path]:
			// A missing file a later compaction replaced (or a later
			// commit retired) was deleted by it.
			cm.Files = append(cm.Files, f)
			inserted[f.Path] = true
		default:
			rep.Missing = append(rep.Missing, f.Path)
		}
	}
	for _, p := range m.Replaces {
		if inserted[p] {
			cm.Replaces = append(cm.Replaces, p)
		}
	}
	for _, p := range m.Retires {
		if inserted[p] {
			cm.Retires = append(cm.Retires, p)
		}
	}
	if err := cat.Commit(ctx, cm); err != nil {
		return err
	}
	return cat.MarkPublished(ctx, m.LoadID)
}

// readManifests reads the published manifests and those of loads that
// committed but did not finish publishing (a staged manifest some of whose
// files are in the lake: files are published only after the commit), whose
// publish it completes unless this is a dry run. They are returned in
// commit order.
func readManifests(l Layout, onDisk map[string]bool, rep *RebuildReport) ([]*Manifest, error) {
	var out []*Manifest
	seen := map[string]bool{}
	entries, err := os.ReadDir(l.ManifestsDir())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		m, err := ReadManifest(filepath.Join(l.ManifestsDir(), e.Name()))
		if err != nil {
			return nil, err
		}
		if m.LoadID+".json" != e.Name() {
			return nil, fmt.Errorf("manifest %s names load %s", e.Name(), m.LoadID)
		}
		seen[m.LoadID] = true
		out = append(out, m)
	}
	dirs, err := os.ReadDir(l.StagingRoot())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, d := range dirs {
		if !d.IsDir() || seen[d.Name()] {
			continue
		}
		p := l.StagedManifestPath(d.Name())
		if _, err := os.Stat(p); err != nil {
			continue
		}
		m, err := ReadManifest(p)
		if err != nil {
			return nil, err
		}
		if m.LoadID != d.Name() {
			return nil, fmt.Errorf("manifest %s names load %s", p, m.LoadID)
		}
		published := false
		var paths []string
		for _, f := range m.Files {
			published = published || onDisk[f.Path]
			paths = append(paths, f.Path)
		}
		if !published {
			rep.Uncommitted = append(rep.Uncommitted, m.LoadID)
			continue
		}
		if !rep.DryRun {
			n, err := partitions.PublishAll(l.Root(), l.StagingDir(m.LoadID), paths, nil)
			if err != nil {
				return nil, fmt.Errorf("finish publishing load %s: %w", m.LoadID, err)
			}
			rep.Published += n
			if err := moveManifest(l, m.LoadID); err != nil {
				return nil, fmt.Errorf("publish the manifest of load %s: %w", m.LoadID, err)
			}
		} else {
			for _, f := range m.Files {
				if !onDisk[f.Path] {
					rep.Published++
				}
			}
		}
		for _, f := range m.Files {
			onDisk[f.Path] = true
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Seq != out[j].Seq {
			return out[i].Seq < out[j].Seq
		}
		return out[i].LoadID < out[j].LoadID
	})
	return out, nil
}

// lakeParquet lists the Parquet files of the lake's tables ('/'-separated,
// relative to the lake): every folder at the top except the metadata folder
// and hidden ones (_rejects included).
func lakeParquet(l Layout) (map[string]bool, error) {
	out := map[string]bool{}
	entries, err := os.ReadDir(l.Root())
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !tableFolder(e) {
			continue
		}
		err := filepath.WalkDir(l.TableDir(e.Name()), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(d.Name(), ".parquet") {
				rel, err := filepath.Rel(l.Root(), p)
				if err != nil {
					return err
				}
				out[filepath.ToSlash(rel)] = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
