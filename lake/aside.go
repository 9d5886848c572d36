package lake

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/fsync"
)

// SetAside moves the lake file at rel (a catalog path: relative,
// '/'-separated, in a table folder) to AsideDir(kind, now)/rel, keeping its
// path below that folder, and returns the new path. A file already set
// aside under that name is kept: the new one gets a ".1", ".2", … suffix.
// Both folders are synced, so the move survives a crash. Files are never
// deleted: what repair takes out of the table folders stays in the lake's
// metadata folder for whoever wants to look at it.
func (l Layout) SetAside(rel, kind string, now time.Time) (string, error) {
	clean := filepath.ToSlash(filepath.Clean(filepath.FromSlash(rel)))
	if rel == "" || filepath.IsAbs(rel) || clean != rel || clean == ".." || len(clean) > 2 && clean[:3] == "../" || IsMeta(clean) {
		return "", fmt.Errorf("set aside %q: not a table file of the lake", rel)
	}
	from := l.File(rel)
	to := filepath.Join(l.AsideDir(kind, now), filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(to), dirPerm); err != nil {
		return "", err
	}
	for i := 1; ; i++ {
		_, err := os.Lstat(to)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return "", err
		}
		to = filepath.Join(l.AsideDir(kind, now), filepath.FromSlash(rel)) + "." + strconv.Itoa(i)
	}
	if err := os.Rename(from, to); err != nil {
		return "", err
	}
	if err := fsync.Dir(filepath.Dir(to)); err != nil {
		return "", err
	}
	if err := syncParents(filepath.Dir(to), l.MetaDir()); err != nil {
		return "", err
	}
	if err := fsync.Dir(filepath.Dir(from)); err != nil {
		return "", err
	}
	return to, nil
}

// ManifestedFile is a file a published load manifest names.
type ManifestedFile struct {
	LoadID string
	File   catalog.FileRecord
}

// ManifestedFiles maps the path of every file named by a manifest in the
// loads folder to its load and record . A manifest that cannot be read is an error.
func (l Layout) ManifestedFiles() (map[string]ManifestedFile, error) {
	entries, err := os.ReadDir(l.ManifestsDir())
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]ManifestedFile{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string]ManifestedFile{}
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".json" || e.Name()[0] == '.' {
			continue
		}
		m, err := ReadManifest(filepath.Join(l.ManifestsDir(), e.Name()))
		if err != nil {
			return nil, err
		}
		for _, f := range m.Files {
			out[f.Path] = ManifestedFile{LoadID: m.LoadID, File: f}
		}
	}
	return out, nil
}

// SetAside moves the lake file at rel out of the table folders into the
// lake's aside folder of kind (see Layout.SetAside), and returns where it
// went. In a bucket the object is copied to _eventlake/<kind>/<date>/<rel>
// (a key already used gets a ".1", ".2", … suffix), then deleted from its
// table folder: a crash in between leaves both copies, and the next repair
// moves it again (never a deletion without a copy).
func (w *Writer) SetAside(ctx context.Context, rel, kind string, now time.Time) (string, error) {
	if w.bucket == nil {
		return w.Layout.SetAside(rel, kind, now)
	}
	if err := catalog.CheckFilePath(rel); err != nil || IsMeta(rel) {
		return "", fmt.Errorf("set aside %q: not a table file of the lake", rel)
	}
	store := w.bucket.store
	base := metaPrefix + kind + "/" + now.UTC().Format("2006-01-02") + "/" + rel
	to := base
	for i := 1; ; i++ {
		taken := false
		if err := store.List(ctx, to, "", func(o ObjectInfo) error {
			taken = taken || o.Key == to
			return nil
		}); err != nil {
			return "", err
		}
		if !taken {
			break
		}
		to = base + "." + strconv.Itoa(i)
	}
	if err := store.Copy(ctx, rel, to); err != nil {
		return "", fmt.Errorf("copy %s to %s: %w", rel, to, err)
	}
	if err := store.Delete(ctx, rel); err != nil {
		return "", fmt.Errorf("delete %s (copied to %s): %w", rel, to, err)
	}
	return store.URL() + to, nil
}

// Store returns the object store of a lake in a bucket, or nil for a lake
// in a folder.
func (w *Writer) Store() ObjectStore {
	if w.bucket == nil {
		return nil
	}
	return w.bucket.store
}
