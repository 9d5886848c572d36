package lake

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/eventlake/eventlake/catalog"
)

// t0 is a fixed base time so stored micros are predictable.
var t0 = time.Date(2024, 2, 1, 9, 20, 39, 411067000, time.UTC)

// openWriterCat opens a writable catalog in a new lake, closed at cleanup.
func openWriterCat(t testing.TB) (*catalog.Catalog, string) {
	t.Helper()
	lake := t.TempDir()
	c, err := catalog.Open(filepath.Join(lake, "_eventlake", "catalog.db"), catalog.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, lake
}

func begin(t testing.TB, c *catalog.Catalog, id string, at time.Time) {
	t.Helper()
	if err := c.BeginLoad(context.Background(), catalog.LoadInfo{ID: id, StartedAt: at, Command: "eventlake load test", Host: "h1", PID: 42, Sources: []string{"s3://bucket/prefix"}}); err != nil {
		t.Fatalf("BeginLoad(%s): %v", id, err)
	}
}

func commit(t testing.TB, c *catalog.Catalog, cm catalog.Commit) {
	t.Helper()
	if err := c.Commit(context.Background(), cm); err != nil {
		t.Fatalf("Commit(%s): %v", cm.LoadID, err)
	}
}

// loadStatus reads a load's status and error columns.
func loadStatus(t testing.TB, c *catalog.Catalog, id string) (status, errText string) {
	t.Helper()
	var e *string
	if err := c.DB().QueryRow(`SELECT status, error FROM loads WHERE load_id = ?`, id).Scan(&status, &e); err != nil {
		t.Fatalf("load %s: %v", id, err)
	}
	if e != nil {
		errText = *e
	}
	return status, errText
}
