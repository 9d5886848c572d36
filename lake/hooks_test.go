package lake

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestDeleteFilesRefusesEscapes(t *testing.T) {
	lake := t.TempDir()
	outside := filepath.Join(filepath.Dir(lake), "outside-"+filepath.Base(lake))
	if err := os.WriteFile(outside, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(outside)
	for _, p := range []string{"../" + filepath.Base(outside), "/etc/passwd", "_eventlake/catalog.db", "events/../../x"} {
		if _, err := DeleteFiles(context.Background(), At(lake), []string{p}, nil); err == nil {
			t.Errorf("DeleteFiles(%q): no error", p)
		}
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("a file outside the lake was deleted: %v", err)
	}
}

// Deleting the last files of a partition removes its folders (an expired
// partition leaves no empty folder for engines that list them), but never
// the table's folder nor a folder that still holds something.
func TestDeleteFilesRemovesEmptiedFolders(t *testing.T) {
	lake := t.TempDir()
	files := []string{
		"events/domain=a/event_date=2024-01-01/part-1.parquet",
		"events/domain=a/event_date=2024-01-02/part-1.parquet",
		"events/domain=b/event_date=2024-01-01/part-1.parquet",
		"events/domain=b/event_date=2024-01-01/part-2.parquet",
		"_rejects/load_date=2024-01-01/part-1.parquet",
	}
	for _, f := range files {
		p := filepath.Join(lake, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n, err := DeleteFiles(context.Background(), At(lake), []string{files[0], files[1], files[2], files[4]}, nil)
	if err != nil || n != 4 {
		t.Fatalf("DeleteFiles: %d, %v", n, err)
	}
	for _, gone := range []string{"events/domain=a", "_rejects/load_date=2024-01-01"} {
		if _, err := os.Stat(filepath.Join(lake, gone)); !os.IsNotExist(err) {
			t.Errorf("%s: still there (%v)", gone, err)
		}
	}
	for _, kept := range []string{"events", "_rejects", files[3]} {
		if _, err := os.Stat(filepath.Join(lake, filepath.FromSlash(kept))); err != nil {
			t.Errorf("%s: %v", kept, err)
		}
	}
}
