// Package loader is eventlake's load pipeline: list the sources, skip what
// the catalog says is done, read each new object (sniffing compression and
// shape from its content), map its records through a profile, and write
// event-time partitioned Parquet that one catalog transaction commits.
//
//	source.List ─► plan ─► workers: Open ─► Decompress ─► split ─► profile.Map ─► object buffer
//	                                                                              │ (object read to its end?)
//	                 catalog.Commit ◄─ staged Parquet files ◄─ worker's writers ◄─┘ yes; no → object failed
//	                       │
//	                       └─► publish (rename) ─► loads.status = published
//
// An object's rows are held back until the object has been read to its end
// (a truncated gzip must not load half a file); objects larger than the
// buffer limit spill into files of their own that are discarded if the
// object fails. Delimited (CSV) objects load into tables of their own
// through loader/csvtable.
package loader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/config"
	"github.com/eventlake/eventlake/internal/hugepages"
	"github.com/eventlake/eventlake/internal/procs"
	"github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/loader/csvtable"
	"github.com/eventlake/eventlake/loader/source"
	"github.com/eventlake/eventlake/loader/source/dateprefix"
	"github.com/eventlake/eventlake/loader/source/local"
	"github.com/eventlake/eventlake/partitions"
	"github.com/eventlake/eventlake/partitions/expire"
	"github.com/eventlake/eventlake/schema"
)

// MaxWorkers bounds Options.Workers: beyond a few dozen objects in flight
// nothing gets faster. (Memory does not grow with the workers: their large
// buffers come from load-wide budgets, see budget.go.)
const MaxWorkers = 64

// Options configure a load.
type Options struct {
	Lake        string
	CatalogPath string // default <lake>/_eventlake/catalog.db
	// Profile is the default profile for sources that do not name one:
	// auto (default), pismo, fulfillmenttools, generic, or a name from the
	// config's profiles.
	Profile        string
	Config         *config.Config
	Workers        int
	ZstdLevel      int
	MaxRecordBytes int
	// OnChange decides what happens when an object committed earlier shows
	// up with another version: "reload" (default) loads the new version too
	// (the events view keeps one row per event_id), "skip" ignores it.
	OnChange string
	// LockWait is how long to wait for another writer: 0 means 10 s, a
	// negative value not at all.
	LockWait time.Duration
	// WriterOptions add hooks to the lake's transactions (e.g. an Iceberg
	// table kept in step with the lake).
	WriterOptions []lake.Option
	// BufferBytes bounds the rows an object may hold back before they spill
	// into the object's own files (default 64 MiB).
	BufferBytes int
	Command     string
	Log         *slog.Logger
	// Progress receives a live progress line (TTY) or periodic log lines.
	Progress    io.Writer
	ProgressTTY bool
	// Stop, when closed, ends the load early but cleanly: no further object
	// is started, the objects being read are abandoned (recorded failed, so
	// the next run reads them again), and what was read completely is
	// committed. Cancelling the context instead aborts the load and commits
	// nothing.
	Stop <-chan struct{}
	// Deadline, when positive, stops the load (as Stop does) once it has
	// run that long.
	Deadline time.Duration
	// Settle: an object of a source written in place (a local folder, an
	// SFTP drop) whose mtime lies within Settle before now is still being
	// written: it is deferred to a later run (Summary.Deferred). 0 disables
	// the check (the CLI's default is DefaultSettle). Objects of such
	// sources are also checked not to change while they are read.
	Settle time.Duration
	// RetryBackoff, when positive, spaces the attempts at a failed object:
	// after its n-th failed attempt it is not tried again before
	// RetryBackoff × 2^(n-1) has passed, at most RetryBackoffMax (default
	// DefaultRetryBackoffMax). watch sets it to its interval; a plain load
	// retries failed objects at once.
	RetryBackoff, RetryBackoffMax time.Duration
	// Now is the clock (tests).
	Now func() time.Time
	// testHook, when set (tests), runs at each step of the commit protocol
	// with the load's catalog.
	testHook func(step string, cat *catalog.Catalog)

	// budgets, when set, are the load's memory budgets (tests read their
	// peaks); otherwise each load makes its own (see budget.go).
	budgets *loadBudgets
}

// loadBudgets are the load-wide allowances of the workers' large buffers.
type loadBudgets struct {
	whole, arena *memBudget
}

// ErrStopped is why objects in flight are abandoned when a load is stopped
// (and what Run returns when a stop came while the sources were listed).
var ErrStopped = errors.New("load stopped")

// SourceSpec is one source of a load.
type SourceSpec struct {
	URL          string
	Profile      string // "" → Options.Profile
	Since, Until time.Time
	// Keys, when set, are the only objects considered (no listing): a
	// notification named them. A key that does not exist is reported in
	// Summary.Outcomes with status "missing".
	Keys []string
}

// Outcome is what happened to one object named by a listing or by Keys.
type Outcome struct {
	Source string // source URL
	Key    string
	// Status: committed, duplicate, quarantined, failed, vanished (gone
	// between listing and reading), missing (a named key that does not
	// exist), known (already in the catalog: nothing to do), deferred
	// (still being written: a later run loads it), waiting (failed before;
	// its retry time has not come), grown (on_change skip: the object grew
	// after it was loaded, so the lake may hold a partial version).
	Status catalog.ObjectStatus
	Error  string // for failed
}

// ObjectError reports an object that failed or was quarantined.
type ObjectError struct {
	Object string               `json:"object"`
	Status catalog.ObjectStatus `json:"status"`
	Error  string               `json:"error"`
}

// Summary is what a load did; `load --json` prints it.
type Summary struct {
	LoadID      string `json:"load_id"`
	Objects     int64  `json:"objects"`
	Committed   int64  `json:"committed"`
	Failed      int64  `json:"failed"`
	Quarantined int64  `json:"quarantined"`
	Duplicates  int64  `json:"duplicates"`
	Skipped     int64  `json:"skipped"`
	Vanished    int64  `json:"vanished"`
	Deferred    int64  `json:"deferred"` // still being written (modified within Settle): a later run loads them
	Waiting     int64  `json:"waiting"`  // failed before; their retry time has not come (RetryBackoff)
	Grown       int64  `json:"grown"`    // on_change skip: grew after they were loaded; the lake may hold a partial version
	Records     int64  `json:"records"`
	Rejects     int64  `json:"rejects"`
	// LenientQuotes counts the CSV rows loaded with a '"' inside an unquoted
	// field read as text (per object in the catalog's objects table).
	LenientQuotes     int64   `json:"lenient_quotes"`
	Bytes             int64   `json:"bytes"`
	UncompressedBytes int64   `json:"uncompressed_bytes"`
	Files             int     `json:"files"`
	Workers           int     `json:"workers"` // objects processed in parallel
	Seconds           float64 `json:"seconds"`
	Recovered         string  `json:"recovered"`
	// Stopped: the load was stopped (signal, --deadline) before every
	// object was read; NotStarted objects were left for the next run.
	Stopped    bool          `json:"stopped"`
	NotStarted int64         `json:"not_started"`
	Errors     []ObjectError `json:"errors"`
	// Error is why the load itself failed (set by callers that report a
	// failed load, e.g. load --json).
	Error string `json:"error"`
	// ExpiredFiles and ExpiredRows count what the config's retention
	// expired after the load's commit (in a transaction of its own,
	// ExpireLoadID), ExpiredPartitions the partitions.
	ExpiredPartitions int    `json:"expired_partitions"`
	ExpiredFiles      int    `json:"expired_files"`
	ExpiredRows       int64  `json:"expired_rows"`
	ExpireLoadID      string `json:"expire_load_id"`
	// Outcomes has one entry per object considered (not in --json output).
	Outcomes []Outcome `json:"-"`
}

// OK reports whether every object committed (exit code 0).
func (s *Summary) OK() bool { return s.Failed == 0 && s.Quarantined == 0 && s.Grown == 0 }

func (o *Options) defaults() {
	if o.Profile == "" {
		o.Profile = "auto"
	}
	if o.Workers <= 0 {
		o.Workers = procs.CPUs()
	}
	o.Workers = min(o.Workers, MaxWorkers)
	if o.ZstdLevel == 0 {
		o.ZstdLevel = 1
	}
	if o.MaxRecordBytes <= 0 {
		o.MaxRecordBytes = 16 << 20
	}
	if o.OnChange == "" {
		o.OnChange = "reload"
	}
	switch {
	case o.LockWait == 0:
		o.LockWait = 10 * time.Second
	case o.LockWait < 0: // do not wait
		o.LockWait = 0
	}
	if o.BufferBytes <= 0 {
		o.BufferBytes = 64 << 20
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RetryBackoffMax <= 0 {
		o.RetryBackoffMax = DefaultRetryBackoffMax
	}
	if loc, err := lake.ParseLocation(o.Lake); o.CatalogPath == "" && err == nil && !loc.IsBucket() {
		o.CatalogPath = CatalogPath(o.Lake)
	}
	if o.Config == nil {
		o.Config = &config.Config{}
	}
}

// CatalogPath is the default catalog location of a lake.
func CatalogPath(root string) string { return lake.At(root).CatalogPath() }

// job is one object to load.
type job struct {
	src     source.Source
	obj     source.Object
	profile string
	reason  string // why it is loaded again ("changed", "retry", "reprocess"), for logs
	// failures counts the earlier failed attempts at this version.
	failures int
	// legacyHash: the catalog's row of this object holds a SHA-256 content
	// hash (an older build's); the new version is hashed that way too.
	legacyHash bool
}

// Run performs one load of specs into the lake.
func Run(ctx context.Context, o Options, specs []SourceSpec) (*Summary, error) {
	o.defaults()
	start := time.Now()
	if o.Lake == "" {
		return nil, errors.New("no lake given (--lake DIR)")
	}
	if len(specs) == 0 {
		return nil, errors.New("no source given")
	}
	if err := CheckLake(o.Lake); err != nil {
		return nil, err
	}
	if loc, _ := lake.ParseLocation(o.Lake); !loc.IsBucket() {
		if err := os.MkdirAll(lake.At(o.Lake).MetaDir(), 0o755); err != nil {
			return nil, fmt.Errorf("lake %s: %w", o.Lake, err)
		}
	}
	w, rep, err := lake.OpenWriter(ctx, o.Lake, o.CatalogPath, o.LockWait, o.Command, o.WriterOptions...)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	if w.Bucket() != "" {
		// A lake in a bucket works in its local cache folder.
		o.Lake, o.CatalogPath = w.Layout.Root(), w.Catalog.Path()
	}
	cat := w.Catalog
	sum := &Summary{}
	retention, err := o.Config.RetentionPeriods()
	if err != nil {
		return nil, err
	}
	// expireOld applies the retention once the load is done.
	expireOld := func() error {
		if len(retention) == 0 {
			return nil
		}
		es, err := expire.Apply(ctx, w, expire.Cutoffs(retention, o.Now()), expire.Options{Log: o.Log, Now: o.Now})
		if err != nil {
			if sum.LoadID != "" {
				return fmt.Errorf("load %s is committed, but expiring the partitions past their retention failed (the next load retries): %w", sum.LoadID, err)
			}
			return fmt.Errorf("expiring the partitions past their retention: %w", err)
		}
		sum.ExpiredPartitions, sum.ExpiredFiles, sum.ExpiredRows, sum.ExpireLoadID = es.Partitions, es.Files, es.Rows, es.LoadID
		return nil
	}
	stop := make(chan struct{})
	var stopOnce sync.Once
	stopNow := func() { stopOnce.Do(func() { close(stop) }) }
	if o.Stop != nil {
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-o.Stop:
				stopNow()
			case <-done:
			}
		}()
	}
	if o.Deadline > 0 {
		t := time.AfterFunc(o.Deadline-time.Since(start), stopNow)
		defer t.Stop()
	}
	// Listing is cut short by a stop too (nothing has been read yet).
	planCtx, planCancel := context.WithCancelCause(ctx)
	defer planCancel(nil)
	go func() {
		select {
		case <-stop:
			planCancel(ErrStopped)
		case <-planCtx.Done():
		}
	}()
	if rep.Aborted+rep.Completed+rep.StrayDirs > 0 {
		sum.Recovered = fmt.Sprintf("%d interrupted load(s) discarded, %d committed load(s) published (%d files), %d stray staging dir(s) removed",
			rep.Aborted, rep.Completed, rep.FilesPublished, rep.StrayDirs)
		o.Log.Info("recovery", "aborted", rep.Aborted, "completed", rep.Completed, "files_published", rep.FilesPublished, "stray_dirs", rep.StrayDirs)
	}

	profiles, err := buildProfiles(o.Config)
	if err != nil {
		return nil, err
	}
	var sources []source.Source
	defer func() {
		for _, s := range sources {
			s.Close()
		}
	}()
	var jobs []job
	// One object reached through several sources (a source named twice,
	// spelled two ways, or a folder and one of its sub-folders) is one
	// object: the first source that reaches it plans it.
	seen := map[string]bool{}
	for _, sp := range specs {
		p := sp.Profile
		if p == "" {
			p = o.Profile
		}
		if err := profiles.check(p); err != nil {
			return nil, err
		}
		src, err := openSource(planCtx, sp.URL, o.Lake, o.Log, o.CatalogPath, o.CatalogPath+"-wal", o.CatalogPath+"-shm")
		if err != nil {
			return nil, stoppedErr(planCtx, err)
		}
		sources = append(sources, src)
		planned, skipped, err := plan(planCtx, cat, src, sp, p, o, seen, &sum.Outcomes)
		if err != nil {
			return nil, stoppedErr(planCtx, err)
		}
		sum.Skipped += skipped
		jobs = append(jobs, planned...)
	}
	for _, oc := range sum.Outcomes {
		switch oc.Status {
		case "failed", "grown": // a named object that could not be looked at; a skipped object that grew
			if oc.Status == "failed" {
				sum.Failed++
			} else {
				sum.Grown++
			}
			sum.Errors = append(sum.Errors, ObjectError{Object: oc.Source + oc.Key, Status: oc.Status, Error: oc.Error})
		case "deferred":
			sum.Deferred++
		case "waiting":
			sum.Waiting++
		}
	}
	if len(jobs) == 0 {
		sum.Seconds = time.Since(start).Seconds()
		o.Log.Info("nothing new to load", "skipped", sum.Skipped, "deferred", sum.Deferred, "waiting", sum.Waiting)
		if err := expireOld(); err != nil {
			return nil, err
		}
		return sum, nil
	}

	now := o.Now()
	var urls []string
	for _, s := range sources {
		urls = append(urls, s.URL())
	}
	txo := lake.TxOptions{Command: o.Command, Sources: urls, StartedAt: now}
	if o.testHook != nil {
		txo.Hook = func(step string) { o.testHook(step, cat) }
	}
	tx, err := w.Begin(ctx, txo)
	if err != nil {
		return nil, err
	}
	sum.LoadID = tx.ID()
	stage := tx.Stage()
	budgets := o.budgets
	if budgets == nil {
		budgets = &loadBudgets{whole: newMemBudget(defaultWholeBudget), arena: newMemBudget(defaultArenaBudget)}
	}
	l := &load{opts: o, cat: cat, stage: stage, profiles: profiles, csvProfiles: profiles.csv,
		id: sum.LoadID, ingestedAt: now.UnixMicro(), hashes: map[string]string{}, stop: stop, dead: map[source.Source]error{},
		wholeBudget: budgets.whole, chunks: newChunkPool(budgets.arena)}
	tRun := time.Now()
	sum.Workers = min(o.Workers, len(jobs))
	results, files, err := l.run(ctx, jobs)
	o.Log.Debug("objects read and files written", "seconds", time.Since(tRun).Seconds())
	if err != nil {
		return nil, tx.Fail(ctx, err)
	}
	ch := lake.Changes{Files: files, FinishedAt: o.Now()}
	for i, r := range results {
		if r.rec.Status == "failed" {
			r.rec.RetryAt = retryAt(ch.FinishedAt, jobs[i].failures+1, o.RetryBackoff, o.RetryBackoffMax)
		}
		if r.rec.Status == "" { // never started: the load was stopped
			sum.NotStarted++
			continue
		}
		sum.Outcomes = append(sum.Outcomes, Outcome{Source: r.rec.Source, Key: r.rec.Key, Status: r.rec.Status})
		sum.Objects++
		switch r.rec.Status {
		case catalog.ObjectCommitted:
			sum.Committed++
		case catalog.ObjectFailed:
			sum.Failed++
		case catalog.ObjectQuarantined:
			sum.Quarantined++
		case catalog.ObjectDuplicate:
			sum.Duplicates++
		case catalog.ObjectVanished:
			sum.Vanished++
			continue
		}
		if r.rec.Status == catalog.ObjectFailed || r.rec.Status == catalog.ObjectQuarantined {
			sum.Errors = append(sum.Errors, ObjectError{Object: r.url, Status: r.rec.Status, Error: r.rec.Error})
		}
		if r.rec.Status != catalog.ObjectFailed {
			sum.Records += r.rec.Records
			sum.Rejects += r.rec.Rejects
			sum.LenientQuotes += r.rec.LenientQuotes
		}
		sum.Bytes += r.rec.Size
		sum.UncompressedBytes += r.uncompressed
		ch.Objects = append(ch.Objects, r.rec)
	}
	ch.Records, ch.Rejects, ch.Bytes = sum.Records, sum.Rejects, sum.Bytes
	if sum.Committed+sum.Quarantined+sum.Duplicates == 0 && sum.Failed > 0 {
		// Kept (its objects rows hold the attempts, errors and retry
		// times) but marked: this load loaded nothing.
		ch.Note = fmt.Sprintf("nothing loaded: every object failed (%d)", sum.Failed)
	}
	if ch.Schemas, err = l.schemas(ctx, results); err != nil {
		return nil, tx.Fail(ctx, err)
	}
	if err := tx.Commit(ctx, ch); err != nil {
		return nil, err
	}
	o.Log.Debug("committed and published", "files", len(files), "seconds_since_start", time.Since(start).Seconds())
	sum.Files = len(files)
	if err := expireOld(); err != nil {
		return nil, err
	}
	sum.Seconds = time.Since(start).Seconds()
	select {
	case <-stop:
		sum.Stopped = true
	default:
	}
	return sum, nil
}

// stoppedErr says that a stop, not a failure, ended the listing.
func stoppedErr(ctx context.Context, err error) error {
	if errors.Is(context.Cause(ctx), ErrStopped) {
		return fmt.Errorf("%w while listing the sources; nothing was read: %v", ErrStopped, err)
	}
	return err
}

// ErrPlacement is wrapped by the errors of a lake placed where it cannot
// work: the filesystem root, or a source that is the lake or lies in it.
var ErrPlacement = errors.New("lake placement")

type placementError struct{ msg string }

func (e placementError) Error() string { return e.msg }
func (placementError) Unwrap() error   { return ErrPlacement }

// realPath is p absolute, with symbolic links resolved as far as p exists.
func realPath(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r
	}
	// Resolve the longest existing parent (the lake may not exist yet).
	dir, rest := abs, ""
	for {
		parent := filepath.Dir(dir)
		if parent == dir {
			return abs
		}
		rest = filepath.Join(filepath.Base(dir), rest)
		dir = parent
		if r, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(r, rest)
		}
	}
}

// CheckLake refuses a lake folder that is a filesystem root: a lake writes
// its tables (events/, …) and _eventlake/ at its top.
func CheckLake(root string) error {
	loc, err := lake.ParseLocation(root)
	if err != nil {
		return err
	}
	if loc.IsBucket() {
		return nil
	}
	if r := realPath(loc.Dir); filepath.Dir(r) == r {
		return placementError{fmt.Sprintf("lake %s is the filesystem root %s: give a folder of its own (created if missing)", root, r)}
	}
	return nil
}

// within reports whether the path p is dir or lies under it.
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, string(filepath.Separator))+string(filepath.Separator))
}

// openSource opens a source. A local source must not be the lake or lie
// inside it (it would read the lake's own catalog and Parquet files); a
// source folder that holds the lake never lists the lake's tree, nor the
// exclude paths (a catalog kept outside the lake).
func openSource(ctx context.Context, raw, lake string, log *slog.Logger, exclude ...string) (source.Source, error) {
	u, err := source.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "file" {
		src, err := local.FromURL(u, local.Options{Exclude: append([]string{lake}, exclude...), Log: log})
		if err != nil {
			return nil, err
		}
		if l := realPath(lake); within(src.Path(), l) {
			return nil, placementError{fmt.Sprintf("source %s is inside the lake %s: a lake cannot load its own files; give the folder the exports are in", source.Redact(raw), l)}
		}
		return newSettled(src), nil
	}
	src, err := source.Open(source.WithLogger(ctx, log), raw)
	if err != nil || !source.WrittenInPlace(src) {
		return src, err
	}
	return newSettled(src), nil
}

// plan lists a source and returns the objects to load. seen holds the
// URLs (source URL + key) of the objects earlier sources of the same load
// reached; plan ignores those and adds the ones it reaches.
func plan(ctx context.Context, cat *catalog.Catalog, src source.Source, sp SourceSpec, prof string, o Options, seen map[string]bool, outcomes *[]Outcome) ([]job, int64, error) {
	known, err := cat.Objects(ctx, src.URL())
	if err != nil {
		return nil, 0, err
	}
	var jobs []job
	var skipped int64
	inPlace := source.WrittenInPlace(src)
	var now time.Time // the listing's time, when settling or backoff need it
	if (inPlace && o.Settle > 0) || o.RetryBackoff > 0 {
		now = o.Now()
	}
	filter := dateprefix.Filter{Since: sp.Since, Until: sp.Until}
	dated := !sp.Since.IsZero() || !sp.Until.IsZero()
	visit := func(obj source.Object) error {
		if dated && !filter.Keep(obj.Key) {
			return nil
		}
		u := src.URL() + obj.Key
		if seen[u] {
			o.Log.Debug("object already reached through another source of this load", "object", u)
			return nil
		}
		seen[u] = true
		st, seen := known[obj.Key]
		var j *job
		switch {
		case !seen:
			j = &job{src: src, obj: obj, profile: prof}
		case st.Reprocess:
			// Marked by eventlake reprocess: read again; the commit
			// supersedes the marked versions' rows and rejects.
			o.Log.Info("object marked for reprocessing; loading it again", "object", u, "status", st.Status)
			j = &job{src: src, obj: obj, profile: prof, reason: "reprocess"}
		case st.Status == catalog.ObjectFailed:
			j = &job{src: src, obj: obj, profile: prof, reason: "retry"}
			if st.Version == obj.Version {
				j.failures = st.Attempts
				// A watcher backs off from an object that keeps failing;
				// a new version is tried at once.
				if o.RetryBackoff > 0 && now.Before(st.RetryAt) {
					o.Log.Debug("failed object waits for its retry time", "object", u, "attempts", st.Attempts, "next_retry", st.RetryAt)
					*outcomes = append(*outcomes, Outcome{Source: src.URL(), Key: obj.Key, Status: catalog.ObjectWaiting})
					return nil
				}
			}
		case st.Version == obj.Version:
			skipped++
			*outcomes = append(*outcomes, Outcome{Source: src.URL(), Key: obj.Key, Status: catalog.ObjectKnown})
			return nil
		case o.OnChange == "skip":
			if inPlace && stillWritten(obj, now, o.Settle) {
				break // report it once its writer is done
			}
			if inPlace && st.Size >= 0 && obj.Size > st.Size {
				msg := fmt.Sprintf("grew from %d to %d bytes after it was loaded: the lake holds the earlier, possibly partial, version "+
					"(on_change: skip); load it with --on-change reload", st.Size, obj.Size)
				o.Log.Error("object grew after it was loaded; skipping it (on_change: skip) leaves a possibly partial version in the lake",
					"object", u, "loaded_version", st.Version, "version", obj.Version)
				*outcomes = append(*outcomes, Outcome{Source: src.URL(), Key: obj.Key, Status: catalog.ObjectGrown, Error: msg})
				return nil
			}
			o.Log.Warn("object changed since it was loaded; skipping (on_change: skip)", "object", u, "loaded_version", st.Version, "version", obj.Version)
			skipped++
			*outcomes = append(*outcomes, Outcome{Source: src.URL(), Key: obj.Key, Status: catalog.ObjectKnown})
			return nil
		default:
			j = &job{src: src, obj: obj, profile: prof, reason: "changed"}
		}
		if inPlace && stillWritten(obj, now, o.Settle) {
			o.Log.Info("still being written; deferred", "object", u, "size", obj.Size, "mtime", obj.ModTime, "settle", o.Settle)
			*outcomes = append(*outcomes, Outcome{Source: src.URL(), Key: obj.Key, Status: catalog.ObjectDeferred})
			return nil
		}
		if j == nil {
			return nil
		}
		j.legacyHash = seen && legacyContentHash(st.ContentHash)
		if j.reason == "changed" {
			o.Log.Info("object changed since it was loaded; loading the new version", "object", u, "loaded_version", st.Version, "version", obj.Version)
		}
		if g, ok := src.(*settled); ok {
			g.remember(obj)
		}
		jobs = append(jobs, *j)
		return nil
	}
	if len(sp.Keys) > 0 {
		for _, k := range sp.Keys {
			obj, err := src.Stat(ctx, k)
			if errors.Is(err, source.ErrNotFound) {
				o.Log.Warn("named object does not exist", "object", src.URL()+k)
				*outcomes = append(*outcomes, Outcome{Source: src.URL(), Key: k, Status: catalog.ObjectMissing})
				continue
			}
			if err != nil {
				// One unreadable object (access denied, …) fails alone.
				o.Log.Error("cannot stat a named object; it stays pending", "object", src.URL()+k, "error", err)
				*outcomes = append(*outcomes, Outcome{Source: src.URL(), Key: k, Status: catalog.ObjectFailed, Error: err.Error()})
				continue
			}
			if err := visit(obj); err != nil {
				return nil, 0, err
			}
		}
		return jobs, skipped, nil
	}
	var prefixes []string
	if dated {
		var first string
		stop := errors.New("stop")
		if err := src.List(ctx, source.ListOptions{}, func(ob source.Object) error { first = ob.Key; return stop }); err != nil && !errors.Is(err, stop) {
			return nil, 0, fmt.Errorf("listing %s: %w", src.URL(), err)
		}
		prefixes = filter.Prefixes(first)
	}
	if prefixes == nil {
		prefixes = []string{""}
	}
	for _, p := range prefixes {
		if err := src.List(ctx, source.ListOptions{Prefix: p}, visit); err != nil {
			return nil, 0, fmt.Errorf("listing %s: %w", src.URL(), err)
		}
	}
	return jobs, skipped, nil
}

// sizeGroups groups job indexes by object size (the listing order within a
// group is by source URL and key), keeping the order of first appearance.
func sizeGroups(jobs []job) [][]int {
	var groups [][]int
	bySize := map[int64]int{}
	for i, j := range jobs {
		if g, ok := bySize[j.obj.Size]; ok {
			groups[g] = append(groups[g], i)
			continue
		}
		bySize[j.obj.Size] = len(groups)
		groups = append(groups, []int{i})
	}
	for _, g := range groups {
		sort.SliceStable(g, func(a, b int) bool {
			ja, jb := jobs[g[a]], jobs[g[b]]
			return ja.src.URL()+ja.obj.Key < jb.src.URL()+jb.obj.Key
		})
	}
	return groups
}

// load is the state of one running load.
type load struct {
	opts        Options
	cat         *catalog.Catalog
	stage       *partitions.Stage
	profiles    *profileSet
	csvProfiles map[string]*csvtable.Profile
	id          string
	ingestedAt  int64

	stop <-chan struct{} // closed: start no further object
	// dead holds the sources whose store became unreachable (their
	// breaker opened): their remaining objects are not attempted.
	deadMu sync.Mutex
	dead   map[source.Source]error

	sink   *eventSink // the events of every worker
	tables *tableSink // the rows of every worker's CSV objects
	// The workers' large buffers come out of load-wide budgets: whole
	// objects (wholeBuf) and arena chunks (chunks).
	wholeBudget *memBudget
	chunks      *chunkPool
	mu          sync.Mutex
	hashes      map[string]string // content hash → object URL, within this load
	types       map[string]*observedType

	objectsDone, bytesDone, recordsDone, rejectsDone atomic.Int64
}

// result is one object's outcome.
type result struct {
	url          string
	rec          catalog.ObjectRecord
	uncompressed int64
	tableTypes   *schema.ColumnTypes // column types of a CSV object
	firstReject  string              // reason of the object's first reject
}

// run processes the jobs on the worker pool and closes the writers.
func (l *load) run(ctx context.Context, jobs []job) ([]result, []partitions.File, error) {
	n := l.opts.Workers
	if n > len(jobs) {
		n = len(jobs)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer l.chunks.drain() // after the writers are closed or aborted
	// Where page faults are expensive, the heap the workers and partition
	// sets fill is advised for huge pages first (internal/hugepages): on
	// the bench host three quarters of a load's page faults, 16 % of its
	// CPU.
	hugepages.HeapReserve()
	stopProgress := l.progress(len(jobs))
	defer stopProgress()

	// Objects of equal size may be copies of each other. Each such group
	// goes to one worker, in key order, so the first copy by key is the one
	// loaded and the others are its duplicates, whatever the timing.
	groups := sizeGroups(jobs)
	stopCtx, stopCancel := context.WithCancel(context.Background())
	defer stopCancel()
	go func() {
		select {
		case <-l.stop:
			stopCancel()
		case <-stopCtx.Done():
		}
	}()
	ch := make(chan []int)
	results := make([]result, len(jobs))
	workers := make([]*worker, n)
	var wg sync.WaitGroup
	var fatalOnce sync.Once
	var fatal error
	// A set's write error stops the workers; run reads it from the sink.
	// One partition set per CPU: the workers encode and compress into them
	// under each set's lock, and each set holds its own row groups.
	l.sink = newEventSink(l.stage, max(1, min(n, procs.CPUs())), partitions.WriterOptions{ZstdLevel: l.opts.ZstdLevel, MemoryBytes: 8 << 20, MaxOpenFiles: 64, Spill: true, SpillBytes: 4 << 20}, func(error) { cancel() })
	l.tables = newTableSink(l.stage, l.opts.ZstdLevel, n)
	for i := range workers {
		w := newWorker(l)
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for group := range ch {
				for _, idx := range group {
					if ctx.Err() != nil || l.stopped() {
						break
					}
					j := jobs[idx]
					if derr := l.deadErr(j.src); derr != nil {
						results[idx] = notAttempted(j, derr)
						l.objectsDone.Add(1)
						continue
					}
					// A stop abandons the object being read; cancelling
					// ctx aborts the whole load.
					octx, ocancel := context.WithCancelCause(ctx)
					unhook := context.AfterFunc(stopCtx, func() { ocancel(ErrStopped) })
					r, err := w.process(octx, j)
					unhook()
					ocancel(nil)
					if err != nil {
						fatalOnce.Do(func() { fatal = err; cancel() })
						break
					}
					results[idx] = r
					l.objectsDone.Add(1)
				}
			}
			// Out of objects (or stopped: the objects done are committed):
			// give the whole-object buffers back, for the workers that wait
			// for them, and put the rows of CSV tables still in this
			// worker's row groups into their files.
			w.inf.release()
			if ctx.Err() == nil {
				if err := w.tables.flush(); err != nil {
					fatalOnce.Do(func() { fatal = err; cancel() })
				}
			}
		}()
	}
	go func() {
		defer close(ch)
		for _, g := range groups {
			select {
			case ch <- g:
			case <-ctx.Done():
				return
			case <-l.stop:
				return
			}
		}
	}()
	wg.Wait()
	if err := l.sink.err(); err != nil {
		fatal = err // the cause, rather than the cancellation it caused
	}
	if fatal == nil && ctx.Err() != nil {
		fatal = fmt.Errorf("load interrupted: %w", context.Cause(ctx))
	}
	if fatal != nil {
		for _, w := range workers {
			w.abort()
		}
		l.sink.abort()
		l.tables.abort()
		return nil, nil, fatal
	}
	// Closing flushes and compresses every open file's last row group:
	// the workers do it in parallel.
	closed := make([][]partitions.File, len(workers)+2)
	errs := make([]error, len(workers)+2)
	var cwg sync.WaitGroup
	cwg.Add(2)
	go func() {
		defer cwg.Done()
		closed[len(workers)], errs[len(workers)] = l.sink.close()
	}()
	go func() {
		defer cwg.Done()
		closed[len(workers)+1], errs[len(workers)+1] = l.tables.close()
	}()
	for i, w := range workers {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			closed[i], errs[i] = w.close()
		}()
	}
	cwg.Wait()
	var files []partitions.File
	for i := range closed {
		if errs[i] != nil {
			for _, w := range workers {
				w.abort()
			}
			l.sink.abort()
			l.tables.abort()
			return nil, nil, errs[i]
		}
		files = append(files, closed[i]...)
	}
	l.mergeTypes(workers)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return results, files, nil
}

// stopped tells whether the load was asked to stop.
func (l *load) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// markDead records that src's store is unreachable; the first time, it says
// so once for all the objects that will not be attempted.
func (l *load) markDead(src source.Source, err error) {
	l.deadMu.Lock()
	defer l.deadMu.Unlock()
	if _, ok := l.dead[src]; ok {
		return
	}
	l.dead[src] = err
	l.opts.Log.Error("store unreachable: its remaining objects are not attempted and stay pending for the next run",
		"source", src.URL(), "error", err)
}

func (l *load) deadErr(src source.Source) error {
	l.deadMu.Lock()
	defer l.deadMu.Unlock()
	return l.dead[src]
}

// notAttempted is the result of an object of an unreachable store.
func notAttempted(j job, cause error) result {
	return result{url: j.src.URL() + j.obj.Key, rec: catalog.ObjectRecord{
		Source: j.src.URL(), Key: j.obj.Key, Version: j.obj.Version, Size: j.obj.Size, ModTime: j.obj.ModTime,
		Status: catalog.ObjectFailed, Error: fmt.Sprintf("not attempted: %v", cause),
	}}
}

// Pending lists a source and counts the objects a load would process now.
// It returns the count and the source's URL.
func Pending(ctx context.Context, cat *catalog.Catalog, raw, lake string) (int64, string, error) {
	st, err := Inspect(ctx, cat, raw, lake, "reload", 0)
	return st.Pending, st.URL, err
}

// SourceState is what a listing of a source shows against the catalog.
type SourceState struct {
	URL string `json:"source"`
	// Pending objects would be read by a load now (new, changed, or
	// failed before).
	Pending int64 `json:"pending"`
	// Deferred objects are still being written (modified within settle).
	Deferred int64 `json:"deferred"`
	// Grown objects (on_change: skip) grew after they were loaded.
	Grown []string `json:"grown,omitempty"`
}

// Inspect lists a source and tells what a load with these on_change and
// settle settings would do with its objects.
func Inspect(ctx context.Context, cat *catalog.Catalog, raw, lake, onChange string, settle time.Duration) (SourceState, error) {
	src, err := openSource(ctx, raw, lake, nil)
	if err != nil {
		return SourceState{}, err
	}
	defer src.Close()
	o := Options{OnChange: onChange, Settle: settle, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now}
	if o.OnChange == "" {
		o.OnChange = "reload"
	}
	var outcomes []Outcome
	jobs, _, err := plan(ctx, cat, src, SourceSpec{URL: raw}, "auto", o, map[string]bool{}, &outcomes)
	st := SourceState{URL: src.URL(), Pending: int64(len(jobs))}
	for _, oc := range outcomes {
		switch oc.Status {
		case "deferred":
			st.Deferred++
		case "grown":
			st.Grown = append(st.Grown, oc.Key+": "+oc.Error)
		}
	}
	return st, err
}
