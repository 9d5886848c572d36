package fsync

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestOpenFS(t *testing.T) {
	dir := t.TempDir()
	fs, err := OpenFS(dir)
	if errors.Is(err, ErrNoSyncFS) {
		if runtime.GOOS == "linux" && !disableSyncFS {
			t.Logf("syncfs unavailable on this kernel")
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := fs.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}
