package partitions

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/eventlake/eventlake/internal/fsync"
)

// stageFiles stages n small files through SyncLater, as writers do, and
// returns them.
func stageFiles(t *testing.T, s *Stage, n int) []File {
	t.Helper()
	var files []File
	for i := range n {
		rel := fmt.Sprintf("events/domain=a/event_date=2024-01-%02d/%s", i%28+1, s.NextName())
		f, _, err := s.create(rel)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString("x"); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		s.SyncLater(rel)
		files = append(files, File{Table: "events", Path: rel})
	}
	return files
}

func newSyncFSStage(t *testing.T) *Stage {
	t.Helper()
	s, err := NewStage(stagingDir(t.TempDir(), "L"), "L")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Remove() })
	if s.fs == nil {
		t.Skip("syncfs is not available here: every file is fsynced on its own")
	}
	return s
}

// A load of many files is made durable by one syncfs (opened before the
// first file was staged) besides the first syncEachMax files' own fsyncs,
// and Sync — so the commit — fails when that syncfs fails.
func TestSyncManyFilesWithOneSyncFS(t *testing.T) {
	s := newSyncFSStage(t)
	calls := 0
	s.syncFS = func() error { calls++; return nil }
	files := stageFiles(t, s, 3*syncEachMax)
	if got := s.background; got != syncEachMax {
		t.Errorf("%d files fsynced on their own, want %d", got, syncEachMax)
	}
	if err := s.Sync(files); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Errorf("syncfs called %d times, want 1", calls)
	}
	// A file Sync is given that no writer finished is fsynced on its own:
	// one that is missing fails Sync, syncfs or not.
	if err := s.Sync(append(files, File{Path: "events/x/" + s.NextName()})); err == nil {
		t.Error("Sync of a file that was never staged succeeded")
	}

	s2 := newSyncFSStage(t)
	boom := errors.New("EIO")
	s2.syncFS = func() error { return boom }
	if err := s2.Sync(stageFiles(t, s2, 3*syncEachMax)); !errors.Is(err, boom) {
		t.Errorf("Sync with a failing syncfs = %v, want %v", err, boom)
	}
}

// A load of a few files never syncs the whole file system.
func TestSyncFewFilesFsyncsEach(t *testing.T) {
	s := newSyncFSStage(t)
	s.syncFS = func() error { t.Error("syncfs called for a small load"); return nil }
	files := stageFiles(t, s, syncEachMax)
	if err := s.Sync(files); err != nil {
		t.Fatal(err)
	}
	// Files Sync is given without SyncLater are fsynced too.
	more := stageFiles(t, s, 0)
	rel := "events/x/" + s.NextName()
	f, _, err := s.create(rel)
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	if err := s.Sync(append(more, File{Path: rel})); err != nil {
		t.Fatal(err)
	}
}

// Without syncfs every file is fsynced, however many.
func TestSyncWithoutSyncFS(t *testing.T) {
	s, err := NewStage(stagingDir(t.TempDir(), "L"), "L")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Remove()
	s.fs, s.syncFS = nil, nil
	files := stageFiles(t, s, 2*syncEachMax)
	if s.background != len(files) {
		t.Errorf("%d of %d files fsynced in the background", s.background, len(files))
	}
	if err := s.Sync(files); err != nil {
		t.Fatal(err)
	}
}

// Publishing into many folders syncs the lake's file system once after
// the renames (instead of an fsync per folder) and fails if that fails.
func TestPublishManyFoldersSyncFS(t *testing.T) {
	if fs, err := fsync.OpenFS(t.TempDir()); err != nil {
		t.Skip("syncfs is not available here")
	} else {
		fs.Close()
	}
	for _, fail := range []bool{false, true} {
		lake := t.TempDir()
		var rels []string
		for i := range 2 * syncEachMax {
			rel := fmt.Sprintf("events/domain=a/event_date=2024-%02d-%02d/part-L-%05d.parquet", i/28+1, i%28+1, i)
			writeStaged(t, lake, "L", rel, "x")
			rels = append(rels, rel)
		}
		calls := 0
		old := publishSyncFS
		publishSyncFS = func(*fsync.FS) error {
			calls++
			if fail {
				return errors.New("EIO")
			}
			return nil
		}
		moved, err := PublishAll(lake, stagingDir(lake, "L"), rels, nil)
		publishSyncFS = old
		if fail != (err != nil) {
			t.Errorf("fail=%v: PublishAll error %v", fail, err)
		}
		if moved != len(rels) || calls != 1 {
			t.Errorf("fail=%v: moved %d of %d, syncfs called %d times, want once", fail, moved, len(rels), calls)
		}
		for _, rel := range rels {
			if _, err := os.Stat(filepath.Join(lake, filepath.FromSlash(rel))); err != nil {
				t.Errorf("not published: %v", err)
			}
		}
		// Recovery publishes again: nothing to move, nothing to sync.
		calls = 0
		publishSyncFS = func(*fsync.FS) error { calls++; return nil }
		moved, err = PublishAll(lake, stagingDir(lake, "L"), rels, nil)
		publishSyncFS = old
		if err != nil || moved != 0 || calls != 0 {
			t.Errorf("second PublishAll: moved %d, syncfs %d times, err %v", moved, calls, err)
		}
	}
}

// A scratch stage (a bucket lake's: its files are uploaded before the
// commit) fsyncs nothing: no background fsync, no syncfs, and Sync does not
// even look at the files (one given that was never staged is not an error).
func TestScratchStageSyncsNothing(t *testing.T) {
	s, err := NewScratchStage(stagingDir(t.TempDir(), "L"), "L")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Remove()
	s.syncFS = func() error { t.Error("syncfs called for a scratch stage"); return nil }
	files := stageFiles(t, s, 3*syncEachMax)
	if s.background != 0 || len(s.syncing) != 0 || len(s.deferred) != 0 {
		t.Errorf("scratch stage: %d background fsyncs, %d files syncing, %d deferred; want none",
			s.background, len(s.syncing), len(s.deferred))
	}
	if err := s.Sync(append(files, File{Path: "events/x/" + s.NextName()})); err != nil {
		t.Errorf("Sync of a scratch stage = %v, want nil", err)
	}
}
