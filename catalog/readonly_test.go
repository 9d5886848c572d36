package catalog

import (
	"os"
	"strings"
	"testing"
)

// TestWriterLeavesWALForReaders: once the writer has closed, the -wal and
// -shm files stay (empty WAL), readable by everyone who can read the
// catalog, so a reader without write access to the folder can open it.
func TestWriterLeavesWALForReaders(t *testing.T) {
	_, p := newLake(t)
	c, err := Open(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	begin(t, c, "L1", t0)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		st, err := os.Stat(p + suffix)
		if err != nil {
			t.Fatalf("after the writer closed: %v", err)
		}
		if st.Mode().Perm() != filePerm {
			t.Errorf("%s has mode %v, want %v", p+suffix, st.Mode().Perm(), os.FileMode(filePerm))
		}
		if suffix == "-wal" && st.Size() != 0 {
			t.Errorf("%s is %d bytes after a clean close, want 0 (checkpointed and truncated)", p+suffix, st.Size())
		}
	}
	r, err := Open(p, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, _ := loadStatus(t, r, "L1"); got != "running" {
		t.Errorf("reader sees load L1 %q", got)
	}
}

// TestCreateRefusesStaleWAL: a catalog moved aside without its (non-empty)
// -wal must not have that WAL replayed into the new catalog created in its
// place.
func TestCreateRefusesStaleWAL(t *testing.T) {
	_, p := newLake(t)
	c, err := Open(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	begin(t, c, "L1", t0)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p+"-wal", []byte("frames of another database"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p, p+".damaged"); err != nil {
		t.Fatal(err)
	}
	_, err = Open(p, Options{})
	if err == nil || !strings.Contains(err.Error(), p+"-wal") {
		t.Fatalf("Open with a stale -wal: %v, want an error naming it", err)
	}
	if _, serr := os.Stat(p); serr == nil {
		t.Errorf("a catalog was created next to the stale -wal")
	}
}
