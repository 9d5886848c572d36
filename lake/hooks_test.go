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
