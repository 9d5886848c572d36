package lake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/fsync"
)

// Every committed transaction leaves a manifest, <lake>/_eventlake/loads/
// <load_id>.json: the load, its objects (with their versions), files,
// replaced files and schemas, exactly as committed. Tx.Commit writes it into
// the load's staging folder and makes it durable before the catalog commit,
// so every committed load has one; the publishManifest hook moves it to the
// loads folder after the load's files (recovery re-runs it). Rebuild replays
// the manifests into a new catalog when the catalog is lost.

// ManifestFormat is the version of the manifest's JSON layout this
// eventlake writes. Format 2 adds what a commit supersedes and retires
// (forget, a reprocessing load, repair) and the reprocess marks it sets;
// format 1 manifests (which have none of those) are still read.
const ManifestFormat = 2

// minManifestFormat is the oldest manifest format this eventlake reads.
const minManifestFormat = 1

// Manifest is everything one committed load made visible.
type Manifest struct {
	Format  int    `json:"format"`
	Seq     int64  `json:"seq"` // the catalog's commit counter after this commit
	LoadID  string `json:"load_id"`
	Command string `json:"command"`
	Host    string `json:"host,omitempty"`
	PID     int    `json:"pid,omitempty"`
	// Sources are the load's (redacted) source URLs.
	Sources    []string               `json:"sources"`
	StartedAt  int64                  `json:"started_at"`  // unix micros
	FinishedAt int64                  `json:"finished_at"` // unix micros (the commit)
	Records    int64                  `json:"records"`
	Rejects    int64                  `json:"rejects"`
	Bytes      int64                  `json:"bytes"`
	Note       string                 `json:"note,omitempty"` // a load that loaded nothing says so
	Files      []catalog.FileRecord   `json:"files"`
	Objects    []catalog.ObjectRecord `json:"objects"`
	Replaces   []string               `json:"replaces,omitempty"`
	Schemas    []catalog.SchemaRecord `json:"schemas,omitempty"`

	// Format 2: the object versions the commit forgot, the (object, old
	// load) pairs it superseded, the superseded rows per file, the live
	// files it retired (wholly superseded, or lost and retired by repair)
	// and the object versions it marked for reprocessing.
	Forget          []catalog.ObjectVersion  `json:"forget,omitempty"`
	Supersedes      []catalog.Superseded     `json:"supersedes,omitempty"`
	SupersededFiles []catalog.SupersededFile `json:"superseded_files,omitempty"`
	Retires         []string                 `json:"retires,omitempty"`
	Reprocess       []catalog.ObjectVersion  `json:"reprocess,omitempty"`
}

// manifest returns the manifest of the commit cm the transaction is about
// to make.
func (t *Tx) manifest(cm catalog.Commit) *Manifest {
	m := newManifest(cm.Seq, catalog.LoadInfo{Command: t.opts.Command, Host: t.host, PID: t.pid,
		Sources: t.opts.Sources, StartedAt: t.opts.StartedAt}, cm)
	return &m
}

// newManifest is the manifest of commit number seq: the load info and the
// catalog commit, with empty lists written as [] (a bucket's log entry is
// the same document).
func newManifest(seq int64, info catalog.LoadInfo, cm catalog.Commit) Manifest {
	m := Manifest{Format: ManifestFormat, Seq: seq, LoadID: cm.LoadID, Command: info.Command, Host: info.Host, PID: info.PID,
		Sources: info.Sources, StartedAt: info.StartedAt.UnixMicro(), FinishedAt: cm.FinishedAt.UnixMicro(),
		Records: cm.Records, Rejects: cm.Rejects, Bytes: cm.Bytes, Note: cm.Note, Files: cm.Files, Objects: cm.Objects,
		Replaces: cm.Replaces, Schemas: cm.Schemas, Forget: cm.Forget, Supersedes: cm.Supersedes,
		SupersededFiles: cm.SupersededFiles, Retires: cm.Retires, Reprocess: cm.Reprocess}
	if m.Sources == nil {
		m.Sources = []string{}
	}
	if m.Files == nil {
		m.Files = []catalog.FileRecord{}
	}
	if m.Objects == nil {
		m.Objects = []catalog.ObjectRecord{}
	}
	return m
}

// loadInfo is the loads row the manifest's commit began with.
func (m *Manifest) loadInfo() catalog.LoadInfo {
	return catalog.LoadInfo{ID: m.LoadID, StartedAt: time.UnixMicro(m.StartedAt), Command: m.Command, Host: m.Host,
		PID: m.PID, Sources: m.Sources}
}

// commit is the catalog commit the manifest records, to be replayed: what
// it superseded is taken as recorded (see catalog.Commit.Replayed).
func (m *Manifest) commit() catalog.Commit {
	return catalog.Commit{LoadID: m.LoadID, FinishedAt: time.UnixMicro(m.FinishedAt), Replaces: m.Replaces,
		Records: m.Records, Rejects: m.Rejects, Bytes: m.Bytes, Note: m.Note,
		Files: m.Files, Objects: m.Objects, Schemas: m.Schemas, Forget: m.Forget, Supersedes: m.Supersedes,
		SupersededFiles: m.SupersededFiles, Retires: m.Retires, Reprocess: m.Reprocess, Replayed: true}
}

// knownFormat reports whether this eventlake reads a manifest (or log
// entry) of format f.
func knownFormat(f int) bool { return f >= minManifestFormat && f <= ManifestFormat }

// writeJSONAtomic writes v as JSON to path through a synced temporary file
// and a rename, then syncs the folder: the file is complete or absent, and
// durable once it returns.
func writeJSONAtomic(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if err := ensureDirSynced(filepath.Dir(path)); err != nil {
		return err
	}
	return fsync.WriteAtomic(path, filePerm, true, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
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
	if !knownFormat(m.Format) {
		return nil, fmt.Errorf("manifest %s has format %d; this eventlake reads formats %d to %d", path, m.Format, minManifestFormat, ManifestFormat)
	}
	if m.LoadID == "" {
		return nil, fmt.Errorf("manifest %s names no load", path)
	}
	return &m, nil
}

// publishManifest moves a committed load's staged manifest to the loads
// folder. It runs after the files are published (a published manifest names
// files that are all in the lake, which Rebuild relies on) and is
// idempotent: a manifest already published, or never staged (a load
// committed before manifests existed), is left alone.
type publishManifest struct{}

func (publishManifest) Run(ctx context.Context, p *Publication) error {
	p.Step("before-manifest")
	if err := moveManifest(p.Layout, p.LoadID); err != nil {
		return fmt.Errorf("publish the manifest of load %s: %w", p.LoadID, err)
	}
	return nil
}

func moveManifest(l Layout, loadID string) error {
	from, to := l.StagedManifestPath(loadID), l.ManifestPath(loadID)
	if _, err := os.Stat(from); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := ensureDirSynced(filepath.Dir(to)); err != nil {
		return err
	}
	if err := os.Rename(from, to); err != nil {
		return err
	}
	return fsync.Dir(filepath.Dir(to))
}

// ensureDirSynced is ensureDir that also makes a folder it creates durable
// (its parent is synced), for the files written into it to be findable
// after a crash.
func ensureDirSynced(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := ensureDir(dir); err != nil {
		return err
	}
	return fsync.Dir(filepath.Dir(dir))
}
