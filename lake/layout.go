// Package lake is the lake's transaction: where everything lives under a
// lake root (Layout), the writer lock, opening a lake for writing
// (OpenWriter: lock, catalog, recovery), the one commit protocol every
// writer follows (Tx: begin, stage, commit, publish, fail) with its crash
// points, and the recovery of transactions a crash interrupted.
//
// It stands between the writers (loader, compaction) and the stores they
// write through: the catalog (package catalog, SQL only) and the staged
// Parquet files (package partitions). Neither store imports this package or
// the other.
package lake

import (
	"path/filepath"
	"time"

	"github.com/eventlake/eventlake/internal/lakepath"
)

// Layout names every path under one lake root:
//
//	<root>/events/…, <root>/_rejects/…, <root>/<csv table>/…  table folders
//	<root>/_eventlake/catalog.db                              catalog (default)
//	<root>/_eventlake/lock                                    writer lock
//	<root>/_eventlake/staging/<load_id>/                      a load's staged files
//	<root>/_eventlake/staging/<load_id>/manifest.json         its manifest, until published
//	<root>/_eventlake/loads/<load_id>.json                    a committed load's manifest
//	<root>/_eventlake/lake.json                               the lake state
//	<root>/_eventlake/query-cache.duckdb                      the shell's cache
//	<root>/_eventlake/orphans/<YYYY-MM-DD>/<path>             files repair moved out of the table folders
//	<root>/_eventlake/damaged/<YYYY-MM-DD>/<path>             damaged files repair retired
type Layout struct{ root string }

// At returns the layout of the lake at root, as given (relative roots stay
// relative).
func At(root string) Layout { return Layout{root: root} }

// Root returns the lake's root folder.
func (l Layout) Root() string { return l.root }

// MetaDir returns the folder of everything that is not table data.
func (l Layout) MetaDir() string { return filepath.Join(l.root, lakepath.MetaDir) }

// CatalogPath returns the default location of the lake's catalog.
func (l Layout) CatalogPath() string { return filepath.Join(l.MetaDir(), "catalog.db") }

// LockPath returns the writer lock's file.
func (l Layout) LockPath() string { return filepath.Join(l.MetaDir(), "lock") }

// StagingRoot returns the folder holding every load's staging folder.
func (l Layout) StagingRoot() string { return filepath.Join(l.MetaDir(), "staging") }

// StagingDir returns the staging folder of one load.
func (l Layout) StagingDir(loadID string) string { return filepath.Join(l.StagingRoot(), loadID) }

// StagedManifestPath returns where a load's manifest waits for its
// publish (in its staging folder, beside its files).
func (l Layout) StagedManifestPath(loadID string) string {
	return filepath.Join(l.StagingDir(loadID), "manifest.json")
}

// ManifestsDir returns the folder of the published load manifests.
func (l Layout) ManifestsDir() string { return filepath.Join(l.MetaDir(), "loads") }

// ManifestPath returns where the manifest of a published load lives.
func (l Layout) ManifestPath(loadID string) string {
	return filepath.Join(l.ManifestsDir(), loadID+".json")
}

// LakeStatePath returns the lake state file.
func (l Layout) LakeStatePath() string { return filepath.Join(l.MetaDir(), "lake.json") }

// QueryCachePath returns the SQL shell's query cache.
func (l Layout) QueryCachePath() string { return filepath.Join(l.MetaDir(), "query-cache.duckdb") }

// AsideDir returns the folder where eventlake repair keeps the files it
// takes out of the table folders on day date: kind is AsideOrphans (files
// the catalog does not list) or AsideDamaged (live files that failed their
// check). Nothing there is read by the shell or by external engines.
func (l Layout) AsideDir(kind string, date time.Time) string {
	return filepath.Join(l.MetaDir(), kind, date.UTC().Format("2006-01-02"))
}

// Kinds of AsideDir.
const (
	AsideOrphans = "orphans"
	AsideDamaged = "damaged"
)

// TableDir returns the folder of a table (its name is its folder: "events",
// "_rejects", or a CSV table's name).
func (l Layout) TableDir(table string) string { return filepath.Join(l.root, table) }

// File returns the path of a lake file given by its catalog path (relative
// to the root, '/'-separated).
func (l Layout) File(rel string) string { return filepath.Join(l.root, filepath.FromSlash(rel)) }

// IsMeta reports whether a lake file's catalog path lies in the metadata
// folder, where no table file may be.
func IsMeta(rel string) bool { return lakepath.InMetaDir(rel) }
