package lake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/fsync"
	"github.com/eventlake/eventlake/partitions"
)

// NewLoadID returns a sortable, unique load id: UTC time + random suffix.
func NewLoadID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// TxOptions describe a transaction as it begins.
type TxOptions struct {
	// Command is recorded on the load (catalog.CompactCommand for a
	// compaction, which alone may replace files).
	Command string
	// Sources are the source URLs recorded on the load.
	Sources []string
	// StartedAt is the load's start (its ID is made from it); zero means now.
	StartedAt time.Time
	// StepPrefix prefixes the names of the transaction's crash points
	// ("compact-" for compaction; loads have none).
	StepPrefix string
	// Hook, when set (tests), runs at each step, before its crash point,
	// with the step's name (unprefixed).
	Hook func(step string)
}

// Tx is one transaction of the lake: a load, a compaction, or any later
// writer. Its files are staged (Stage), then Commit makes them part of the
// lake in one catalog transaction and publishes them; Fail gives up.
//
// The steps, each a crash point (EVENTLAKE_CRASH_AT=<prefix><step> kills
// the process there, for crash tests): after-begin, before-commit,
// after-commit, during-publish, before-manifest (the files are in the lake,
// the manifest still staged), after-publish, after-swap (the load is
// marked published: readers see its files), during-delete and after-delete
// (a compaction's replaced files, or the files whose every row a
// transaction superseded), superseding (a transaction that supersedes rows
// has counted them, before its commit), plus those the writer marks with
// Step.
type Tx struct {
	w      *Writer
	id     string
	opts   TxOptions
	stage  *partitions.Stage
	host   string
	pid    int
	closed bool // committed or failed: Fail no longer records anything
	// In a bucket: files were uploaded to its staging area; the log entry
	// was tried; the entry was refused (another writer has that seq).
	bucketStaged, logTried, logLost bool
}

// Begin records a new load in the catalog and creates its staging folder,
// made durable before anything depends on it (a staging folder tells
// recovery that there is unfinished work). A lake in a bucket stages on the
// runner only what it uploads before its commit point, so neither the
// folder nor its files are made durable there (partitions.NewScratchStage).
func (w *Writer) Begin(ctx context.Context, o TxOptions) (*Tx, error) {
	if o.StartedAt.IsZero() {
		o.StartedAt = time.Now()
	}
	t := &Tx{w: w, id: NewLoadID(o.StartedAt), opts: o, pid: os.Getpid()}
	t.host, _ = os.Hostname()
	if err := w.Catalog.BeginLoad(ctx, catalog.LoadInfo{ID: t.id, StartedAt: o.StartedAt, Command: o.Command,
		Host: t.host, PID: t.pid, Sources: o.Sources}); err != nil {
		return nil, err
	}
	t.Step("after-begin")
	// A bucket lake's staged files are uploaded before the commit point and
	// never read after a crash (recovery publishes from the bucket's staging
	// folder; a killed load recovers on a fresh runner,
	// TestBucketLakeCrashAtEachStep): fsyncing them, or the staging folder,
	// only costs the load its fsyncs, and a syncfs flushes whatever else the
	// runner has written (109 ms once in 5 loads into fake S3, 6-9 ms the
	// other times).
	newStage := partitions.NewStage
	if w.bucket != nil {
		newStage = partitions.NewScratchStage
	}
	stage, err := newStage(w.Layout.StagingDir(t.id), t.id)
	if err != nil {
		return nil, t.Fail(ctx, err)
	}
	t.stage = stage
	if w.bucket == nil {
		if err := syncParents(stage.Root(), w.Layout.MetaDir()); err != nil {
			return nil, t.Fail(ctx, err)
		}
	}
	return t, nil
}

// ID returns the transaction's load ID.
func (t *Tx) ID() string { return t.id }

// Stage returns the staging folder the transaction's files are written to.
func (t *Tx) Stage() *partitions.Stage { return t.stage }

// Step marks a step of the writer's own (e.g. compaction's during-merge):
// it runs the test hook and the crash point.
func (t *Tx) Step(name string) {
	if t.opts.Hook != nil {
		t.opts.Hook(name)
	}
	crashPoint(t.opts.StepPrefix + name)
}

// Changes are what a transaction commits.
type Changes struct {
	// Files are the staged files the transaction adds to the lake.
	Files []partitions.File
	// Objects and Schemas are the source objects and schemas recorded.
	Objects []catalog.ObjectRecord
	Schemas []catalog.SchemaRecord
	// Replaces lists the lake files (catalog paths) that Files replace
	// (compaction only, see catalog.Commit).
	Replaces []string
	// Forget lists object versions whose rows and rejects the transaction
	// supersedes without reloading them (eventlake forget). The versions of
	// Objects marked for reprocessing are superseded too (see
	// catalog.SupersedePlan).
	Forget []catalog.ObjectVersion
	// Lost lists live files (catalog paths) that are missing or damaged:
	// the transaction retires them (eventlake repair), and Reprocess marks
	// the object versions whose rows they held, in the same commit.
	Lost      []string
	Reprocess []catalog.ObjectVersion
	// Totals for the loads row.
	Records, Rejects, Bytes int64
	// FinishedAt is the commit time; zero means now.
	FinishedAt time.Time
	// Note is recorded on the loads row (e.g. a load that loaded nothing).
	Note string
}

// FileRecords converts written files into the catalog's records of them.
func FileRecords(files []partitions.File) []catalog.FileRecord {
	out := make([]catalog.FileRecord, len(files))
	for i, f := range files {
		out[i] = catalog.FileRecord{Path: f.Path, Table: f.Table, Partition: f.Partition, Rows: f.Rows, Bytes: f.Bytes,
			MinTime: f.MinTime, MaxTime: f.MaxTime, Checksum: f.Checksum}
	}
	return out
}

// Commit makes the transaction's changes part of the lake: it syncs the
// staged files, writes the load's manifest beside them (durable before the
// commit, so every committed load has one), commits files, objects,
// replaced files and schemas in one catalog transaction (which must be the
// catalog's commit the manifest names), publishes the files and then the
// manifest (the publishing hooks: rename into the lake's folders), marks the
// load published (readers switch to the new files in that instant), runs
// the finishing hooks (the lake state catches up; the files a compaction
// replaced are deleted) and removes the staging folder.
//
// A failure before the catalog commit fails the transaction (see Fail).
// Once committed, the transaction is finished even if ctx is cancelled
// meanwhile, and an error after the commit leaves the rest to the next
// writer's recovery.
func (t *Tx) Commit(ctx context.Context, ch Changes) error {
	if t.closed {
		return fmt.Errorf("lake: load %s: commit of a finished transaction", t.id)
	}
	if err := t.stage.Sync(ch.Files); err != nil {
		return t.Fail(ctx, err)
	}
	sup, counts, retires, err := t.w.superseding(ctx, ch)
	if err != nil {
		return t.Fail(ctx, fmt.Errorf("superseding rows: %w", err))
	}
	if len(sup) > 0 {
		t.Step("superseding")
	}
	finished := ch.FinishedAt
	if finished.IsZero() {
		finished = time.Now()
	}
	cm := catalog.Commit{LoadID: t.id, FinishedAt: finished, Files: FileRecords(ch.Files), Objects: ch.Objects,
		Schemas: ch.Schemas, Replaces: ch.Replaces, Records: ch.Records, Rejects: ch.Rejects, Bytes: ch.Bytes, Note: ch.Note,
		Forget: ch.Forget, Supersedes: sup, SupersededFiles: counts, Retires: append(retires, ch.Lost...), Reprocess: ch.Reprocess}
	var seq int64
	if b := t.w.bucket; b != nil {
		// In a bucket the commit point is the log entry (the bucket's
		// manifest); the cached catalog follows it (and a crash in between
		// is replayed).
		t.Step("before-commit")
		var err error
		if seq, err = b.commit(ctx, t, cm); err != nil {
			return t.Fail(ctx, fmt.Errorf("commit: %w", err))
		}
		t.closed = true
		t.Step("bucket-after-log")
		if err := t.w.Catalog.Commit(context.WithoutCancel(ctx), cm); err != nil {
			return fmt.Errorf("load %s is committed in %s, but recording it in the local cache failed (the next run reads it from the bucket): %w",
				t.id, b.store.URL(), err)
		}
		if err := saveCacheState(b.cache, cacheState{Seq: seq, LoadID: t.id}); err != nil {
			return err
		}
	} else {
		// The writer lock makes this transaction's commit the catalog's next.
		n, _, err := t.w.Catalog.CommitCount(ctx)
		if err != nil {
			return t.Fail(ctx, err)
		}
		cm.Seq = n + 1
		if err := writeJSONAtomic(t.w.Layout.StagedManifestPath(t.id), t.manifest(cm)); err != nil {
			return t.Fail(ctx, fmt.Errorf("write the load's manifest: %w", err))
		}
		t.Step("before-commit")
		if err := t.w.Catalog.Commit(ctx, cm); err != nil {
			return t.Fail(ctx, fmt.Errorf("commit: %w", err))
		}
	}
	t.closed = true
	t.Step("after-commit")
	// Committed: finish the publish even if the caller is cancelling now
	// (recovery would finish it, but a clean stop is better).
	ctx = context.WithoutCancel(ctx)
	paths := make([]string, len(ch.Files))
	for i, f := range ch.Files {
		paths[i] = f.Path
	}
	_, err = t.w.publishCommitted(ctx, t.id, paths, t.Step)
	if b := t.w.bucket; err == nil && b != nil && seq%b.every == 0 {
		if cerr := b.writeCheckpoint(ctx, t.w.Catalog, seq); cerr != nil {
			return fmt.Errorf("load %s is complete, but writing checkpoint %d failed (the next commits write one): %w", t.id, seq, cerr)
		}
		t.Step("bucket-after-checkpoint")
	}
	return err
}

// Fail gives up the transaction and returns err — the one rule for every
// writer. The load is recorded failed with err; when ctx is done, as
// interrupted with the cancel's cause, recorded outside the cancelled
// context. Then the staging folder is removed. If the failure cannot be
// recorded, the load may not be running any more (a commit that reported
// an error may still have happened) or the catalog is unreachable: the
// staging folder is left to recovery, which reads from the catalog which
// case it is. Fail after Commit succeeded, or a second Fail, only returns
// err.
func (t *Tx) Fail(ctx context.Context, err error) error {
	if t.closed {
		return err
	}
	t.closed = true
	if ctx.Err() != nil {
		err = interruptedError{cause: context.Cause(ctx), ctxErr: ctx.Err()}
	}
	if ferr := t.w.Catalog.FailLoad(context.WithoutCancel(ctx), t.id, err); ferr != nil {
		return fmt.Errorf("%w (recording the failure also failed: %v)", err, ferr)
	}
	if b := t.w.bucket; b != nil {
		b.discardStaged(context.WithoutCancel(ctx), t)
	}
	if t.stage != nil {
		_ = t.stage.Remove() // best effort: recovery removes it anyway
	} else {
		_ = os.RemoveAll(t.w.Layout.StagingDir(t.id))
	}
	return err
}

// interruptedError is why a transaction stopped by its caller did not
// commit.
type interruptedError struct{ cause, ctxErr error }

func (e interruptedError) Error() string   { return "interrupted: " + e.cause.Error() }
func (e interruptedError) Unwrap() []error { return []error{e.cause, e.ctxErr} }

// publishCommitted finishes a committed load: the publishing hooks, the
// catalog's mark (the load becomes visible), the finishing hooks, then the
// removal of its staging folder. Recovery runs it for a load a crash
// interrupted after its commit, with no steps.
func (w *Writer) publishCommitted(ctx context.Context, id string, files []string, step func(string)) (*Publication, error) {
	p := w.publication(id, files, step)
	if err := w.runHooks(ctx, w.publish, p); err != nil {
		if step == nil {
			return p, err
		}
		return p, fmt.Errorf("%w (the next load or compaction finishes publishing)", err)
	}
	p.Step("after-publish")
	if err := w.Catalog.MarkPublished(ctx, id); err != nil {
		if step == nil {
			return p, err
		}
		return p, fmt.Errorf("%w (the next load or compaction finishes it)", err)
	}
	p.Step("after-swap")
	if err := w.runHooks(ctx, w.finish, p); err != nil {
		return p, fmt.Errorf("load %s is complete, but %w", id, err)
	}
	if err := os.RemoveAll(w.Layout.StagingDir(id)); err != nil {
		return p, fmt.Errorf("load %s is complete: remove staging: %w", id, err)
	}
	return p, nil
}

// syncParents fsyncs the parent of dir and each further ancestor up to and
// including stop, so freshly created directory entries survive a crash.
func syncParents(dir, stop string) error {
	stop, err := filepath.Abs(stop)
	if err != nil {
		return err
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		if err := fsync.Dir(d); err != nil {
			return fmt.Errorf("sync %s: %w", d, err)
		}
		if d == stop || filepath.Dir(d) == d || !strings.HasPrefix(d, stop) {
			return nil
		}
	}
}

// crashAt names the step at which crashPoint kills the process.
var crashAt = os.Getenv("EVENTLAKE_CRASH_AT")

// crashPoint kills the process at a named step of the commit protocol when
// EVENTLAKE_CRASH_AT names it. Crash tests use it to prove that a crash at
// each step followed by a re-run gives exactly the lake of one clean run.
func crashPoint(name string) {
	if crashAt != "" && crashAt == name {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
}
