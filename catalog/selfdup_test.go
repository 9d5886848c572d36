package catalog

import (
	"context"
	"strings"
	"testing"
	"time"
)

// One commit naming the same object version twice would let the second
// outcome overwrite the first: refused.
func TestCommitRefusesAnObjectTwice(t *testing.T) {
	c, _ := openWriterCat(t)
	begin(t, c, "L1", t0)
	obj := ObjectRecord{Source: src, Key: "a", Version: "v1", ContentHash: "h", Status: ObjectCommitted, Records: 3}
	dup := obj
	dup.Status, dup.DuplicateOf, dup.Records = ObjectDuplicate, src+"a", 0
	err := c.Commit(context.Background(), Commit{LoadID: "L1", FinishedAt: t0, Objects: []ObjectRecord{obj, dup}})
	if err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("commit of one object twice: %v, want an error saying so", err)
	}
}

// Lakes loaded by an older build with a source named twice hold objects
// recorded as duplicates of themselves although their rows were written:
// their content still counts as loaded.
func TestFindContentSeesSelfDuplicates(t *testing.T) {
	c, _ := openWriterCat(t)
	ctx := context.Background()
	begin(t, c, "L1", t0)
	commit(t, c, Commit{LoadID: "L1", FinishedAt: t0.Add(time.Minute), Objects: []ObjectRecord{
		{Source: src + "/", Key: "a", Version: "v1", ContentHash: "h", Status: ObjectDuplicate, DuplicateOf: src + "/a"},
		{Source: src + "/", Key: "b", Version: "v1", ContentHash: "hb", Status: ObjectDuplicate, DuplicateOf: src + "/c"},
	}})
	s, k, ok, err := c.FindContent(ctx, "h")
	if err != nil || !ok || s != src+"/" || k != "a" {
		t.Fatalf("FindContent(h) = %q %q %v %v, want the self-duplicate %s/a", s, k, ok, err, src)
	}
	// A duplicate of another object is not an original.
	if _, _, ok, err := c.FindContent(ctx, "hb"); err != nil || ok {
		t.Fatalf("FindContent(hb) = %v %v, want not found", ok, err)
	}
}
