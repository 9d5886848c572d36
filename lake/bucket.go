package lake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/fsync"
	"github.com/eventlake/eventlake/internal/lakepath"
)

// A lake in a bucket keeps the lake's contract (the same Hive folders, the
// same catalog paths) with the bucket as its only state:
//
//	<lake>/events/…, <lake>/_rejects/…, <lake>/<csv table>/…   table files
//	<lake>/_eventlake/log/<seq>.json               one entry per commit, created if absent
//	<lake>/_eventlake/checkpoints/<seq>.db.zst     the catalog after commit <seq>
//	<lake>/_eventlake/staging/<load_id>/<path>     a load's files before they are published
//	<lake>/_eventlake/staging/<load_id>/.pending   a commit that deletes files but stages none
//	<lake>/_eventlake/lease.json                   the writer lease
//
// The commit point is the creation of log entry <seq> = last + 1 with a
// create-if-absent write: of two writers that read the same last entry, one
// creates it and the other gets a precondition failure and fails. The
// entry holds everything the commit changes in the catalog (the load row,
// its files, objects, replaced files and schemas). Before it, the load's
// files are uploaded to its staging folder, which no Hive reader lists (a
// leading underscore); after it, they are copied server-side to their keys,
// the files a compaction replaced are deleted, then the staging folder. A
// runner with no local state downloads the newest checkpoint and replays
// the log entries after it into a catalog in a local cache folder; every
// EVENTLAKE_CHECKPOINT_EVERY commits (default 100) the committer uploads
// a new checkpoint. Recovery (under the lease) finishes the publishing of
// every load the log has with staged files left, and deletes the staging
// folders of loads the log does not have: they never committed.

const (
	metaPrefix        = lakepath.MetaDir + "/"
	logPrefix         = metaPrefix + "log/"
	checkpointPrefix  = metaPrefix + "checkpoints/"
	bucketStagePrefix = metaPrefix + "staging/"
	// LogFormat is the version of a log entry's JSON layout (a manifest's).
	LogFormat = ManifestFormat
	// DefaultCheckpointEvery is the commits between two checkpoints.
	DefaultCheckpointEvery = 100
)

// ErrCommitConflict is wrapped by the error of a commit another writer's
// commit overtook: nothing of the load is part of the lake; run again.
var ErrCommitConflict = errors.New("another writer committed first")

func logKey(seq int64) string        { return fmt.Sprintf("%s%020d.json", logPrefix, seq) }
func checkpointKey(seq int64) string { return fmt.Sprintf("%s%020d.db.zst", checkpointPrefix, seq) }

// pendingMarker is the staged object of a transaction that stages no
// file but deletes files once committed (an expiry, a forget, a repair):
// it keeps the load in the staging area, where recovery finds it.
const pendingMarker = ".pending"

func stagedKey(id, path string) string {
	return bucketStagePrefix + id + "/" + path
}

func seqOfKey(key, prefix, suffix string) (int64, bool) {
	s, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, suffix)
	if !ok || len(s) != 20 {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// LogEntry is one commit of a lake in a bucket: the per-load manifest of
// that commit, under its sequence number.
type LogEntry = Manifest

func newLogEntry(seq int64, info catalog.LoadInfo, cm catalog.Commit) LogEntry {
	return newManifest(seq, info, cm)
}

// bucketLake is a Writer's bucket: its store, the log position its cached
// catalog has reached, and the writer lease.
type bucketLake struct {
	store ObjectStore
	seq   int64
	lease *lease
	every int64
	cache *cacheDir
}

// cacheDir is the local folder of a bucket lake's cached catalog (and a
// writer's local staging): a fresh temporary folder unless
// EVENTLAKE_CACHE_DIR names a folder to keep it in between runs.
type cacheDir struct {
	root string // the lake layout's root
	temp bool   // removed on close
}

func openCacheDir(store ObjectStore) (*cacheDir, error) {
	if base := os.Getenv("EVENTLAKE_CACHE_DIR"); base != "" {
		sum := sha256.Sum256([]byte(store.URL()))
		root := filepath.Join(base, "lake-"+hex.EncodeToString(sum[:8]))
		if err := os.MkdirAll(filepath.Join(root, lakepath.MetaDir), dirPerm); err != nil {
			return nil, fmt.Errorf("lake cache %s: %w", root, err)
		}
		return &cacheDir{root: root}, nil
	}
	root, err := os.MkdirTemp("", "eventlake-lake-")
	if err != nil {
		return nil, fmt.Errorf("lake cache: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(root, lakepath.MetaDir), dirPerm); err != nil {
		return nil, err
	}
	return &cacheDir{root: root, temp: true}, nil
}

func (c *cacheDir) close() {
	if c.temp {
		_ = os.RemoveAll(c.root)
	}
}

// cacheState records which log entry a cached catalog has reached.
type cacheState struct {
	Seq    int64  `json:"seq"`
	LoadID string `json:"load_id"`
}

func (c *cacheDir) statePath() string {
	return filepath.Join(c.root, lakepath.MetaDir, "bucket-seq.json")
}

func checkpointEvery() int64 {
	if n, err := strconv.ParseInt(os.Getenv("EVENTLAKE_CHECKPOINT_EVERY"), 10, 64); err == nil && n > 0 {
		return n
	}
	return DefaultCheckpointEvery
}

// syncCatalog brings the cached catalog up to the bucket's last commit: a
// kept cache whose last entry the bucket still has replays the entries
// after it; any other starts from the newest checkpoint (or an empty
// catalog). It returns the catalog, open for writing unless readOnly (a
// read-only caller still writes the cache, never the bucket).
func syncCatalog(ctx context.Context, store ObjectStore, cache *cacheDir) (*catalog.Catalog, int64, error) {
	catPath := At(cache.root).CatalogPath()
	var st cacheState
	keep := false
	if b, err := os.ReadFile(cache.statePath()); err == nil && json.Unmarshal(b, &st) == nil {
		if st.Seq == 0 {
			keep = true
		} else if e, err := readLogEntry(ctx, store, st.Seq); err == nil && e.LoadID == st.LoadID {
			keep = true
		}
	}
	if !keep {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Remove(catPath + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, 0, fmt.Errorf("lake cache: %w", err)
			}
		}
		st = cacheState{}
		seq, err := latestCheckpoint(ctx, store)
		if err != nil {
			return nil, 0, err
		}
		if seq > 0 {
			if err := downloadCheckpoint(ctx, store, seq, catPath); err != nil {
				return nil, 0, err
			}
			e, err := readLogEntry(ctx, store, seq)
			if err != nil {
				return nil, 0, fmt.Errorf("lake %s: checkpoint %d: %w", store.URL(), seq, err)
			}
			st = cacheState{Seq: seq, LoadID: e.LoadID}
		}
	}
	cat, err := catalog.Open(catPath, catalog.Options{})
	if err != nil {
		return nil, 0, err
	}
	seq, err := replayLog(ctx, store, cat, cache, st.Seq)
	if err != nil {
		cat.Close()
		return nil, 0, err
	}
	return cat, seq, nil
}

// replayLog applies the log entries after seq to cat and returns the last.
func replayLog(ctx context.Context, store ObjectStore, cat *catalog.Catalog, cache *cacheDir, seq int64) (int64, error) {
	var keys []string
	err := store.List(ctx, logPrefix, logKey(seq), func(o ObjectInfo) error {
		if _, ok := seqOfKey(o.Key, logPrefix, ".json"); ok {
			keys = append(keys, o.Key)
		}
		return nil
	})
	if err != nil {
		return seq, fmt.Errorf("lake %s: list the commit log: %w", store.URL(), err)
	}
	for _, k := range keys {
		n, _ := seqOfKey(k, logPrefix, ".json")
		if n != seq+1 {
			return seq, fmt.Errorf("lake %s: the commit log jumps from %d to %d (%s is missing)", store.URL(), seq, n, logKey(seq+1))
		}
		e, err := readLogEntry(ctx, store, n)
		if err != nil {
			return seq, err
		}
		if err := applyEntry(ctx, cat, e); err != nil {
			return seq, fmt.Errorf("lake %s: replay %s: %w", store.URL(), k, err)
		}
		seq = n
		if err := saveCacheState(cache, cacheState{Seq: n, LoadID: e.LoadID}); err != nil {
			return seq, err
		}
	}
	return seq, nil
}

func saveCacheState(cache *cacheDir, st cacheState) error {
	b, _ := json.Marshal(st)
	if err := fsync.WriteAtomic(cache.statePath(), filePerm, false, func(f *os.File) error {
		_, err := f.Write(b)
		return err
	}); err != nil {
		return fmt.Errorf("lake cache: %w", err)
	}
	return nil
}

// applyEntry records a committed log entry in a cached catalog as a
// published load. It is idempotent: a load the cache already has (its own
// commit, or an entry applied before a crash) is finished, not repeated.
func applyEntry(ctx context.Context, cat *catalog.Catalog, e LogEntry) error {
	status, err := cat.LoadStatus(ctx, e.LoadID)
	if err != nil {
		return err
	}
	switch status {
	case "":
		if err := cat.BeginLoad(ctx, e.loadInfo()); err != nil {
			return err
		}
		fallthrough
	case "running":
		if err := cat.Commit(ctx, e.commit()); err != nil {
			return err
		}
		fallthrough
	case "committed":
		return cat.MarkPublished(ctx, e.LoadID)
	case "published":
		return nil
	default:
		return fmt.Errorf("load %s is %s in the cached catalog but committed in the bucket; remove the cache folder and run again", e.LoadID, status)
	}
}

func readLogEntry(ctx context.Context, store ObjectStore, seq int64) (LogEntry, error) {
	var e LogEntry
	b, _, err := store.Get(ctx, logKey(seq))
	if err != nil {
		return e, fmt.Errorf("lake %s: read %s: %w", store.URL(), logKey(seq), err)
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return e, fmt.Errorf("lake %s: %s is not a commit log entry: %w", store.URL(), logKey(seq), err)
	}
	if !knownFormat(e.Format) || e.Seq != seq {
		return e, fmt.Errorf("lake %s: %s has format %d and seq %d (want format %d to %d, seq %d)", store.URL(), logKey(seq), e.Format, e.Seq, minManifestFormat, LogFormat, seq)
	}
	return e, nil
}

func latestCheckpoint(ctx context.Context, store ObjectStore) (int64, error) {
	var last int64
	err := store.List(ctx, checkpointPrefix, "", func(o ObjectInfo) error {
		if n, ok := seqOfKey(o.Key, checkpointPrefix, ".db.zst"); ok && n > last {
			last = n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("lake %s: list checkpoints: %w", store.URL(), err)
	}
	return last, nil
}

func downloadCheckpoint(ctx context.Context, store ObjectStore, seq int64, catPath string) error {
	err := fsync.WriteAtomic(catPath, filePerm, false, func(f *os.File) error {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(store.Download(ctx, checkpointKey(seq), pw)) }()
		defer pr.CloseWithError(io.ErrClosedPipe)
		dec, err := zstd.NewReader(pr)
		if err != nil {
			return err
		}
		defer dec.Close()
		_, err = io.Copy(f, dec)
		return err
	})
	if err != nil {
		return fmt.Errorf("lake %s: download checkpoint %s: %w", store.URL(), checkpointKey(seq), err)
	}
	return nil
}

// writeCheckpoint uploads the cached catalog as the checkpoint of seq, then
// deletes the checkpoints older than the one before it.
func (b *bucketLake) writeCheckpoint(ctx context.Context, cat *catalog.Catalog, seq int64) error {
	dir, err := os.MkdirTemp(b.cache.root, ".checkpoint-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	snap := filepath.Join(dir, "catalog.db")
	if _, err := cat.DB().ExecContext(ctx, `VACUUM INTO ?`, snap); err != nil {
		return fmt.Errorf("snapshot the catalog: %w", err)
	}
	zpath := snap + ".zst"
	in, err := os.Open(snap)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(zpath)
	if err != nil {
		return err
	}
	defer out.Close()
	enc, err := zstd.NewWriter(out, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		return err
	}
	if _, err := io.Copy(enc, in); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	st, err := out.Stat()
	if err != nil {
		return err
	}
	if _, err := out.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if _, err := b.store.Put(ctx, checkpointKey(seq), out, st.Size(), PutCond{}); err != nil {
		return fmt.Errorf("upload checkpoint: %w", err)
	}
	var old []string
	err = b.store.List(ctx, checkpointPrefix, "", func(o ObjectInfo) error {
		if n, ok := seqOfKey(o.Key, checkpointPrefix, ".db.zst"); ok && n < seq-b.every {
			old = append(old, o.Key)
		}
		return nil
	})
	for _, k := range old {
		if err == nil {
			err = b.store.Delete(ctx, k)
		}
	}
	return err
}

// commit uploads a transaction's staged files to its staging folder in the
// bucket, then creates the next log entry: the commit point.
func (b *bucketLake) commit(ctx context.Context, t *Tx, cm catalog.Commit) (int64, error) {
	t.bucketStaged = true
	upload := func(i int) error {
		f := cm.Files[i]
		if err := b.putFile(ctx, stagedKey(t.id, f.Path), t.stage.Staged(f.Path)); err != nil {
			return fmt.Errorf("upload %s: %w", f.Path, err)
		}
		return nil
	}
	// The first file alone (a crash point follows it), then the others
	// transferConcurrency at a time.
	if len(cm.Files) > 0 {
		if err := upload(0); err != nil {
			return 0, err
		}
		t.Step("bucket-during-upload")
		if err := parallel(ctx, len(cm.Files)-1, func(i int) error { return upload(i + 1) }); err != nil {
			return 0, err
		}
	}
	if len(cm.Files) == 0 && len(cm.Replaces)+len(cm.Retires) > 0 {
		// Nothing staged, but files to delete once committed: a marker
		// tells recovery that this load may have work left after a crash
		// (the deletions are its finishing hook).
		if _, err := b.store.Put(ctx, stagedKey(t.id, pendingMarker), bytes.NewReader(nil), 0, PutCond{}); err != nil {
			return 0, fmt.Errorf("upload %s: %w", stagedKey(t.id, pendingMarker), err)
		}
	}
	t.Step("bucket-after-upload")
	if err := b.lease.Renew(ctx); err != nil {
		return 0, err
	}
	host, _ := os.Hostname()
	info := catalog.LoadInfo{ID: t.id, StartedAt: t.opts.StartedAt, Command: t.opts.Command, Host: host,
		PID: os.Getpid(), Sources: t.opts.Sources}
	seq := b.seq + 1
	e := newLogEntry(seq, info, cm)
	data, err := json.Marshal(e)
	if err != nil {
		return 0, err
	}
	t.logTried = true
	_, err = b.store.Put(ctx, logKey(seq), bytes.NewReader(data), int64(len(data)), PutCond{IfAbsent: true})
	if errors.Is(err, ErrPrecondition) {
		// A retried write whose first attempt succeeded finds its own entry.
		if got, rerr := readLogEntry(ctx, b.store, seq); rerr == nil && got.LoadID == t.id {
			err = nil
		} else {
			t.logLost = true
			return 0, fmt.Errorf("%w: %s already exists (load %s committed it); nothing of load %s is in the lake, run again",
				ErrCommitConflict, logKey(seq), got.LoadID, t.id)
		}
	}
	if err != nil {
		// The store may have written the entry and lost only its answer:
		// the next writer replays the log and finishes the load if so.
		return 0, fmt.Errorf("create %s: %w; the store did not confirm the commit, so load %s may have committed: the next run reads the log and finishes it, or loads its objects again if it did not",
			logKey(seq), err, t.id)
	}
	b.seq = seq
	return seq, nil
}

func (b *bucketLake) putFile(ctx context.Context, key, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	_, err = b.store.Put(ctx, key, f, st.Size(), PutCond{})
	return err
}

// stagedObjects lists the staged files of one load (catalog paths), or of
// every load when id is empty (then keyed by load).
func (b *bucketLake) stagedObjects(ctx context.Context, id string) (map[string][]string, error) {
	prefix := bucketStagePrefix
	if id != "" {
		prefix += id + "/"
	}
	out := map[string][]string{}
	err := b.store.List(ctx, prefix, "", func(o ObjectInfo) error {
		rest := strings.TrimPrefix(o.Key, bucketStagePrefix)
		load, path, ok := strings.Cut(rest, "/")
		if ok {
			out[load] = append(out[load], path)
		}
		return nil
	})
	return out, err
}

// bucketPublish copies a committed load's staged files to their keys
// (skipping those already copied and deleted from staging).
type bucketPublish struct{ b *bucketLake }

func (h bucketPublish) Run(ctx context.Context, p *Publication) error {
	staged, err := h.b.stagedObjects(ctx, p.LoadID)
	if err != nil {
		return fmt.Errorf("list the staged files: %w", err)
	}
	var paths []string
	for _, path := range staged[p.LoadID] {
		if path == pendingMarker {
			continue
		}
		if err := catalog.CheckFilePath(path); err != nil {
			return err
		}
		paths = append(paths, path)
	}
	var mu sync.Mutex
	publish := func(i int) error {
		if err := h.b.store.Copy(ctx, stagedKey(p.LoadID, paths[i]), paths[i]); err != nil {
			return fmt.Errorf("publish %s: %w", paths[i], err)
		}
		mu.Lock()
		p.Published++
		mu.Unlock()
		return nil
	}
	// The first copy alone (a crash point follows it), then the others.
	if len(paths) == 0 {
		return nil
	}
	if err := publish(0); err != nil {
		return err
	}
	p.Step("during-publish")
	return parallel(ctx, len(paths)-1, func(i int) error { return publish(i + 1) })
}

// bucketFinish finishes a published load in the bucket: the files a
// compaction replaced are deleted (except those the writer's Keeper keeps),
// then the staging folder. Every caller has run the publishing hooks
// (bucketPublish copied the staged files) just before.
type bucketFinish struct {
	b *bucketLake
	w *Writer
}

func (h bucketFinish) Run(ctx context.Context, p *Publication) error {
	retired, err := p.Catalog.RetiredFiles(ctx, p.LoadID)
	if err != nil {
		return err
	}
	if h.w.keep != nil && len(retired) > 0 {
		kept, err := h.w.keep.Keep(ctx, p, retired)
		if err != nil {
			return fmt.Errorf("deciding which replaced files readers still need: %w", err)
		}
		retired = slices.DeleteFunc(retired, func(path string) bool { return kept[path] })
	}
	for i, path := range retired {
		if err := catalog.CheckFilePath(path); err != nil {
			return err
		}
		if err := h.b.store.Delete(ctx, path); err != nil {
			return fmt.Errorf("delete replaced file %s: %w", path, err)
		}
		p.Deleted++
		if i == 0 {
			p.Step("during-delete")
		}
	}
	if len(retired) > 0 {
		p.Step("after-delete")
	}
	staged, err := h.b.stagedObjects(ctx, p.LoadID)
	if err != nil {
		return err
	}
	paths := staged[p.LoadID]
	if err := parallel(ctx, len(paths), func(i int) error {
		if err := h.b.store.Delete(ctx, stagedKey(p.LoadID, paths[i])); err != nil {
			return fmt.Errorf("delete staged %s: %w", paths[i], err)
		}
		return nil
	}); err != nil {
		return err
	}
	p.Step("bucket-after-finish")
	return nil
}

// recoverBucket finishes every committed load with staged files left in the
// bucket and deletes the staged files of loads the log does not have.
func (w *Writer) recoverBucket(ctx context.Context, rep *RecoveryReport) error {
	staged, err := w.bucket.stagedObjects(ctx, "")
	if err != nil {
		return fmt.Errorf("list the bucket's staging area: %w", err)
	}
	ids := make([]string, 0, len(staged))
	for id := range staged {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		status, err := w.Catalog.LoadStatus(ctx, id)
		if err != nil {
			return err
		}
		if status == "published" {
			// The publishing hooks run again first (each is idempotent): a
			// crash may have come before a table format's commit, which
			// needs the files copied to their keys.
			p := w.publication(id, staged[id], nil)
			err := w.runHooks(ctx, w.publish, p)
			if err == nil {
				err = w.runHooks(ctx, w.finish, p)
			}
			rep.FilesPublished += p.Published
			rep.ReplacedDeleted += p.Deleted
			if err != nil {
				return fmt.Errorf("committed load %s: %w", id, err)
			}
			rep.Completed++
			continue
		}
		for _, path := range staged[id] {
			if err := w.bucket.store.Delete(ctx, stagedKey(id, path)); err != nil {
				return fmt.Errorf("delete the staged files of uncommitted load %s: %w", id, err)
			}
		}
		rep.Aborted++
	}
	return nil
}

// discardStaged deletes what a failed transaction uploaded, unless its
// commit may have happened (the log write was tried and not refused):
// recovery decides then, from the log.
func (b *bucketLake) discardStaged(ctx context.Context, t *Tx) {
	if !t.bucketStaged || (t.logTried && !t.logLost) {
		return
	}
	// Best effort, within one store timeout: a store that stopped
	// answering leaves the rest to the next writer's recovery.
	ctx, cancel := context.WithTimeout(ctx, storeTimeout())
	defer cancel()
	staged, err := b.stagedObjects(ctx, t.id)
	if err != nil {
		return
	}
	for _, path := range staged[t.id] {
		if b.store.Delete(ctx, stagedKey(t.id, path)) != nil {
			return
		}
	}
}

// openBucketWriter opens a lake in a bucket for writing: the lease, the
// cached catalog synced from the bucket, then recovery.
func openBucketWriter(ctx context.Context, loc Location, catalogPath string, wait time.Duration, command string, opts ...Option) (*Writer, RecoveryReport, error) {
	if catalogPath != "" {
		return nil, RecoveryReport{}, fmt.Errorf("lake %s: --catalog does not apply to a lake in a bucket (its catalog is kept in the bucket)", loc)
	}
	store, err := OpenStore(ctx, loc)
	if err != nil {
		return nil, RecoveryReport{}, err
	}
	fail := func(err error, closers ...func()) (*Writer, RecoveryReport, error) {
		for _, c := range closers {
			c()
		}
		store.Close()
		return nil, RecoveryReport{}, err
	}
	ls, err := acquireLease(ctx, store, wait, command)
	if err != nil {
		return fail(err)
	}
	cache, err := openCacheDir(store)
	if err != nil {
		return fail(err, func() { ls.Release() })
	}
	cat, seq, err := syncCatalog(ctx, store, cache)
	if err != nil {
		return fail(err, func() { ls.Release() }, cache.close)
	}
	b := &bucketLake{store: store, seq: seq, lease: ls, every: checkpointEvery(), cache: cache}
	w := &Writer{Catalog: cat, Layout: At(cache.root), bucket: b, publish: []Hook{bucketPublish{b}}}
	w.finish = []Hook{bucketFinish{b: b, w: w}}
	for _, o := range opts {
		o(w)
	}
	rep, err := w.recover(ctx)
	if err == nil {
		err = w.recoverBucket(ctx, &rep)
	}
	if err != nil {
		w.Close()
		return nil, rep, fmt.Errorf("recovering interrupted loads: %w", err)
	}
	return w, rep, nil
}

// OpenBucketReader syncs the catalog of a lake in a bucket into a local
// cache folder, for readers (status, sql): no lease is taken and nothing in
// the bucket changes. The catalog holds every committed load; the files of
// one whose publishing a crash interrupted are still staged, and
// DownloadFiles reads those staged copies. close removes the cache (unless
// kept).
func OpenBucketReader(ctx context.Context, loc Location) (cat *catalog.Catalog, store ObjectStore, root string, close func(), err error) {
	store, err = OpenStore(ctx, loc)
	if err != nil {
		return nil, nil, "", nil, err
	}
	cache, err := openCacheDir(store)
	if err != nil {
		store.Close()
		return nil, nil, "", nil, err
	}
	cat, _, err = syncCatalog(ctx, store, cache)
	if err != nil {
		cache.close()
		store.Close()
		return nil, nil, "", nil, err
	}
	return cat, store, cache.root, func() { cat.Close(); store.Close(); cache.close() }, nil
}

// DownloadLiveFiles copies the live files of a bucket lake that the cache
// folder root lacks into it, at their catalog paths, refusing to hold more
// than maxBytes; keep, when set, selects the files (partition pruning).
// It returns the bytes downloaded.
func DownloadLiveFiles(ctx context.Context, store ObjectStore, cat *catalog.Catalog, root string, maxBytes int64, keep func(catalog.FileRecord) bool) (int64, error) {
	files, err := cat.LiveFiles(ctx, "")
	if err != nil {
		return 0, err
	}
	var total int64
	var need []catalog.FileRecord
	for _, f := range files {
		if keep != nil && !keep(f) {
			continue
		}
		total += f.Bytes
		need = append(need, f)
	}
	if maxBytes > 0 && total > maxBytes {
		return 0, fmt.Errorf("lake %s: the query needs %d bytes of Parquet files, more than the local cache may hold (%d bytes; EVENTLAKE_SQL_CACHE_BYTES)",
			store.URL(), total, maxBytes)
	}
	got, missing, err := DownloadFiles(ctx, store, root, need)
	if err == nil && len(missing) > 0 {
		err = fmt.Errorf("lake %s: download %s: %w", store.URL(), missing[0], ErrNotExist)
	}
	return got, err
}

// DownloadFiles copies files of a bucket lake into the folder root, at
// their catalog paths, skipping those root already holds at their size. A
// committed file whose publishing a crash interrupted is still only in the
// bucket's staging area: its staged copy (the committed content) is read
// instead. Files found nowhere are returned as missing, not as an error
// (the caller decides). It returns the bytes downloaded.
func DownloadFiles(ctx context.Context, store ObjectStore, root string, files []catalog.FileRecord) (got int64, missing []string, err error) {
	var staged map[string]string // catalog path -> staged key
	l := At(root)
	for _, f := range files {
		if err := catalog.CheckFilePath(f.Path); err != nil {
			return got, missing, err
		}
		dst := l.File(f.Path)
		if st, err := os.Stat(dst); err == nil && st.Size() == f.Bytes {
			continue
		}
		n, err := downloadTo(ctx, store, f.Path, dst)
		if errors.Is(err, ErrNotExist) {
			if staged == nil {
				if staged, err = stagedCopies(ctx, store); err != nil {
					return got, missing, fmt.Errorf("lake %s: list the staging area: %w", store.URL(), err)
				}
			}
			if key, ok := staged[f.Path]; ok {
				n, err = downloadTo(ctx, store, key, dst)
			}
		}
		if errors.Is(err, ErrNotExist) {
			missing = append(missing, f.Path)
			continue
		}
		if err != nil {
			return got, missing, fmt.Errorf("lake %s: download %s: %w", store.URL(), f.Path, err)
		}
		got += n
	}
	return got, missing, nil
}

// stagedCopies maps the catalog path of every staged file in the bucket to
// its staged key.
func stagedCopies(ctx context.Context, store ObjectStore) (map[string]string, error) {
	out := map[string]string{}
	err := store.List(ctx, bucketStagePrefix, "", func(o ObjectInfo) error {
		if load, path, ok := strings.Cut(strings.TrimPrefix(o.Key, bucketStagePrefix), "/"); ok {
			out[path] = stagedKey(load, path)
		}
		return nil
	})
	return out, err
}

// downloadTo downloads key into the file dst (through a temporary file)
// and returns its size.
func downloadTo(ctx context.Context, store ObjectStore, key, dst string) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(dst), dirPerm); err != nil {
		return 0, err
	}
	var n int64
	err := fsync.WriteAtomic(dst, filePerm, false, func(f *os.File) error {
		if err := store.Download(ctx, key, f); err != nil {
			return err
		}
		st, err := f.Stat()
		if err == nil {
			n = st.Size()
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Download copies files of the writer's bucket lake into the folder root
// (see DownloadFiles), for a writer that reads them (compaction). It
// refuses a lake in a folder, whose files are read in place.
func (w *Writer) Download(ctx context.Context, root string, files []catalog.FileRecord) (int64, []string, error) {
	if w.bucket == nil {
		return 0, nil, errors.New("lake: download from a lake in a folder")
	}
	return DownloadFiles(ctx, w.bucket.store, root, files)
}

// downloadFile copies the object at key to the local file dst, through a
// temporary file renamed into place (dst is complete or absent).
func downloadFile(ctx context.Context, store ObjectStore, key, dst string) error {
	_, err := downloadTo(ctx, store, key, dst)
	return err
}

// transferConcurrency is how many uploads, server-side copies or deletes of
// one load run at once (EVENTLAKE_TRANSFERS overrides it; 1: one at a
// time): each is one request whose latency, not bandwidth, dominates for
// the many small files of a load.
const transferConcurrency = 8

func transfers() int {
	if n, err := strconv.Atoi(os.Getenv("EVENTLAKE_TRANSFERS")); err == nil && n > 0 {
		return n
	}
	return transferConcurrency
}

// parallel runs fn(0) … fn(n-1), transfers() at a time, and returns the
// first error (the others then stop starting).
func parallel(ctx context.Context, n int, fn func(i int) error) error {
	if n <= 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	sem := make(chan struct{}, transfers())
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
				cancel()
			}
		}(i)
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err() // the caller's context ended
}
