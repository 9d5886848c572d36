package fsync

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// WriteAtomic leaves the old content or the whole new one, with the mode
// asked for, and no temporary file either way.
func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := "old"
	for _, durable := range []bool{false, true} {
		boom := errors.New("boom")
		err := WriteAtomic(path, 0o644, durable, func(f *os.File) error {
			if _, err := f.WriteString("half"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("durable=%v: failed fill returned %v", durable, err)
		}
		if b, _ := os.ReadFile(path); string(b) != old {
			t.Fatalf("durable=%v: after a failed fill the file holds %q", durable, b)
		}
		assertOnly(t, dir, "state.json")

		want := "new, durable=" + map[bool]string{false: "no", true: "yes"}[durable]
		if err := WriteAtomic(path, 0o644, durable, func(f *os.File) error {
			_, err := f.WriteString(want)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(path); string(b) != want {
			t.Fatalf("file holds %q, want %q", b, want)
		}
		if st, err := os.Stat(path); err != nil {
			t.Fatal(err)
		} else if runtime.GOOS != "windows" && st.Mode().Perm() != 0o644 {
			t.Errorf("mode %v, want 0644 (a temporary file is created 0600)", st.Mode().Perm())
		}
		assertOnly(t, dir, "state.json")
		old = want
	}
}

func assertOnly(t *testing.T, dir, name string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != name {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("folder holds %v, want only %s", names, name)
	}
}
