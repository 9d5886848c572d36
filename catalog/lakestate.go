package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/eventlake/eventlake/partitions"
)

// A lake outlives its catalog file: the catalog can be lost, deleted, or
// restored from a backup older than the files. Two small records let a
// writer tell, cheaply at open, that the catalog does not describe the lake
// it is about to write into:
//
//   - the lake state, <lake>/_eventlake/lake.json: how many commits the lake
//     has seen and the last committed load. The catalog counts its commits
//     too (meta 'commits', incremented in each Commit's transaction). The
//     lake state is rewritten after the catalog commit (in MarkPublished and
//     when a writer opens the lake), so it can lag the catalog (a crash in
//     between) but never lead it — unless the catalog is older than the lake.
//   - one manifest per load, <lake>/_eventlake/loads/<load_id>.json: the load,
//     its objects, files, replaced files and schemas, exactly as committed.
//     It is staged with the load's files (written before the catalog
//     transaction commits) and published by MarkPublished, after the files.
//     `eventlake catalog rebuild` replays the manifests into a new catalog.

// ManifestFormat is the version of the manifest's JSON layout.
const ManifestFormat = 1

const (
	lakeStateName   = "lake.json"
	manifestsDir    = "loads"
	stagedManifest  = "manifest.json"
	metaCommits     = "commits"
	metaLastCommit  = "last_commit"
	eventlakeSubdir = "_eventlake"
)

// LakeState is the content of <lake>/_eventlake/lake.json.
type LakeState struct {
	Commits    int64  `json:"commits"`
	LastLoadID string `json:"last_load_id"`
}

// Manifest is everything one committed load made visible.
type Manifest struct {
	Format  int    `json:"format"`
	Seq     int64  `json:"seq"` // the catalog's commit counter after this commit
	LoadID  string `json:"load_id"`
	Command string `json:"command"`
	Host    string `json:"host,omitempty"`
	PID     int    `json:"pid,omitempty"`
	// Sources are the load's (redacted) source URLs.
	Sources    []string       `json:"sources"`
	StartedAt  int64          `json:"started_at"`  // unix micros
	FinishedAt int64          `json:"finished_at"` // unix micros (the commit)
	Records    int64          `json:"records"`
	Rejects    int64          `json:"rejects"`
	Bytes      int64          `json:"bytes"`
	Files      []FileRecord   `json:"files"`
	Objects    []ObjectRecord `json:"objects"`
	Replaces   []string       `json:"replaces,omitempty"`
	Schemas    []SchemaRecord `json:"schemas,omitempty"`
}

// LakeStatePath is <lake>/_eventlake/lake.json.
func LakeStatePath(lakeDir string) string {
	return filepath.Join(lakeDir, eventlakeSubdir, lakeStateName)
}

// ManifestsDir is <lake>/_eventlake/loads.
func ManifestsDir(lakeDir string) string {
	return filepath.Join(lakeDir, eventlakeSubdir, manifestsDir)
}

// ManifestPath is where the manifest of a published load lives.
func ManifestPath(lakeDir, loadID string) string {
	return filepath.Join(ManifestsDir(lakeDir), loadID+".json")
}

// StagedManifestPath is where a load's manifest waits for its publish.
func StagedManifestPath(lakeDir, loadID string) string {
	return filepath.Join(partitions.StagingDir(lakeDir, loadID), stagedManifest)
}

// ReadLakeState reads the lake state; ok is false when there is none.
func ReadLakeState(lakeDir string) (st LakeState, ok bool, err error) {
	b, err := os.ReadFile(LakeStatePath(lakeDir))
	if errors.Is(err, fs.ErrNotExist) {
		return st, false, nil
	}
	if err != nil {
		return st, false, fmt.Errorf("lake state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, false, fmt.Errorf("lake state %s is not valid JSON: %w", LakeStatePath(lakeDir), err)
	}
	return st, true, nil
}

// writeFileAtomic writes data to path through a synced temporary file and a
// rename, then syncs the folder.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := ensureDir(dir); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(filePerm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return partitions.SyncDir(dir)
}

// commitCount returns the catalog's commit counter and last committed load.
func commitCount(ctx context.Context, q queryer) (int64, string, error) {
	var n int64
	var last string
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, metaCommits).Scan(&v)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, "", err
	}
	if err == nil {
		if n, err = strconv.ParseInt(v, 10, 64); err != nil {
			return 0, "", fmt.Errorf("meta %s = %q is not a number", metaCommits, v)
		}
	}
	err = q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, metaLastCommit).Scan(&last)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, "", err
	}
	return n, last, nil
}

// countCommit increments the commit counter inside a commit's transaction
// and returns its new value.
func countCommit(ctx context.Context, tx *sql.Tx, loadID string) (int64, error) {
	n, _, err := commitCount(ctx, tx)
	if err != nil {
		return 0, err
	}
	n++
	for k, v := range map[string]string{metaCommits: strconv.FormatInt(n, 10), metaLastCommit: loadID} {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, k, v); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// CommitCount returns how many commits the catalog has recorded and the
// last committed load.
func (c *Catalog) CommitCount(ctx context.Context) (int64, string, error) {
	return commitCount(ctx, c.db)
}

// setCommitCount raises the commit counter to at least n (rebuild).
func (c *Catalog) setCommitCount(ctx context.Context, n int64) error {
	cur, _, err := commitCount(ctx, c.db)
	if err != nil || cur >= n {
		return err
	}
	_, err = c.db.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, metaCommits, strconv.FormatInt(n, 10))
	return err
}

// updateLakeState rewrites the lake state from the catalog when the catalog
// is ahead of it.
func (c *Catalog) updateLakeState(ctx context.Context, lakeDir string) error {
	n, last, err := commitCount(ctx, c.db)
	if err != nil {
		return fmt.Errorf("lake state: %w", err)
	}
	st, ok, err := ReadLakeState(lakeDir)
	if err != nil {
		return err
	}
	if ok && st.Commits >= n {
		return nil
	}
	b, _ := json.Marshal(LakeState{Commits: n, LastLoadID: last})
	if err := writeFileAtomic(LakeStatePath(lakeDir), append(b, '\n')); err != nil {
		return fmt.Errorf("lake state: %w", err)
	}
	return nil
}

// ErrNoCatalog is wrapped by the error of a writer (or status) that finds
// lake files but no catalog; ErrStaleCatalog by the error of a writer that
// finds a catalog older than the lake.
var (
	ErrNoCatalog    = errors.New("lake has files but no catalog")
	ErrStaleCatalog = errors.New("catalog is older than the lake")
)

// rebuildHint is the command that rebuilds the catalog of lakeDir.
func rebuildHint(lakeDir, catalogPath string) string {
	cmd := "eventlake catalog rebuild --lake " + shellQuote(lakeDir)
	if def := filepath.Join(lakeDir, eventlakeSubdir, "catalog.db"); filepath.Clean(catalogPath) != filepath.Clean(def) {
		cmd += " --catalog " + shellQuote(catalogPath)
	}
	return cmd
}

// LakeData reports a Parquet file of the lake's tables (a path relative to
// the lake), or "" when it has none, and whether the lake state records
// commits. It stops at the first file found.
func LakeData(lakeDir string) (string, error) {
	if st, ok, err := ReadLakeState(lakeDir); err != nil {
		return "", err
	} else if ok && st.Commits > 0 {
		return filepath.ToSlash(filepath.Join(eventlakeSubdir, lakeStateName)), nil
	}
	entries, err := os.ReadDir(lakeDir)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	found := errors.New("found")
	var first string
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() || strings.HasPrefix(n, ".") || (strings.HasPrefix(n, "_") && n != "_rejects") {
			continue
		}
		err := filepath.WalkDir(filepath.Join(lakeDir, n), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // unreadable parts: keep looking elsewhere
			}
			if !d.IsDir() && strings.HasSuffix(d.Name(), ".parquet") {
				first, _ = filepath.Rel(lakeDir, p)
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

// missingCatalogError is the refusal of a writer or reader that finds lake
// files but no catalog (or an empty one).
func missingCatalogError(lakeDir, catalogPath, example string) error {
	return fmt.Errorf("%w: %s holds files of earlier loads (e.g. %s) but the catalog %s is missing or empty. "+
		"Writing now would load every object a second time. Rebuild the catalog from the files first: %s",
		ErrNoCatalog, lakeDir, example, catalogPath, rebuildHint(lakeDir, catalogPath))
}

// CheckMissing is for a catalog path that does not exist: it returns the
// refusal when the lake nevertheless holds files of earlier loads.
func CheckMissing(lakeDir, catalogPath string) error {
	ex, err := LakeData(lakeDir)
	if err != nil {
		return fmt.Errorf("lake %s: %w", lakeDir, err)
	}
	if ex != "" {
		return missingCatalogError(lakeDir, catalogPath, ex)
	}
	return nil
}

// CheckLake compares the catalog with the lake it is used for: it returns
// an error wrapping ErrNoCatalog when the catalog has no load but the lake
// has files, and one wrapping ErrStaleCatalog when the lake has seen commits
// the catalog does not know (a catalog restored from a backup, or one of
// another copy of the lake). Writers refuse on either; readers warn.
// It reads only the lake state (and, for an empty catalog, the lake until
// its first Parquet file).
func (c *Catalog) CheckLake(ctx context.Context, lakeDir string) error {
	n, last, err := commitCount(ctx, c.db)
	if err != nil {
		return fmt.Errorf("catalog %s: %w", c.path, err)
	}
	var loads int
	if err := c.db.QueryRowContext(ctx, `SELECT count(*) FROM loads`).Scan(&loads); err != nil {
		return fmt.Errorf("catalog %s: %w", c.path, err)
	}
	if loads == 0 {
		if err := CheckMissing(lakeDir, c.path); err != nil {
			return err
		}
		return nil
	}
	st, ok, err := ReadLakeState(lakeDir)
	if err != nil || !ok {
		return err // a lake written before lake states existed
	}
	if st.Commits <= n {
		// Equal or ahead (a crash between the catalog commit and the
		// lake state's update): the lake's last load must be one the
		// catalog committed.
		if st.LastLoadID == "" {
			return nil
		}
		var status string
		err := c.db.QueryRowContext(ctx, `SELECT status FROM loads WHERE load_id = ?`, st.LastLoadID).Scan(&status)
		if err == nil && (status == "committed" || status == "published") {
			return nil
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("catalog %s: %w", c.path, err)
		}
	}
	return fmt.Errorf("%w: the catalog %s has recorded %d commit(s) (last load %s), but the lake %s has seen %d (last load %s): "+
		"it was restored from a backup or belongs to another copy of the lake. Loading with it would write again what the later "+
		"loads wrote. Move it aside with its -wal and -shm files (for f in %s %s-wal %s-shm; do mv \"$f\" \"$f.old\"; done), "+
		"then rebuild the catalog from the lake's files: %s",
		ErrStaleCatalog, c.path, n, orNone(last), lakeDir, st.Commits, orNone(st.LastLoadID),
		shellQuote(c.path), shellQuote(c.path), shellQuote(c.path), rebuildHint(lakeDir, c.path))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// writeStagedManifest writes the manifest of the commit being made (inside
// its transaction, before it commits) into the load's staging folder.
func writeStagedManifest(ctx context.Context, tx *sql.Tx, lakeDir string, cm Commit, seq int64) error {
	m := Manifest{Format: ManifestFormat, Seq: seq, LoadID: cm.LoadID, FinishedAt: cm.FinishedAt.UnixMicro(),
		Records: cm.Records, Rejects: cm.Rejects, Bytes: cm.Bytes, Files: cm.Files, Objects: cm.Objects,
		Replaces: cm.Replaces, Schemas: cm.Schemas}
	var command, host, sources sql.NullString
	var pid sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT started_at, command, host, pid, sources FROM loads WHERE load_id = ?`, cm.LoadID).
		Scan(&m.StartedAt, &command, &host, &pid, &sources); err != nil {
		return err
	}
	m.Command, m.Host, m.PID = command.String, host.String, int(pid.Int64)
	if sources.Valid && sources.String != "" {
		if err := json.Unmarshal([]byte(sources.String), &m.Sources); err != nil {
			return fmt.Errorf("sources of load %s: %w", cm.LoadID, err)
		}
	}
	if m.Files == nil {
		m.Files = []FileRecord{}
	}
	if m.Objects == nil {
		m.Objects = []ObjectRecord{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	p := StagedManifestPath(lakeDir, cm.LoadID)
	if err := ensureDir(filepath.Dir(p)); err != nil {
		return err
	}
	return writeFileAtomic(p, append(b, '\n'))
}

// publishManifest moves a load's staged manifest to _eventlake/loads/. It is
// idempotent: a manifest already published (or never staged, by a load
// committed before manifests existed) is left alone.
func publishManifest(lakeDir, loadID string) error {
	from, to := StagedManifestPath(lakeDir, loadID), ManifestPath(lakeDir, loadID)
	if _, err := os.Stat(from); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := ensureDir(filepath.Dir(to)); err != nil {
		return err
	}
	if err := os.Rename(from, to); err != nil {
		return err
	}
	return partitions.SyncDir(filepath.Dir(to))
}

// ReadManifest reads and checks one manifest file.
func ReadManifest(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest %s is not valid JSON: %w", path, err)
	}
	if m.Format != ManifestFormat {
		return nil, fmt.Errorf("manifest %s has format %d; this eventlake reads format %d", path, m.Format, ManifestFormat)
	}
	if err := checkLoadID(m.LoadID); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", path, err)
	}
	return &m, nil
}
