package views

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/catalog"
)

func statFixture(t testing.TB, partitions, perPartition int) (string, []catalog.FileRecord) {
	lake := t.TempDir()
	var files []catalog.FileRecord
	for p := range partitions {
		dir := fmt.Sprintf("events/domain=d%d/event_date=2024-02-01", p)
		if err := os.MkdirAll(filepath.Join(lake, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range perPartition {
			rel := fmt.Sprintf("%s/part-L-%05d.parquet", dir, i)
			if err := os.WriteFile(filepath.Join(lake, rel), []byte("PAR1"), 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, catalog.FileRecord{Path: rel, Bytes: 4})
		}
	}
	return lake, files
}

func TestUnavailableFilter(t *testing.T) {
	lake, files := statFixture(t, 2, 3)
	if err := os.Remove(filepath.Join(lake, files[1].Path)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lake, files[4].Path), []byte("PAR"), 0o644); err != nil {
		t.Fatal(err)
	}
	u := &unavailable{lake: lake}
	kept := u.filter(files)
	if len(kept) != 4 || kept[1].Path != files[2].Path {
		t.Errorf("kept %v", kept)
	}
	w := u.warning()
	for _, s := range []string{"2 live files", files[1].Path + " (missing)", files[4].Path + " (wrong size)", "eventlake check --lake " + lake, "backup"} {
		if !strings.Contains(w, s) {
			t.Errorf("warning lacks %q: %s", s, w)
		}
	}
	if (&unavailable{lake: lake}).warning() != "" {
		t.Error("warning without missing files")
	}
}

// BenchmarkStatLiveFiles measures the check the views make before naming
// files: one stat per live file, for 10,000 files in 100 partitions.
func BenchmarkStatLiveFiles(b *testing.B) {
	lake, files := statFixture(b, 100, 100)
	b.ResetTimer()
	for range b.N {
		u := &unavailable{lake: lake}
		if kept := u.filter(files); len(kept) != len(files) {
			b.Fatalf("%d of %d files kept", len(kept), len(files))
		}
	}
}
