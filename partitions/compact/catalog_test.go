package compact

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/catalog"
	lk "github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/partitions"
)

// The catalog side of the swap, exercised directly: Commit.Replaces,
// MarkPublished retiring the replaced files, Recover deleting them.

type catLake struct {
	t    *testing.T
	lake string
	cat  *catalog.Catalog
}

func newCatLake(t *testing.T) *catLake {
	lake := t.TempDir()
	cat, err := catalog.Open(filepath.Join(lake, "_eventlake", "catalog.db"), catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	return &catLake{t: t, lake: lake, cat: cat}
}

const part = "domain=a/event_date=2024-02-01"

func rel(name string) string { return "events/" + part + "/" + name }

// stageFiles begins a load and stages files with the given names.
func (c *catLake) begin(id, command string, names ...string) []catalog.FileRecord {
	c.t.Helper()
	if err := c.cat.BeginLoad(context.Background(), catalog.LoadInfo{ID: id, Command: command}); err != nil {
		c.t.Fatal(err)
	}
	var recs []catalog.FileRecord
	for _, n := range names {
		p := filepath.Join(lk.At(c.lake).StagingDir(id), filepath.FromSlash(rel(n)))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			c.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(n), 0o644); err != nil {
			c.t.Fatal(err)
		}
		recs = append(recs, catalog.FileRecord{Path: rel(n), Table: "events", Partition: part, Rows: 1, Bytes: 1})
	}
	return recs
}

func (c *catLake) publish(id string, recs []catalog.FileRecord) {
	c.t.Helper()
	for _, f := range recs {
		if err := partitions.Publish(c.lake, lk.At(c.lake).StagingDir(id), f.Path); err != nil {
			c.t.Fatal(err)
		}
	}
	if err := c.cat.MarkPublished(context.Background(), id); err != nil {
		c.t.Fatal(err)
	}
}

func (c *catLake) live() []string {
	c.t.Helper()
	files, err := c.cat.LiveFiles(context.Background(), "events")
	if err != nil {
		c.t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		out = append(out, strings.TrimPrefix(f.Path, "events/"+part+"/"))
	}
	return out
}

func (c *catLake) exists(name string) bool {
	_, err := os.Stat(filepath.Join(c.lake, filepath.FromSlash(rel(name))))
	return err == nil
}

func TestCatalogReplaceProtocol(t *testing.T) {
	ctx := context.Background()
	c := newCatLake(t)
	l1 := c.begin("L1", "load", "a", "b")
	if err := c.cat.Commit(ctx, catalog.Commit{LoadID: "L1", Files: l1}); err != nil {
		t.Fatal(err)
	}
	c.publish("L1", l1)

	commitErr := func(cm catalog.Commit, want string) {
		t.Helper()
		err := c.cat.Commit(ctx, cm)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Commit(%+v) = %v, want an error containing %q", cm, err, want)
		}
	}
	c.begin("X1", "load")
	commitErr(catalog.Commit{LoadID: "X1", Replaces: []string{rel("a")}}, "only a load begun with command")
	x2 := c.begin("X2", catalog.CompactCommand, "x")
	commitErr(catalog.Commit{LoadID: "X2", Files: x2, Replaces: []string{rel("a"), rel("nope")}}, "not recorded")
	commitErr(catalog.Commit{LoadID: "X2", Replaces: []string{rel("a"), rel("a")}}, "listed twice")
	commitErr(catalog.Commit{LoadID: "X2", Replaces: []string{"../a"}}, "stay inside the lake")
	// A failed commit changed nothing: a is not claimed, x not recorded.
	if got := c.live(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("live after failed commits: %q", got)
	}

	// The compaction commits: its file is not visible yet, a still is.
	c1 := c.begin("C1", catalog.CompactCommand, "n")
	if err := c.cat.Commit(ctx, catalog.Commit{LoadID: "C1", Files: c1, Replaces: []string{rel("a")}}); err != nil {
		t.Fatal(err)
	}
	if got := c.live(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("live after the compaction's commit: %q, want the old files", got)
	}
	c.begin("X3", catalog.CompactCommand)
	commitErr(catalog.Commit{LoadID: "X3", Replaces: []string{rel("a")}}, "already being replaced by load C1")

	// MarkPublished swaps.
	c.publish("C1", c1)
	if got := c.live(); !slices.Equal(got, []string{"b", "n"}) {
		t.Errorf("live after the swap: %q, want b, n", got)
	}
	if got, err := c.cat.ReplacedFiles(ctx, "C1"); err != nil || !slices.Equal(got, []string{rel("a")}) {
		t.Errorf("ReplacedFiles(C1) = %q, %v", got, err)
	}
	c.begin("X4", catalog.CompactCommand)
	commitErr(catalog.Commit{LoadID: "X4", Replaces: []string{rel("a")}}, "already removed (by load C1)")

	// The compaction "died" before deleting a and removing its staging:
	// recovery deletes a. Another compaction is committed but not
	// published: recovery publishes it, swaps, and deletes what it replaced.
	c2 := c.begin("C2", catalog.CompactCommand, "m")
	if err := c.cat.Commit(ctx, catalog.Commit{LoadID: "C2", Files: c2, Replaces: []string{rel("b")}}); err != nil {
		t.Fatal(err)
	}
	if !c.exists("a") || !c.exists("b") {
		t.Fatal("setup: a and b should be on disk")
	}
	rep, err := lk.Recover(ctx, c.cat, c.lake)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ReplacedDeleted != 2 || rep.Completed != 1 || rep.Aborted != 4 {
		t.Errorf("recovery report %+v, want 2 replaced files deleted, 1 load completed, 4 aborted", rep)
	}
	if c.exists("a") || c.exists("b") || !c.exists("n") || !c.exists("m") || c.exists("x") {
		t.Errorf("after recovery: a %v b %v n %v m %v x %v; want only n and m on disk",
			c.exists("a"), c.exists("b"), c.exists("n"), c.exists("m"), c.exists("x"))
	}
	if got := c.live(); !slices.Equal(got, []string{"m", "n"}) {
		t.Errorf("live after recovery: %q, want m, n", got)
	}
	// Idempotent.
	if rep, err := lk.Recover(ctx, c.cat, c.lake); err != nil || rep != (lk.RecoveryReport{}) {
		t.Errorf("second recovery: %+v, %v; want nothing to do", rep, err)
	}
}
