// Package icetable keeps an Apache Iceberg (format v2) table over the
// lake's own Parquet files, so that engines reading Iceberg see whole
// committed states of the lake only: a load's files all at once, a
// compaction's swap in one snapshot, never a failed load's files.
//
// The catalog stays the source of truth. Each publication of a lake
// transaction commits one snapshot whose data files are exactly the
// catalog's live files once that transaction is published (the publishing
// hook, see WriterOptions): added files only make an append snapshot, a
// compaction a replace snapshot, other removals an overwrite. The snapshot is computed as the difference between the
// catalog and the current snapshot, so running it again after a crash
// commits nothing more, and a lake that had no table gets one holding all
// its live files.
//
// Files a transaction replaced stay on disk while a retained snapshot
// lists them: snapshots are expired once older than the retention window
// (the current one never), and only then are their files deleted (the
// finishing hook and the Keeper given to lake.WithRetention).
//
// Tables are kept of events (Events) and of _rejects (Rejects,
// partitioned by identity(load_date)). The metadata of a table lives in
// <lake>/<table>/_iceberg/ (Hive readers skip names starting with '_'): v<N>.metadata.json, committed by
// a Store, version-hint.text, manifest lists and manifests.
package icetable

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	iceio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/partitions"
)

// DefaultRetention is how long a replaced snapshot (and the files only it
// lists) is kept for readers that started from it.
const DefaultRetention = 72 * time.Hour

// MetaFolder is the name of a table's metadata folder inside the table's
// folder.
const MetaFolder = "_iceberg"

// LoadIDProperty is the snapshot summary property naming the lake load a
// snapshot publishes.
const LoadIDProperty = "eventlake.load-id"

// Table is the Iceberg table of one lake table (events or _rejects).
type Table struct {
	layout    lake.Layout
	name      string
	store     Store
	retention time.Duration
	fs        iceio.IO
	kind      *kind
	// bucket is the store of a lake in a bucket (nil for a folder): files
	// are then named by their URLs in it (see io.go).
	bucket lake.ObjectStore
}

// Options configure a Table.
type Options struct {
	// Retention is how long snapshots are kept after they stop being
	// current (default DefaultRetention). Zero means the default; a
	// negative value keeps only the current snapshot.
	Retention time.Duration
	// Store commits the metadata versions; nil means a FolderStore in the
	// table's metadata folder (a BucketStore for a lake in a bucket).
	Store Store
	// Bucket is the store of a lake in a bucket: the table's metadata is
	// kept in it and its files are named by their URLs there. The Layout
	// is then ignored.
	Bucket lake.ObjectStore
}

// Events returns the Iceberg table of the lake's events.
func Events(l lake.Layout, o Options) *Table {
	return newTable(l, partitions.EventsTable, &eventsKind, o)
}

// Rejects returns the Iceberg table of the lake's quarantined records
// (_rejects, partitioned by identity(load_date)); its metadata lives in
// <lake>/_rejects/_iceberg/.
func Rejects(l lake.Layout, o Options) *Table {
	return newTable(l, partitions.RejectsTable, &rejectsKind, o)
}

func newTable(l lake.Layout, name string, k *kind, o Options) *Table {
	t := &Table{layout: l, name: name, kind: k, store: o.Store, retention: o.Retention, fs: syncFS{}, bucket: o.Bucket}
	if t.bucket != nil {
		t.fs = newBucketIO(t.bucket)
	}
	switch {
	case t.store != nil:
	case t.bucket != nil:
		t.store = NewBucketStore(t.bucket, t.name+"/"+MetaFolder)
	default:
		t.store = NewFolderStore(MetadataDir(l, t.name))
	}
	switch {
	case t.retention == 0:
		t.retention = DefaultRetention
	case t.retention < 0:
		t.retention = 0
	}
	return t
}

// stepName names a step of the table's commit protocol (a crash point):
// iceberg-<step> for events, iceberg-<table>-<step> for the others
// (iceberg-rejects-before-commit).
func (t *Table) stepName(step string) string {
	if t.name == partitions.EventsTable {
		return "iceberg-" + step
	}
	return "iceberg-" + strings.TrimPrefix(t.name, "_") + "-" + step
}

// Name is the lake table the Iceberg table is kept of.
func (t *Table) Name() string { return t.name }

// MetadataDir returns the metadata folder of a lake table.
func MetadataDir(l lake.Layout, tableName string) string {
	return filepath.Join(l.TableDir(tableName), MetaFolder)
}

// Exists reports whether the table has a committed metadata version.
func (t *Table) Exists(ctx context.Context) (bool, error) {
	v, _, err := t.store.Current(ctx)
	return v > 0, err
}

// MetadataLocation returns the current metadata file ("" if none).
func (t *Table) MetadataLocation(ctx context.Context) (string, error) {
	_, loc, err := t.store.Current(ctx)
	return loc, err
}

func (t *Table) ident() table.Identifier { return table.Identifier{"eventlake", t.name} }

func (t *Table) fsF(context.Context) (iceio.IO, error) { return t.fs, nil }

// Load returns the table as currently committed, nil if it has none.
func (t *Table) Load(ctx context.Context) (*table.Table, error) {
	tbl, _, err := t.load(ctx)
	return tbl, err
}

func (t *Table) load(ctx context.Context) (*table.Table, int, error) {
	v, loc, err := t.store.Current(ctx)
	if err != nil || v == 0 {
		return nil, 0, err
	}
	b, err := t.store.Read(ctx, loc)
	if err != nil {
		return nil, 0, fmt.Errorf("icetable: read %s: %w", loc, err)
	}
	meta, err := table.ParseMetadataBytes(b)
	if err != nil {
		return nil, 0, fmt.Errorf("icetable: parse %s: %w", loc, err)
	}
	return table.New(t.ident(), meta, loc, t.fsF, catalogIO{t}), v, nil
}

// create commits the table's first version, with no snapshot.
func (t *Table) create(ctx context.Context) (*table.Table, error) {
	sc := t.kind.schema()
	spec := t.kind.spec()
	mapping, err := json.Marshal(sc.NameMapping())
	if err != nil {
		return nil, err
	}
	props := iceberg.Properties{
		"format-version":                  "2",
		table.WriteMetadataPathKey:        t.store.Dir(),
		table.DefaultNameMappingKey:       string(mapping),
		"commit.manifest-merge.enabled":   "true",
		table.MaxSnapshotAgeMsKey:         strconv.FormatInt(t.retention.Milliseconds(), 10),
		table.MinSnapshotsToKeepKey:       "1",
		"write.parquet.compression-codec": "zstd",

		// The last DefaultMetadataVersions versions are kept (see
		// retention.go; SetMetadataVersions changes it).
		table.MetadataPreviousVersionsMaxKey:      strconv.Itoa(DefaultMetadataVersions),
		table.MetadataDeleteAfterCommitEnabledKey: "true",
	}
	meta, err := table.NewMetadata(sc, &spec, table.UnsortedSortOrder, t.location(t.name), props)
	if err != nil {
		return nil, fmt.Errorf("icetable: new metadata: %w", err)
	}
	b, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	if _, err := t.store.Commit(ctx, 1, b); err != nil && !errors.Is(err, ErrVersionExists) {
		return nil, err
	}
	return t.Load(ctx)
}

// catalogIO commits the table's new metadata versions through its Store
// (iceberg-go's transactions call it).
type catalogIO struct{ t *Table }

func (c catalogIO) LoadTable(ctx context.Context, _ table.Identifier) (*table.Table, error) {
	tbl, err := c.t.Load(ctx)
	if err == nil && tbl == nil {
		err = fmt.Errorf("icetable: table %s has no metadata", c.t.name)
	}
	return tbl, err
}

func (c catalogIO) CommitTable(ctx context.Context, _ table.Identifier, reqs []table.Requirement, updates []table.Update) (table.Metadata, string, error) {
	cur, v, err := c.t.load(ctx)
	if err != nil {
		return nil, "", err
	}
	if cur == nil {
		return nil, "", fmt.Errorf("icetable: table %s has no metadata", c.t.name)
	}
	for _, r := range reqs {
		if err := r.Validate(cur.Metadata()); err != nil {
			return nil, "", fmt.Errorf("%w: %w", table.ErrCommitFailed, err)
		}
	}
	next, err := table.UpdateTableMetadata(cur.Metadata(), updates, cur.MetadataLocation())
	if err != nil {
		return nil, "", err
	}
	b, err := json.Marshal(next)
	if err != nil {
		return nil, "", err
	}
	loc, err := c.t.store.Commit(ctx, v+1, b)
	if errors.Is(err, ErrVersionExists) {
		return nil, "", fmt.Errorf("%w: %w", table.ErrCommitFailed, err)
	}
	if err != nil {
		return nil, "", err
	}
	return next, loc, nil
}

// location names a lake file (or folder) by its catalog path: its
// absolute local path in a folder lake, its URL in a bucket lake.
func (t *Table) location(rel string) string {
	if t.bucket != nil {
		return t.bucket.URL() + rel
	}
	return t.layout.File(rel)
}

// currentFiles lists the data files of tbl's current snapshot by path.
func (t *Table) currentFiles(tbl *table.Table) (map[string]iceberg.DataFile, error) {
	out := map[string]iceberg.DataFile{}
	snap := tbl.CurrentSnapshot()
	if snap == nil {
		return out, nil
	}
	return out, t.snapshotFiles(snap, out)
}

func (t *Table) snapshotFiles(snap *table.Snapshot, into map[string]iceberg.DataFile) error {
	mfs, err := snap.Manifests(t.fs)
	if err != nil {
		return fmt.Errorf("icetable: snapshot %d: %w", snap.SnapshotID, err)
	}
	for _, mf := range mfs {
		if mf.ManifestContent() != iceberg.ManifestContentData {
			continue
		}
		entries, err := mf.FetchEntries(t.fs, true)
		if err != nil {
			return fmt.Errorf("icetable: manifest %s: %w", mf.FilePath(), err)
		}
		for _, e := range entries {
			into[e.DataFile().FilePath()] = e.DataFile()
		}
	}
	return nil
}

// Result says what a Sync committed.
type Result struct {
	Operation      table.Operation // "" when the snapshot was already current
	Added, Removed int
	Deletes        int // position delete files added
	SnapshotID     int64
}

// Sync commits a snapshot whose data files are exactly files (catalog
// records of this table's live files), creating the table first if it has
// none. It commits nothing when the current snapshot already has them.
// A rewrite (compaction: the same events in fewer files, exact duplicates
// dropped) that replaces files commits a replace snapshot; otherwise
// removed files make an overwrite snapshot, and added files only an
// append.
// Rows of the files that sup says are superseded are deleted by position
// deletes (see deletes.go), in the same snapshot when it only adds files,
// else in a second snapshot of the same metadata version.
// step marks the protocol's steps (crash points): iceberg-after-schema
// (a CSV table's new schema committed, see csv.go), iceberg-before-commit
// (manifests written, metadata version not committed) and
// iceberg-after-commit.
func (t *Table) Sync(ctx context.Context, files []catalog.FileRecord, sup Superseded, loadID string, rewrite bool, step func(string)) (Result, error) {
	if step == nil {
		step = func(string) {}
	}
	// A version another writer committed first (the store refuses the
	// same version twice) is read again, and the snapshot computed again
	// on top of it.
	for attempt := 1; ; attempt++ {
		res, err := t.sync(ctx, files, sup, loadID, rewrite, step)
		if err == nil || !errors.Is(err, table.ErrCommitFailed) || attempt == commitAttempts {
			return res, err
		}
	}
}

// commitAttempts bounds Sync's commits on top of another writer's.
const commitAttempts = 4

func (t *Table) sync(ctx context.Context, files []catalog.FileRecord, sup Superseded, loadID string, rewrite bool, step func(string)) (Result, error) {
	tbl, err := t.Load(ctx)
	if err != nil {
		return Result{}, err
	}
	if t.kind.prepare != nil {
		schemaID := -1
		if tbl != nil {
			schemaID = tbl.Schema().ID
		}
		if tbl, err = t.kind.prepare(ctx, tbl, files); err != nil {
			return Result{}, err
		}
		if schemaID >= 0 && tbl.Schema().ID != schemaID {
			step(t.stepName("after-schema"))
		}
		if tbl == nil && t.kind.schema == nil {
			return Result{}, nil // no file to take a schema from yet
		}
	}
	if tbl == nil {
		if tbl, err = t.create(ctx); err != nil {
			return Result{}, err
		}
	}
	have, err := t.currentFiles(tbl)
	if err != nil {
		return Result{}, err
	}
	spec := tbl.Spec()
	want := make(map[string]bool, len(files))
	var add []iceberg.DataFile
	for _, f := range files {
		abs := t.location(f.Path)
		want[abs] = true
		if _, ok := have[abs]; ok {
			continue
		}
		df, err := dataFile(t.kind, spec, f, abs, t.fs)
		if err != nil {
			return Result{}, err
		}
		add = append(add, df)
	}
	var del []iceberg.DataFile
	for p, df := range have {
		if !want[p] {
			del = append(del, df)
		}
	}
	deletes, err := t.currentDeletes(tbl)
	if err != nil {
		return Result{}, err
	}
	var dropDeletes []iceberg.DataFile
	for _, df := range del {
		dropDeletes = append(dropDeletes, deletes[df.FilePath()]...)
	}
	newDeletes, err := t.newDeletes(ctx, spec, files, sup, deletes)
	if err != nil {
		return Result{}, err
	}
	if len(add) == 0 && len(del) == 0 && len(newDeletes) == 0 {
		return Result{}, nil
	}
	props := iceberg.Properties{}
	if loadID != "" {
		props[LoadIDProperty] = loadID
	}
	txn := tbl.NewTransaction()
	if tbl.Properties()[table.MetadataPreviousVersionsMaxKey] == "" {
		// A table created before its metadata versions were bounded.
		if err := txn.SetProperties(metadataProps(DefaultMetadataVersions)); err != nil {
			return Result{}, err
		}
	}
	res := Result{Added: len(add), Removed: len(del), Deletes: len(newDeletes)}
	switch {
	case len(del) == 0 && len(newDeletes) > 0:
		// One snapshot: the new rows and the deletes of the rows they
		// supersede (an overwrite; a delete when no file is added).
		res.Operation = table.OpOverwrite
		if len(add) == 0 {
			res.Operation = table.OpDelete
		}
		err = txn.NewRowDelta(props).AddRows(add...).AddDeletes(newDeletes...).Commit(ctx)
		newDeletes = nil
	case len(del) == 0:
		res.Operation = table.OpAppend
		err = txn.AddDataFiles(ctx, add, props, table.WithoutDuplicateCheck())
	case rewrite && len(add) > 0:
		res.Operation = table.OpReplace
		rw := txn.NewRewrite(props)
		for _, df := range del {
			rw.DeleteFile(df)
		}
		for _, df := range dropDeletes {
			rw.DeleteFile(df)
		}
		for _, df := range add {
			rw.AddDataFile(df)
		}
		err = rw.Commit(ctx)
	case len(dropDeletes) > 0:
		res.Operation = table.OpOverwrite
		err = txn.ReplaceFiles(ctx, del, add, dropDeletes, props)
	default:
		res.Operation = table.OpOverwrite
		err = txn.ReplaceDataFilesWithDataFiles(ctx, del, add, props)
	}
	if err != nil {
		return Result{}, fmt.Errorf("icetable: %s snapshot: %w", res.Operation, err)
	}
	if len(newDeletes) > 0 {
		// Files were removed too: the deletes are a second snapshot,
		// committed in the same metadata version.
		if err := txn.NewRowDelta(props).AddDeletes(newDeletes...).Commit(ctx); err != nil {
			return Result{}, fmt.Errorf("icetable: delete snapshot: %w", err)
		}
	}
	step(t.stepName("before-commit"))
	out, err := txn.Commit(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("icetable: commit %s snapshot: %w", res.Operation, err)
	}
	step(t.stepName("after-commit"))
	if s := out.CurrentSnapshot(); s != nil {
		res.SnapshotID = s.SnapshotID
	}
	return res, nil
}
