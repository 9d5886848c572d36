package partitions

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/eventlake/eventlake/internal/fsync"
	"github.com/eventlake/eventlake/internal/lakepath"
)

const (
	dirPerm  = 0o755
	filePerm = 0o644
)

// Stage is one load's staging folder (where the lake's layout puts it, see
// package lake). Files are written there under their file name (the staging
// folder is flat: file names are unique within a load, see NextName, so
// writing a load creates no directories), then moved to their relative path
// in the lake by PublishAll.
// A Stage is safe for concurrent use by several writers (one per loader
// worker).
type Stage struct {
	loadID string
	root   string
	next   atomic.Int64

	// Background fsyncs of finished files (see SyncLater).
	syncMu  sync.Mutex
	syncErr map[string]error // staged path → its fsync's result, once done
	syncing map[string]bool  // staged paths handed to SyncLater
	// deferred are the staged paths SyncLater left to Sync's syncfs.
	deferred map[string]bool
	syncWG   sync.WaitGroup
	syncSem  chan struct{}
	// fs syncs the staging folder's whole file system at once (nil where
	// syncfs is not available, see fsync.OpenFS); opened before any file
	// is staged, so its Sync reports a write-back error of any of them.
	fs *fsync.FS
	// syncFS is fs.Sync (tests replace it).
	syncFS func() error
	// background counts the files SyncLater fsyncs on their own; past
	// syncEachMax, with fs, the others wait for the one syncfs of Sync.
	background int
	// scratch: the staged files are copied elsewhere before the commit and
	// never read after a crash, so neither SyncLater nor Sync fsyncs them
	// (NewScratchStage). Set at construction, never changed.
	scratch bool
}

// syncEachMax is how many staged files of a load are fsynced one by one
// (in the background, as they are finished) when the file system can be
// synced at once: a load of a few files does not flush what other programs
// wrote to the same file system, while a backfill of thousands of files
// saves thousands of opens and fsyncs with one syncfs.
const syncEachMax = 64

// NewStage creates the staging folder dir of load loadID (directories 0755,
// parents as needed). The load ID must be usable as a single file-name
// segment.
func NewStage(dir, loadID string) (*Stage, error) { return newStage(dir, loadID, false) }

// NewScratchStage is NewStage for staged files that are a scratch copy:
// whatever commits them copies them somewhere durable first (a lake in a
// bucket uploads them before its commit point, and after a crash publishes
// from the bucket, not from this folder), so making them durable here buys
// nothing. SyncLater and Sync do not fsync them, and the stage opens no
// descriptor for syncfs.
func NewScratchStage(dir, loadID string) (*Stage, error) { return newStage(dir, loadID, true) }

func newStage(dir, loadID string, scratch bool) (*Stage, error) {
	if err := checkLoadID(loadID); err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, errors.New("partitions: new stage: empty staging directory")
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("partitions: new stage: staging directory %q: %w", dir, err)
	}
	if err := os.MkdirAll(root, dirPerm); err != nil {
		return nil, fmt.Errorf("partitions: new stage for load %s: %w", loadID, err)
	}
	s := &Stage{loadID: loadID, root: root, scratch: scratch,
		syncErr: map[string]error{}, syncing: map[string]bool{}, deferred: map[string]bool{}, syncSem: make(chan struct{}, syncParallelism)}
	if scratch {
		return s, nil
	}
	if fs, err := fsync.OpenFS(root); err == nil {
		s.fs, s.syncFS = fs, fs.Sync
	}
	return s, nil
}

// Staged returns the absolute path where the file to be published at
// relPath is staged (see StagedPath).
func (s *Stage) Staged(relPath string) string { return StagedPath(s.root, relPath) }

// StagedPath returns where the file that will be published at relPath is
// staged in the staging folder dir: dir/<file name>.
func StagedPath(dir, relPath string) string { return filepath.Join(dir, path.Base(relPath)) }

// Root returns the absolute staging root of the load.
func (s *Stage) Root() string { return s.root }

// LoadID returns the load the stage belongs to.
func (s *Stage) LoadID() string { return s.loadID }

// NextName returns a fresh file name "part-<loadID>-<n>.parquet", n counting
// from 0 and zero-padded to 5 digits (more digits past 99999). Names are
// unique within the stage even across concurrent writers, so two workers
// writing the same partition never collide.
func (s *Stage) NextName() string {
	n := s.next.Add(1) - 1
	return fmt.Sprintf("part-%s-%05d.parquet", s.loadID, n)
}

// Remove deletes the staging root and everything under it (used on abort and
// after publish). Removing a stage that is already gone is not an error.
func (s *Stage) Remove() error {
	if s.fs != nil {
		_ = s.fs.Close() // only a descriptor of a directory: nothing to lose
	}
	if err := os.RemoveAll(s.root); err != nil {
		return fmt.Errorf("partitions: remove staging for load %s: %w", s.loadID, err)
	}
	return nil
}

// create creates a new staged file at relPath (relative, '/'-separated) with
// its parent directories, failing if the file already exists.
func (s *Stage) create(relPath string) (*os.File, string, error) {
	abs := s.Staged(relPath)
	f, err := createFile(abs)
	if err != nil {
		return nil, "", fmt.Errorf("partitions: create staged %s: %w", relPath, err)
	}
	return f, abs, nil
}

func checkLoadID(loadID string) error {
	switch {
	case loadID == "":
		return errors.New("partitions: empty load ID")
	case loadID == "." || loadID == "..":
		return fmt.Errorf("partitions: invalid load ID %q", loadID)
	case strings.ContainsAny(loadID, "/\\\x00"):
		return fmt.Errorf("partitions: invalid load ID %q: it must be a single path segment", loadID)
	}
	return nil
}

// checkRelPath refuses any relative path that could leave the directory it is
// joined to: absolute paths, backslashes, empty, "." and ".." segments.
func checkRelPath(relPath string) error {
	switch {
	case relPath == "":
		return errors.New("partitions: empty relative path")
	case strings.HasPrefix(relPath, "/") || filepath.IsAbs(relPath) || filepath.VolumeName(relPath) != "":
		return fmt.Errorf("partitions: refusing absolute path %q", relPath)
	case strings.ContainsAny(relPath, "\\\x00"):
		return fmt.Errorf("partitions: refusing path %q: backslash or NUL", relPath)
	}
	for _, seg := range strings.Split(relPath, "/") {
		switch seg {
		case "..":
			return fmt.Errorf("partitions: refusing path %q: contains \"..\"", relPath)
		case "", ".":
			return fmt.Errorf("partitions: refusing path %q: empty or \".\" segment", relPath)
		}
	}
	if path.Clean(relPath) != relPath {
		return fmt.Errorf("partitions: refusing unclean path %q", relPath)
	}
	return nil
}

// within reports whether target is dir itself or lies lexically below it.
func within(dir, target string) bool {
	rel, err := filepath.Rel(dir, target)
	if err != nil {
		return false
	}
	return rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// Publish moves the file staged for relPath in the staging folder dir to
// <lake>/<relPath>; it is PublishAll of one file.
func Publish(lakeDir, dir, relPath string) error {
	_, err := PublishAll(lakeDir, dir, []string{relPath}, nil)
	return err
}

// PublishAll moves the files staged for relPaths in the staging folder dir
// (see StagedPath) to <lake>/<relPath> by rename, creating parent
// directories (and fsyncing the parent of every directory it creates), then
// fsyncs every destination directory once, so the published files survive
// a crash. The staged files themselves must already be durable: Stage.Sync
// runs before the commit that names them. afterFirst, when not nil, runs
// after the first rename (crash tests stop there). It returns how many
// files it moved (not counting those published before). Errors name the
// load by the staging folder's name, which is its load ID.
//
// Publishing is idempotent: a staged file that is missing while the final
// one exists was published before (recovery may run twice). As defence in
// depth it refuses a relPath that is absolute, contains "..", or would not
// stay inside the lake's table area (the lake root minus its metadata
// folder).
func PublishAll(lakeDir, dir string, relPaths []string, afterFirst func()) (moved int, err error) {
	loadID := filepath.Base(dir)
	if err := checkLoadID(loadID); err != nil {
		return 0, err
	}
	lake, err := filepath.Abs(lakeDir)
	if err != nil {
		return 0, fmt.Errorf("partitions: publish: lake directory %q: %w", lakeDir, err)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return 0, fmt.Errorf("partitions: publish: staging directory: %w", err)
	}
	// Check every path first, then publish folder by folder, in parallel:
	// creating folders and renaming into different ones do not wait on
	// each other.
	byDir := map[string][]string{}
	var dirs []string
	for _, relPath := range relPaths {
		if err := checkRelPath(relPath); err != nil {
			return 0, err
		}
		dst := filepath.Join(lake, filepath.FromSlash(relPath))
		if !within(lake, dst) || dst == lake || within(filepath.Join(lake, lakepath.MetaDir), dst) {
			return 0, fmt.Errorf("partitions: refusing path %q: it does not stay inside the lake's table area", relPath)
		}
		d := filepath.Dir(dst)
		if _, ok := byDir[d]; !ok {
			dirs = append(dirs, d)
		}
		byDir[d] = append(byDir[d], relPath)
	}
	// Create the missing folders first, then fsync the parent of each new
	// one once (a backfill creates thousands of event_date folders under
	// a few domain folders), so every new directory entry is durable
	// before a file is renamed into it.
	if err := makeDirs(dirs); err != nil {
		return 0, fmt.Errorf("partitions: publish load %s: %w", loadID, err)
	}
	// Many folders (a backfill's thousands of days) are made durable by
	// one syncfs of the lake's file system after the renames instead of an
	// fsync each; it is opened before them, so it reports their errors.
	var whole *fsync.FS
	if len(dirs) > syncEachMax {
		if fs, err := fsync.OpenFS(lake); err == nil {
			whole = fs
			defer whole.Close()
		}
	}
	var first sync.Once
	var renamed atomic.Int64
	err = syncAll(dirs, func(dstDir string) error {
		made := false
		for _, relPath := range byDir[dstDir] {
			src := StagedPath(dir, relPath)
			dst := filepath.Join(lake, filepath.FromSlash(relPath))
			st, err := os.Lstat(src)
			if errors.Is(err, fs.ErrNotExist) {
				// Staged by an older version, which mirrored the lake's folders.
				nested := filepath.Join(dir, filepath.FromSlash(relPath))
				if nst, nerr := os.Lstat(nested); nerr == nil {
					src, st, err = nested, nst, nil
				}
			}
			if errors.Is(err, fs.ErrNotExist) {
				if st, serr := os.Stat(dst); serr == nil && st.Mode().IsRegular() {
					continue // already published by an earlier run
				}
				return fmt.Errorf("publish %s for load %s: staged file missing and not published: %w", relPath, loadID, err)
			}
			if err == nil && !st.Mode().IsRegular() {
				err = fmt.Errorf("staged %s is not a regular file", src)
			}
			if err != nil {
				return fmt.Errorf("publish %s for load %s: %w", relPath, loadID, err)
			}
			made = true
			if err := os.Rename(src, dst); err != nil {
				return fmt.Errorf("publish %s for load %s: %w", relPath, loadID, err)
			}
			renamed.Add(1)
			if afterFirst != nil {
				first.Do(afterFirst)
			}
		}
		if !made || whole != nil {
			return nil
		}
		if err := fsync.Dir(dstDir); err != nil {
			return fmt.Errorf("publish load %s: sync directory: %w", loadID, err)
		}
		return nil
	})
	if err == nil && whole != nil && renamed.Load() > 0 {
		if err = publishSyncFS(whole); err != nil {
			err = fmt.Errorf("publish load %s: sync the lake's file system: %w", loadID, err)
		}
	}
	if err != nil {
		return int(renamed.Load()), fmt.Errorf("partitions: %w", err)
	}
	return int(renamed.Load()), nil
}

// publishSyncFS syncs the lake's file system after PublishAll's renames
// (tests replace it).
var publishSyncFS = (*fsync.FS).Sync

// syncParallelism is how many fsyncs run at once: the file system folds
// concurrent ones into fewer journal commits, and no worker waits on them.
const syncParallelism = 16

// syncAll runs fn on every path, syncParallelism at a time, and returns the
// first error.
func syncAll(paths []string, fn func(string) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  atomic.Int64
	)
	for range min(syncParallelism, len(paths)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(paths) {
					return
				}
				if err := fn(paths[i]); err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("%s: %w", paths[i], err)
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// SyncLater starts fsyncing a finished staged file in the background, so
// the disk works while the writers go on; Sync waits for it. Writers call it
// as they finish each file. Past syncEachMax files of a stage whose file
// system can be synced at once, it leaves the file to Sync's one syncfs.
func (s *Stage) SyncLater(relPath string) {
	if s.scratch {
		return
	}
	abs := s.Staged(relPath)
	s.syncMu.Lock()
	if s.syncing[abs] {
		s.syncMu.Unlock()
		return
	}
	if s.fs != nil && s.background >= syncEachMax {
		s.deferred[abs] = true
		s.syncMu.Unlock()
		return
	}
	s.syncing[abs] = true
	s.background++
	s.syncMu.Unlock()
	s.syncWG.Add(1)
	go func() {
		defer s.syncWG.Done()
		s.syncSem <- struct{}{}
		err := fsync.File(abs)
		<-s.syncSem
		s.syncMu.Lock()
		s.syncErr[abs] = err
		s.syncMu.Unlock()
	}()
}

// Sync makes staged files durable before the commit that names them: it
// waits for the files' background fsyncs (SyncLater), fsyncs the others (in
// parallel), then the staging folder and its parent. The files SyncLater
// left to it past syncEachMax (where the file system can be synced at once,
// fsync.FS) are made durable, with the staging folder's entries, by one
// syncfs. Writers never fsync themselves, so a worker never waits on the
// disk while there is compressing to do. A scratch stage syncs nothing.
func (s *Stage) Sync(files []File) error {
	if s.scratch {
		return nil
	}
	s.syncWG.Wait()
	var paths []string
	whole := false
	for _, f := range files {
		abs := s.Staged(f.Path)
		s.syncMu.Lock()
		err, done := s.syncErr[abs]
		deferred := s.deferred[abs]
		s.syncMu.Unlock()
		switch {
		case deferred:
			whole = true
		case !done:
			paths = append(paths, abs)
		case err != nil:
			return fmt.Errorf("partitions: sync staged file %s: %w", abs, err)
		}
	}
	if err := syncAll(paths, fsync.File); err != nil {
		return fmt.Errorf("partitions: sync staged file %w", err)
	}
	if whole {
		// Every file SyncLater deferred and the staging folder's
		// entries are on the file system of the root (the folder is
		// flat), and were written after it was opened.
		if err := s.syncFS(); err != nil {
			return fmt.Errorf("partitions: sync staged files of load %s (syncfs): %w", s.loadID, err)
		}
		return nil
	}
	if err := syncAll([]string{s.root, filepath.Dir(s.root)}, fsync.Dir); err != nil {
		return fmt.Errorf("partitions: sync staging directory %w", err)
	}
	return nil
}

// makeDirs creates every missing folder of dirs with its missing parents,
// then fsyncs each parent of a created folder once (in parallel).
func makeDirs(dirs []string) error {
	exists := map[string]bool{}
	parents := map[string]bool{}
	var mk func(dir string) error
	mk = func(dir string) error {
		if exists[dir] {
			return nil
		}
		// Mkdir first: a new folder (most of a backfill's) costs one call.
		err := os.Mkdir(dir, dirPerm)
		parent := filepath.Dir(dir)
		if errors.Is(err, fs.ErrNotExist) && parent != dir {
			if err := mk(parent); err != nil {
				return err
			}
			err = os.Mkdir(dir, dirPerm)
		}
		switch {
		case err == nil:
			parents[parent] = true
		case errors.Is(err, fs.ErrExist):
			st, serr := os.Stat(dir)
			if serr != nil {
				return serr
			}
			if !st.IsDir() {
				return fmt.Errorf("%s exists and is not a directory", dir)
			}
		default:
			return err
		}
		exists[dir] = true
		return nil
	}
	for _, d := range dirs {
		if err := mk(d); err != nil {
			return err
		}
	}
	sync := make([]string, 0, len(parents))
	for p := range parents {
		sync = append(sync, p)
	}
	slices.Sort(sync)
	return syncAll(sync, fsync.Dir)
}
