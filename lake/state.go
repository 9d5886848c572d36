package lake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/eventlake/eventlake/catalog"
)

// A lake outlives its catalog file: the catalog can be lost, deleted, or
// restored from a backup older than the files. The lake state,
// <lake>/_eventlake/lake.json, lets a writer tell cheaply at open that the
// catalog does not describe the lake it is about to write into: how many
// commits the lake has seen and its last committed load. The catalog counts
// its commits too (catalog.CommitCount). The lake state is rewritten from
// the catalog after a load is published (a finishing hook) and when a
// writer opens the lake, so it can lag the catalog (a crash in between) but
// never lead it — unless the catalog is older than the lake.

// LakeState is the content of <lake>/_eventlake/lake.json.
type LakeState struct {
	Commits    int64  `json:"commits"`
	LastLoadID string `json:"last_load_id"`
}

// ReadLakeState reads the lake state; ok is false when there is none.
func ReadLakeState(l Layout) (st LakeState, ok bool, err error) {
	b, err := os.ReadFile(l.LakeStatePath())
	if errors.Is(err, fs.ErrNotExist) {
		return st, false, nil
	}
	if err != nil {
		return st, false, fmt.Errorf("lake state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, false, fmt.Errorf("lake state %s is not valid JSON: %w", l.LakeStatePath(), err)
	}
	return st, true, nil
}

// writeLakeState rewrites the lake state from the catalog when the catalog
// is ahead of it.
func writeLakeState(ctx context.Context, c *catalog.Catalog, l Layout) error {
	n, last, err := c.CommitCount(ctx)
	if err != nil {
		return fmt.Errorf("lake state: %w", err)
	}
	st, ok, err := ReadLakeState(l)
	if err != nil {
		return err
	}
	if ok && st.Commits >= n {
		return nil
	}
	if err := writeJSONAtomic(l.LakeStatePath(), LakeState{Commits: n, LastLoadID: last}); err != nil {
		return fmt.Errorf("lake state: %w", err)
	}
	return nil
}

// updateLakeState is the finishing hook that brings the lake state up to
// the catalog once a load is published.
type updateLakeState struct{}

func (updateLakeState) Run(ctx context.Context, p *Publication) error {
	return writeLakeState(ctx, p.Catalog, p.Layout)
}

// ErrNoCatalog is wrapped by the error of a writer (or status) that finds
// lake files but no catalog; ErrStaleCatalog by the error of a writer that
// finds a catalog older than the lake.
var (
	ErrNoCatalog    = errors.New("lake has files but no catalog")
	ErrStaleCatalog = errors.New("catalog is older than the lake")
)

// rebuildHint is the command that rebuilds the catalog of the lake at root.
func rebuildHint(root, catalogPath string) string {
	cmd := "eventlake catalog rebuild --lake " + shellQuote(root)
	def, _ := filepath.Abs(At(root).CatalogPath())
	if abs, _ := filepath.Abs(catalogPath); abs != def {
		cmd += " --catalog " + shellQuote(catalogPath)
	}
	return cmd
}

// shellQuote quotes s for a copy-pasteable shell command when needed.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// tableFolder reports whether a top-level entry of the lake may hold table
// files: hidden names and the underscore names (the metadata folder and
// anything else engines ignore) do not, except the quarantine table.
func tableFolder(e fs.DirEntry) bool {
	n := e.Name()
	return e.IsDir() && !strings.HasPrefix(n, ".") && (!strings.HasPrefix(n, "_") || n == "_rejects")
}

// lakeData returns evidence that the lake at root has been written to (a
// path relative to the root: the lake state when it records commits, else
// the first Parquet file of its tables), or "" when it has none.
func lakeData(l Layout) (string, error) {
	if st, ok, err := ReadLakeState(l); err != nil {
		return "", err
	} else if ok && st.Commits > 0 {
		rel, _ := filepath.Rel(l.Root(), l.LakeStatePath())
		return filepath.ToSlash(rel), nil
	}
	entries, err := os.ReadDir(l.Root())
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	found := errors.New("found")
	var first string
	for _, e := range entries {
		if !tableFolder(e) {
			continue
		}
		err := filepath.WalkDir(l.TableDir(e.Name()), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // unreadable parts: keep looking elsewhere
			}
			if !d.IsDir() && strings.HasSuffix(d.Name(), ".parquet") {
				first, _ = filepath.Rel(l.Root(), p)
				return found
			}
			return nil
		})
		if errors.Is(err, found) {
			return filepath.ToSlash(first), nil
		}
	}
	return "", nil
}

// CheckMissing is for a catalog that does not exist (or records no load):
// it returns an error wrapping ErrNoCatalog, naming the command that
// rebuilds the catalog, when the lake at root nevertheless holds files of
// earlier loads. It only reads.
func CheckMissing(root, catalogPath string) error {
	ex, err := lakeData(At(root))
	if err != nil {
		return fmt.Errorf("lake %s: %w", root, err)
	}
	if ex == "" {
		return nil
	}
	return fmt.Errorf("%w: %s holds files of earlier loads (e.g. %s) but the catalog %s is missing or empty. "+
		"Writing now would load every object a second time. Rebuild the catalog from the files first: %s",
		ErrNoCatalog, root, ex, catalogPath, rebuildHint(root, catalogPath))
}

// CheckCatalog compares the catalog with the lake at root it is used for:
// it returns an error wrapping ErrNoCatalog when the catalog has no load
// but the lake has files, and one wrapping ErrStaleCatalog when the lake
// has seen commits the catalog does not know (a catalog restored from a
// backup, or one of another copy of the lake). Writers refuse on either
// (OpenWriter); readers (status, the shell) warn. It only reads: the lake
// state (and, for an empty catalog, the lake until its first Parquet file).
func CheckCatalog(ctx context.Context, c *catalog.Catalog, root string) error {
	n, last, err := c.CommitCount(ctx)
	if err != nil {
		return err
	}
	loads, err := c.LoadCount(ctx)
	if err != nil {
		return err
	}
	if loads == 0 {
		return CheckMissing(root, c.Path())
	}
	st, ok, err := ReadLakeState(At(root))
	if err != nil || !ok {
		return err // a lake written before lake states existed
	}
	if st.Commits <= n {
		// Equal or behind (a crash between the catalog commit and the
		// lake state's update): the lake's last load must be one the
		// catalog committed.
		if st.LastLoadID == "" {
			return nil
		}
		status, err := c.LoadStatus(ctx, st.LastLoadID)
		if err != nil {
			return err
		}
		if status == "committed" || status == "published" {
			return nil
		}
	}
	p := shellQuote(c.Path())
	return fmt.Errorf("%w: the catalog %s has recorded %d commit(s) (last load %s), but the lake %s has seen %d (last load %s): "+
		"it was restored from a backup or belongs to another copy of the lake. Loading with it would write again what the later "+
		"loads wrote. Move it aside with its -wal and -shm files (for f in %s %s-wal %s-shm; do mv \"$f\" \"$f.old\"; done), "+
		"then rebuild the catalog from the lake's files: %s",
		ErrStaleCatalog, c.Path(), n, orNone(last), root, st.Commits, orNone(st.LastLoadID), p, p, p, rebuildHint(root, c.Path()))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
