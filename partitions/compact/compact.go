// Package compact implements `eventlake compact`: it merges the files of an
// events partition into files of a target size, drops duplicate event_ids
// within the partition (keeping exactly the row the events view keeps), and
// swaps the new files for the old ones atomically through the catalog.
//
// A compaction is a load of its own and follows the loader's commit
// protocol, so a kill -9 at any instant followed by another run (of compact
// or load: both recover first) leaves the lake as one clean compaction
// would:
//
//	AcquireLock → Recover → BeginLoad(command "compact") → merge into staging
//	  → Commit: new files inserted, replaced files claimed (one transaction)
//	  → Publish the new files (rename) → MarkPublished: replaced files become
//	    'removed' as the new ones become visible (one transaction)
//	  → delete the replaced files → remove the staging directory
//
// Readers that follow the catalog (live files of published loads) switch
// from the old set to the new one in the MarkPublished transaction: before
// it they see the old files, which all still exist; after it the new ones,
// which are all in place. The staging directory is removed last: while it
// exists, recovery knows the replaced files may still be on disk.
//
// For crash tests, EVENTLAKE_CRASH_AT kills the process (SIGKILL) at a named
// step, as it does for the loader: compact-after-begin, compact-during-merge
// (after the first partition is staged), compact-before-commit,
// compact-after-commit, compact-during-publish (after the first rename),
// compact-after-publish, compact-after-swap (MarkPublished done),
// compact-during-delete (after the first deletion) and compact-after-delete
// (before the staging directory is removed).
//
// Only events partitions are compacted (not _rejects). A partition is a
// candidate when it has at least MinFiles live files, or fewer files holding
// duplicate event_ids; a partition whose files were all written by one
// compaction is already compacted and is skipped without being read. A
// partition is always rewritten whole: de-duplication needs all of it.
package compact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/hugepages"
	"github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/partitions"
)

const (
	// DefaultTargetBytes is the default size of a compacted file, in the
	// middle of the 64–256 MB range of the lake contract.
	DefaultTargetBytes = 128 << 20
	// DefaultMinFiles is the default number of live files that makes a
	// partition a candidate.
	DefaultMinFiles = 2
	// DefaultSortBufferBytes is the default bound of the in-memory buffer
	// in which rows are sorted by event_time before they are written.
	DefaultSortBufferBytes = 256 << 20
	// DefaultZstdLevel is the default zstd level of compacted files (see
	// partitions.WriterOptions): zstd's own default, above the loader's
	// fastest level, since a file is compacted once and read many times.
	DefaultZstdLevel = 3
)

// Reasons a partition is compacted.
const (
	ReasonFiles      = "files"      // at least MinFiles live files
	ReasonDuplicates = "duplicates" // fewer files, but duplicate event_ids
	// ReasonSuperseded: a file holds rows of reprocessed or forgotten
	// objects (eventlake reprocess, eventlake forget), which compaction
	// drops.
	ReasonSuperseded = "superseded"
)

// Options configure a compaction.
type Options struct {
	Lake        string
	CatalogPath string // default <lake>/_eventlake/catalog.db
	// Partitions restricts the compaction to these partitions of table
	// events, as directory paths ("domain=cards/event_date=2024-02-01",
	// Hive-escaped as on disk; an "events/" prefix is accepted). Empty means
	// every partition. A partition without live files is an error.
	Partitions []string
	// MinFiles is the number of live files that makes a partition a
	// candidate (default 2); a partition with fewer files is compacted only
	// when it holds duplicate event_ids.
	MinFiles int
	// TargetBytes is the size of the files written: a file is finished and
	// the next one started when it reaches it (default 128 MiB).
	TargetBytes int64
	// SortBufferBytes bounds the rows held in memory to sort them by
	// event_time (default 256 MiB, estimated from the rows' sizes in
	// memory). A partition whose surviving rows fit is written in event_time
	// order; a larger one is written as consecutive sorted runs of that
	// size, each in event_time order, in file order otherwise.
	SortBufferBytes int64
	// ZstdLevel is the zstd level of the files written, 1 to
	// partitions.MaxZstdLevel (default 3).
	ZstdLevel int
	// DryRun only plans: it prints what would be compacted, reading the
	// catalog read-only and taking no lock.
	DryRun   bool
	LockWait time.Duration // how long to wait for a running load (0: 10s; negative: not at all)
	// WriterOptions add hooks to the compaction's transaction (e.g. an
	// Iceberg table kept in step with the lake).
	WriterOptions []lake.Option
	Log           *slog.Logger
	// Now is the clock (tests).
	Now func() time.Time

	// hook, when set (tests), is called at each step of the commit
	// protocol, with the names used by EVENTLAKE_CRASH_AT minus "compact-".
	hook func(step string)
	// root is the folder the live files are read from: the lake's folder,
	// or for a lake in a bucket a temporary folder fetch downloads them to.
	root string
	// fetch, for a lake in a bucket, downloads a partition's files into
	// root (leaving missing ones absent) and returns the bytes downloaded.
	fetch func(ctx context.Context, files []catalog.LiveFile) (int64, error)
}

// Partition is what compaction did (or, in a dry run, would do) to one
// partition. In a dry run only Partition, Reason, FilesBefore, RowsBefore
// and BytesBefore are set.
type Partition struct {
	Partition   string `json:"partition"`
	Reason      string `json:"reason"`
	FilesBefore int    `json:"files_before"`
	FilesAfter  int    `json:"files_after"`
	RowsBefore  int64  `json:"rows_before"`
	RowsAfter   int64  `json:"rows_after"`
	Duplicates  int64  `json:"duplicates"`
	// Superseded counts the rows of reprocessed or forgotten objects
	// dropped (not counted in Duplicates).
	Superseded  int64 `json:"superseded"`
	BytesBefore int64 `json:"bytes_before"`
	BytesAfter  int64 `json:"bytes_after"`
	// Sorted reports that the partition's rows were written in event_time
	// order (they fitted in the sort buffer).
	Sorted bool `json:"sorted"`
}

// Summary is what a compaction did; `compact --json` prints it. LoadID is
// empty when nothing needed compacting (and in a dry run).
type Summary struct {
	LoadID    string `json:"load_id"`
	DryRun    bool   `json:"dry_run"`
	Recovered string `json:"recovered"`
	// Partitions counts the partitions compacted (or planned); Skipped the
	// partitions of the selection left as they are.
	Partitions  int         `json:"partitions"`
	Skipped     int         `json:"skipped"`
	FilesBefore int         `json:"files_before"`
	FilesAfter  int         `json:"files_after"`
	RowsBefore  int64       `json:"rows_before"`
	RowsAfter   int64       `json:"rows_after"`
	Duplicates  int64       `json:"duplicates"`
	Superseded  int64       `json:"superseded"`
	BytesBefore int64       `json:"bytes_before"`
	BytesAfter  int64       `json:"bytes_after"`
	Seconds     float64     `json:"seconds"`
	Details     []Partition `json:"details"`
	// Damaged lists the partitions left alone because a live file of
	// theirs is missing, of the wrong size, or fails its checksum or
	// Parquet footer: rewriting them would lose rows or copy the damage
	// into a file with a fresh, valid checksum. The other partitions are
	// compacted; the command exits non-zero.
	Damaged []DamagedPartition `json:"damaged"`
	// BytesDownloaded counts the bytes of live files a compaction of a lake
	// in a bucket downloaded to read them (0 for a lake in a folder).
	BytesDownloaded int64 `json:"bytes_downloaded"`
}

// DamagedPartition is a partition compaction skipped, with its bad files.
type DamagedPartition struct {
	Partition string        `json:"partition"`
	Files     []DamagedFile `json:"files"`
}

// DamagedFile is a live file that failed its check (see partitions.VerifyFile).
type DamagedFile struct {
	Path    string `json:"path"`
	Problem string `json:"problem"` // a partitions.Problem* kind
	Detail  string `json:"detail"`
}

// fileError is a live file that cannot be read as what was written: it
// makes compaction skip the file's partition instead of stopping.
type fileError struct {
	DamagedFile
	err error
}

func (e *fileError) Error() string { return "file " + e.Path + ": " + e.Detail }
func (e *fileError) Unwrap() error { return e.err }

// damagedFile turns a partitions.VerifyFile/StatFile error into a fileError
// naming the lake-relative path.
func damagedFile(rel string, err error) *fileError {
	fe := &fileError{DamagedFile: DamagedFile{Path: rel, Problem: partitions.ProblemUnreadable, Detail: err.Error()}, err: err}
	var p *partitions.FileProblem
	if errors.As(err, &p) {
		fe.Problem, fe.Detail = p.Kind, p.Detail
	}
	return fe
}

// skipDamaged records a partition skipped for fe.
func (s *Summary) skipDamaged(o Options, partition string, files ...DamagedFile) {
	s.Damaged = append(s.Damaged, DamagedPartition{Partition: partition, Files: files})
	for _, f := range files {
		o.Log.Warn("skipping a partition with a damaged file", "partition", partition, "file", f.Path, "problem", f.Problem, "detail", f.Detail)
	}
}

func (o *Options) defaults() error {
	if o.Lake == "" {
		return errors.New("no lake given (--lake DIR)")
	}
	if o.CatalogPath == "" && !inBucket(o.Lake) {
		o.CatalogPath = lake.At(o.Lake).CatalogPath()
	}
	o.root = o.Lake
	switch {
	case o.MinFiles < 0:
		return fmt.Errorf("min files %d: want at least 1", o.MinFiles)
	case o.MinFiles == 0:
		o.MinFiles = DefaultMinFiles
	}
	switch {
	case o.TargetBytes < 0:
		return fmt.Errorf("target size %d: want a positive size", o.TargetBytes)
	case o.TargetBytes == 0:
		o.TargetBytes = DefaultTargetBytes
	}
	switch {
	case o.SortBufferBytes < 0:
		return fmt.Errorf("sort buffer %d: want a positive size", o.SortBufferBytes)
	case o.SortBufferBytes == 0:
		o.SortBufferBytes = DefaultSortBufferBytes
	}
	switch {
	case o.ZstdLevel < 0 || o.ZstdLevel > partitions.MaxZstdLevel:
		return fmt.Errorf("zstd level %d: want 1 to %d", o.ZstdLevel, partitions.MaxZstdLevel)
	case o.ZstdLevel == 0:
		o.ZstdLevel = DefaultZstdLevel
	}
	switch {
	case o.LockWait == 0:
		o.LockWait = 10 * time.Second
	case o.LockWait < 0: // do not wait
		o.LockWait = 0
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// NormalizePartition checks a --partition value and returns it in the
// catalog's form: "domain=<escaped>/event_date=<YYYY-MM-DD>" without an
// "events/" prefix or trailing slash.
func NormalizePartition(p string) (string, error) {
	n := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(p), partitions.EventsTable+"/"), "/")
	if _, _, err := parsePartition(n); err != nil {
		return "", err
	}
	return n, nil
}

// parsePartition splits "domain=<escaped>/event_date=<date>" into the raw
// domain and the date.
func parsePartition(p string) (domain, date string, err error) {
	d, e, ok := strings.Cut(p, "/")
	dv, okD := strings.CutPrefix(d, "domain=")
	ev, okE := strings.CutPrefix(e, "event_date=")
	if !ok || !okD || !okE || strings.Contains(e, "/") || ev == "" || dv == "" {
		return "", "", fmt.Errorf("partition %q: want domain=<domain>/event_date=<YYYY-MM-DD> (as the directory is named under events/)", p)
	}
	if domain, err = partitions.Unescape(dv); err != nil {
		return "", "", fmt.Errorf("partition %q: %w", p, err)
	}
	if partitions.Dir("domain", domain) != d {
		return "", "", fmt.Errorf("partition %q: domain is not escaped the way eventlake names directories (%s)", p, partitions.Dir("domain", domain))
	}
	return domain, ev, nil
}

// candidate is a partition to compact.
type candidate struct {
	partition string
	reason    string
	files     []catalog.LiveFile
}

// Run compacts the lake (or, with DryRun, only plans).
func Run(ctx context.Context, o Options) (*Summary, error) {
	start := time.Now()
	if err := o.defaults(); err != nil {
		return nil, err
	}
	var only map[string]bool
	if len(o.Partitions) > 0 {
		only = make(map[string]bool)
		for _, p := range o.Partitions {
			n, err := NormalizePartition(p)
			if err != nil {
				return nil, err
			}
			only[n] = true
		}
	}
	if inBucket(o.Lake) {
		return runBucket(ctx, o, only, start)
	}
	if _, err := os.Stat(o.CatalogPath); err != nil {
		if merr := lake.CheckMissing(o.Lake, o.CatalogPath); merr != nil {
			return nil, merr
		}
		return nil, fmt.Errorf("no catalog at %s: nothing has been loaded into this lake yet", o.CatalogPath)
	}
	sum := &Summary{DryRun: o.DryRun, Details: []Partition{}, Damaged: []DamagedPartition{}}
	if o.DryRun {
		// Read-only: no lock (a dry run never blocks or waits for a load)
		// and no recovery (that writes).
		cat, err := catalog.Open(o.CatalogPath, catalog.Options{ReadOnly: true})
		if err != nil {
			return nil, err
		}
		defer cat.Close()
		return dryRun(ctx, cat, o, only, sum, start)
	}

	w, rep, err := lake.OpenWriter(ctx, o.Lake, o.CatalogPath, o.LockWait, catalog.CompactCommand, o.WriterOptions...)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	return compactWith(ctx, w, rep, o, only, sum, start)
}

// compactWith compacts the lake w has open for writing.
func compactWith(ctx context.Context, w *lake.Writer, rep lake.RecoveryReport, o Options, only map[string]bool, sum *Summary, start time.Time) (*Summary, error) {
	// As a load does: where page faults are expensive, the heap the
	// merges fill is advised for huge pages first (internal/hugepages).
	hugepages.HeapReserve()
	cat := w.Catalog
	if rep.Aborted+rep.Completed+rep.StrayDirs+rep.ReplacedDeleted > 0 {
		sum.Recovered = fmt.Sprintf("%d interrupted load(s) discarded, %d committed load(s) published (%d files), %d stray staging dir(s) removed, %d replaced file(s) deleted",
			rep.Aborted, rep.Completed, rep.FilesPublished, rep.StrayDirs, rep.ReplacedDeleted)
		o.Log.Info("recovery", "aborted", rep.Aborted, "completed", rep.Completed, "files_published", rep.FilesPublished,
			"stray_dirs", rep.StrayDirs, "replaced_deleted", rep.ReplacedDeleted)
	}
	cands, skipped, err := plan(ctx, cat, o, only, sum)
	if err != nil {
		return nil, err
	}
	sum.Skipped = skipped
	cands = verified(o, cands, sum)
	if len(cands) == 0 {
		o.Log.Info("nothing to compact", "skipped", skipped)
		sum.Seconds = time.Since(start).Seconds()
		return sum, nil
	}
	if err := compact(ctx, w, o, cands, sum); err != nil && !errors.Is(err, errNothingMerged) {
		return nil, err
	}
	sum.Seconds = time.Since(start).Seconds()
	return sum, nil
}

// dryRun plans the compaction and reports it without doing it.
func dryRun(ctx context.Context, cat *catalog.Catalog, o Options, only map[string]bool, sum *Summary, start time.Time) (*Summary, error) {
	cands, skipped, err := plan(ctx, cat, o, only, sum)
	if err != nil {
		return nil, err
	}
	sum.Skipped = skipped
	for _, c := range cands {
		p := Partition{Partition: c.partition, Reason: c.reason, FilesBefore: len(c.files)}
		for _, f := range c.files {
			p.RowsBefore += f.Rows
			p.BytesBefore += f.Bytes
		}
		sum.add(p)
	}
	sum.Seconds = time.Since(start).Seconds()
	return sum, nil
}

// errNothingMerged ends a compaction whose every candidate partition was
// found damaged while merging (the load is recorded as failed with it).
var errNothingMerged = errors.New("no partition compacted: every candidate has a damaged file")

// add appends p to the summary's details and totals.
func (s *Summary) add(p Partition) {
	s.Details = append(s.Details, p)
	s.Partitions++
	s.FilesBefore += p.FilesBefore
	s.FilesAfter += p.FilesAfter
	s.RowsBefore += p.RowsBefore
	s.RowsAfter += p.RowsAfter
	s.Duplicates += p.Duplicates
	s.Superseded += p.Superseded
	s.BytesBefore += p.BytesBefore
	s.BytesAfter += p.BytesAfter
}

// verified reads every file of the candidates back (partitions.VerifyFile:
// size, checksum, footer) and drops the partitions with a damaged file,
// recording them in sum.
func verified(o Options, cands []candidate, sum *Summary) []candidate {
	out := cands[:0]
	for _, c := range cands {
		var bad []DamagedFile
		for _, f := range c.files {
			if err := partitions.VerifyFile(filepath.Join(o.root, filepath.FromSlash(f.Path)), f.Bytes, f.Checksum); err != nil {
				bad = append(bad, damagedFile(f.Path, err).DamagedFile)
			}
		}
		if len(bad) > 0 {
			sum.skipDamaged(o, c.partition, bad...)
			continue
		}
		out = append(out, c)
	}
	return out
}

// plan lists the live events files and picks the partitions to compact. It
// returns them in partition order, and the number of selected partitions
// skipped. A partition with a file missing on disk or of the wrong size
// (one stat per file) is recorded in sum.Damaged instead.
func plan(ctx context.Context, cat *catalog.Catalog, o Options, only map[string]bool, sum *Summary) ([]candidate, int, error) {
	files, err := cat.LiveFilesWithLoads(ctx, partitions.EventsTable)
	if err != nil {
		return nil, 0, err
	}
	byPartition := make(map[string][]catalog.LiveFile)
	var names []string
	for _, f := range files {
		if only != nil && !only[f.Partition] {
			continue
		}
		if _, ok := byPartition[f.Partition]; !ok {
			names = append(names, f.Partition)
		}
		byPartition[f.Partition] = append(byPartition[f.Partition], f)
	}
	var missing []string
	for p := range only {
		if _, ok := byPartition[p]; !ok {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, 0, fmt.Errorf("no live files in table events for partition %s", strings.Join(missing, ", "))
	}
	sort.Strings(names)
	var cands []candidate
	skipped := 0
	for _, p := range names {
		group := byPartition[p]
		if _, _, err := parsePartition(p); err != nil {
			o.Log.Warn("skipping a partition eventlake cannot have written", "partition", p, "error", err)
			skipped++
			continue
		}
		superseded := false
		for _, f := range group {
			superseded = superseded || f.Superseded > 0
		}
		local := true // the group's files are on local disk
		if o.fetch != nil {
			switch {
			case !superseded && compacted(group):
				// A compacted partition is left alone without being read.
				skipped++
				continue
			case o.DryRun && (superseded || len(group) >= o.MinFiles):
				// A dry run reads only what it must scan for duplicates.
				local = false
			default:
				n, err := o.fetch(ctx, group)
				sum.BytesDownloaded += n
				if err != nil {
					return nil, 0, fmt.Errorf("partition %s: %w", p, err)
				}
			}
		}
		var bad []DamagedFile
		for _, f := range group {
			if !local {
				break
			}
			if err := partitions.StatFile(filepath.Join(o.root, filepath.FromSlash(f.Path)), f.Bytes); err != nil {
				bad = append(bad, damagedFile(f.Path, err).DamagedFile)
			}
		}
		if len(bad) > 0 {
			sum.skipDamaged(o, p, bad...)
			continue
		}
		switch {
		case superseded:
			cands = append(cands, candidate{partition: p, reason: ReasonSuperseded, files: group})
		case compacted(group):
			skipped++
		case len(group) >= o.MinFiles:
			cands = append(cands, candidate{partition: p, reason: ReasonFiles, files: group})
		default:
			dup, err := hasDuplicates(ctx, o.root, group)
			var fe *fileError
			if errors.As(err, &fe) {
				sum.skipDamaged(o, p, fe.DamagedFile)
				continue
			}
			if err != nil {
				return nil, 0, fmt.Errorf("partition %s: %w", p, err)
			}
			if dup {
				cands = append(cands, candidate{partition: p, reason: ReasonDuplicates, files: group})
			} else {
				skipped++
			}
		}
	}
	return cands, skipped, nil
}

// compacted reports whether every file of a partition was written by one
// compaction: such a set holds no duplicates and is already at the target
// size, so it is left alone without being read.
func compacted(group []catalog.LiveFile) bool {
	for _, f := range group {
		if f.Command != catalog.CompactCommand || f.LoadID != group[0].LoadID {
			return false
		}
	}
	return len(group) > 0
}

// compact runs the commit protocol over the candidates.
func compact(ctx context.Context, w *lake.Writer, o Options, cands []candidate, sum *Summary) error {
	tx, err := w.Begin(ctx, lake.TxOptions{Command: catalog.CompactCommand, StartedAt: o.Now(), StepPrefix: "compact-", Hook: o.hook})
	if err != nil {
		return err
	}
	pairs, err := w.Catalog.SupersededPairs(ctx)
	if err != nil {
		return tx.Fail(ctx, err)
	}
	drop := make(map[catalog.ObjectLoad]bool, len(pairs))
	for _, p := range pairs {
		drop[p] = true
	}
	var newFiles []partitions.File
	var replaced []string
	merged := 0
	for _, c := range cands {
		res, err := mergePartition(ctx, o, tx.Stage(), c, drop)
		var fe *fileError
		if errors.As(err, &fe) {
			// Nothing of the partition is staged (mergePartition aborts
			// its writer): leave it as it is.
			sum.skipDamaged(o, c.partition, fe.DamagedFile)
			continue
		}
		if err != nil {
			return tx.Fail(ctx, fmt.Errorf("compacting partition %s: %w", c.partition, err))
		}
		newFiles = append(newFiles, res.files...)
		for _, f := range c.files {
			replaced = append(replaced, f.Path)
		}
		sum.add(res.Partition)
		o.Log.Info("partition compacted", "partition", c.partition, "reason", c.reason, "files_before", res.FilesBefore,
			"files_after", res.FilesAfter, "rows_before", res.RowsBefore, "rows_after", res.RowsAfter, "duplicates", res.Duplicates,
			"superseded", res.Superseded)
		if merged++; merged == 1 {
			tx.Step("during-merge")
		}
	}
	if merged == 0 {
		// Every candidate turned out damaged: nothing to commit.
		return tx.Fail(ctx, errNothingMerged)
	}
	sum.LoadID = tx.ID()
	return tx.Commit(ctx, lake.Changes{Files: newFiles, Replaces: replaced, FinishedAt: o.Now(), Records: sum.RowsAfter, Bytes: sum.BytesBefore})
}

// ParseSize parses a size such as "128MB", "64MiB", "1GB" or "134217728"
// (bytes). KB, MB and GB are powers of 1000, KiB, MiB and GiB powers of
// 1024; units are case-insensitive and may follow a space.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("size %q: want a number of bytes with an optional unit (KB, MB, GB, KiB, MiB, GiB)", s)
	}
	var n int64
	for _, c := range t[:i] {
		if n > (1<<62)/10 {
			return 0, fmt.Errorf("size %q is too large", s)
		}
		n = n*10 + int64(c-'0')
	}
	mult := int64(0)
	switch strings.ToLower(strings.TrimSpace(t[i:])) {
	case "", "b":
		mult = 1
	case "kb", "k":
		mult = 1000
	case "mb", "m":
		mult = 1000 * 1000
	case "gb", "g":
		mult = 1000 * 1000 * 1000
	case "kib":
		mult = 1 << 10
	case "mib":
		mult = 1 << 20
	case "gib":
		mult = 1 << 30
	default:
		return 0, fmt.Errorf("size %q: unknown unit %q (want KB, MB, GB, KiB, MiB or GiB)", s, strings.TrimSpace(t[i:]))
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * mult, nil
}

// openError names a lake file in an error, and says so plainly when the
// catalog lists a file that is not on disk.
func openError(rel string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return &fileError{DamagedFile: DamagedFile{Path: rel, Problem: partitions.ProblemMissing, Detail: "live in the catalog but missing on disk"}, err: err}
	}
	return fmt.Errorf("file %s: %w", rel, err)
}
