package partitions

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
)

// metaDir holds everything in the lake that is not table data (catalog,
// staging). It starts with '_' so Spark, Hive and Athena never list it.
const metaDir = "_eventlake"

// stagingRel is the staging area's path relative to the lake root.
const stagingRel = metaDir + "/staging"

const (
	dirPerm  = 0o755
	filePerm = 0o644
)

// StagingDir returns <lake>/_eventlake/staging/<loadID>.
func StagingDir(lakeDir, loadID string) string {
	return filepath.Join(lakeDir, filepath.FromSlash(stagingRel), loadID)
}

// Stage is the layout of one load's staging area,
// <lake>/_eventlake/staging/<loadID>/. Files are written there under the same
// relative path they will have in the lake, then moved into place by Publish.
// A Stage is safe for concurrent use by several writers (one per loader
// worker).
type Stage struct {
	lake   string
	loadID string
	root   string
	next   atomic.Int64
}

// NewStage creates <lake>/_eventlake/staging/<loadID>/ (directories 0755,
// parents as needed). The load ID must be usable as a single file-name
// segment.
func NewStage(lakeDir, loadID string) (*Stage, error) {
	if err := checkLoadID(loadID); err != nil {
		return nil, err
	}
	if lakeDir == "" {
		return nil, errors.New("partitions: new stage: empty lake directory")
	}
	lake, err := filepath.Abs(lakeDir)
	if err != nil {
		return nil, fmt.Errorf("partitions: new stage: lake directory %q: %w", lakeDir, err)
	}
	root := StagingDir(lake, loadID)
	if err := os.MkdirAll(root, dirPerm); err != nil {
		return nil, fmt.Errorf("partitions: new stage for load %s: %w", loadID, err)
	}
	return &Stage{lake: lake, loadID: loadID, root: root}, nil
}

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
	if err := os.RemoveAll(s.root); err != nil {
		return fmt.Errorf("partitions: remove staging for load %s: %w", s.loadID, err)
	}
	return nil
}

// create creates a new staged file at relPath (relative, '/'-separated) with
// its parent directories, failing if the file already exists.
func (s *Stage) create(relPath string) (*os.File, string, error) {
	abs := filepath.Join(s.root, filepath.FromSlash(relPath))
	if err := os.MkdirAll(filepath.Dir(abs), dirPerm); err != nil {
		return nil, "", fmt.Errorf("partitions: create staged %s: %w", relPath, err)
	}
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return nil, "", fmt.Errorf("partitions: create staged %s: %w", relPath, err)
	}
	return f, abs, nil
}

// removeEmptyDirs removes dir and then its parents while they are empty,
// stopping at (and never removing) s.root. Best effort.
func (s *Stage) removeEmptyDirs(dir string) {
	for dir != s.root && strings.HasPrefix(dir, s.root+string(filepath.Separator)) {
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
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

// Publish moves the staged file <lake>/_eventlake/staging/<loadID>/<relPath>
// to <lake>/<relPath> by rename, creating parent directories. The file is
// fsynced before the rename and the destination directory after it (as is
// the parent of every directory Publish creates), so a published file
// survives a crash.
//
// Publish is idempotent: if the staged file is missing and the final one
// exists, it returns nil (recovery may run it twice). As defence in depth it
// refuses a relPath that is absolute, contains "..", or would not stay inside
// the lake's table area (the lake root minus its _eventlake directory).
func Publish(lakeDir, loadID, relPath string) error {
	if err := checkLoadID(loadID); err != nil {
		return err
	}
	if err := checkRelPath(relPath); err != nil {
		return err
	}
	lake, err := filepath.Abs(lakeDir)
	if err != nil {
		return fmt.Errorf("partitions: publish %s: lake directory %q: %w", relPath, lakeDir, err)
	}
	src := filepath.Join(StagingDir(lake, loadID), filepath.FromSlash(relPath))
	dst := filepath.Join(lake, filepath.FromSlash(relPath))
	if !within(lake, dst) || dst == lake || within(filepath.Join(lake, metaDir), dst) {
		return fmt.Errorf("partitions: refusing path %q: it does not stay inside the lake's table area", relPath)
	}

	f, err := os.Open(src)
	if errors.Is(err, fs.ErrNotExist) {
		if st, serr := os.Stat(dst); serr == nil && st.Mode().IsRegular() {
			return nil // already published by an earlier run
		}
		return fmt.Errorf("partitions: publish %s for load %s: staged file missing and not published: %w", relPath, loadID, err)
	}
	if err != nil {
		return fmt.Errorf("partitions: publish %s for load %s: %w", relPath, loadID, err)
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("staged %s is not a regular file", src)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("partitions: publish %s for load %s: %w", relPath, loadID, err)
	}

	dstDir := filepath.Dir(dst)
	if err := mkdirAllSync(dstDir); err != nil {
		return fmt.Errorf("partitions: publish %s for load %s: %w", relPath, loadID, err)
	}
	if err := os.Rename(src, dst); err != nil {
		return fmt.Errorf("partitions: publish %s for load %s: %w", relPath, loadID, err)
	}
	if err := SyncDir(dstDir); err != nil {
		return fmt.Errorf("partitions: publish %s for load %s: sync directory: %w", relPath, loadID, err)
	}
	return nil
}

// mkdirAllSync is os.MkdirAll that also fsyncs the parent of every directory
// it creates, so the new directory entries are durable before a file is
// renamed into them.
func mkdirAllSync(dir string) error {
	st, err := os.Stat(dir)
	if err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%s exists and is not a directory", dir)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAllSync(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, dirPerm); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // created concurrently
		}
		return err
	}
	return SyncDir(parent)
}

// SyncDir fsyncs a directory so that entries just created or renamed in it
// survive a crash. File systems that cannot fsync a directory (EINVAL,
// unsupported) are tolerated: there is nothing more to do there.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) {
		err = nil
	}
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
