package catalog

import (
	"context"
	"fmt"
	"testing"
)

// commitMany commits n objects of src (every tenth failed) in one load.
func commitMany(tb testing.TB, c *Catalog, n int) {
	tb.Helper()
	begin(tb, c, "L1", t0)
	objs := make([]ObjectRecord, n)
	for i := range objs {
		objs[i] = ObjectRecord{Source: src, Key: fmt.Sprintf("2024/02/01/%02d/obj-%06d", i%24, i), Version: fmt.Sprintf("\"etag-%d\"", i),
			Size: int64(1000 + i), ModTime: t0, ContentHash: fmt.Sprintf("sha256:%064x", i), Status: ObjectCommitted, Profile: "pismo", Records: 100}
		if i%10 == 0 {
			objs[i].Status, objs[i].Error = ObjectFailed, "timeout"
		}
	}
	commit(tb, c, Commit{LoadID: "L1", FinishedAt: t0, Objects: objs})
}

func TestObjectsTenThousand(t *testing.T) {
	c, _ := openWriterCat(t)
	commitMany(t, c, 10000)
	m, err := c.Objects(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 10000 {
		t.Fatalf("Objects returned %d entries, want 10000", len(m))
	}
	if got := m["2024/02/01/10/obj-000010"]; got.Status != ObjectFailed || got.Error != "timeout" {
		t.Errorf("obj-000010 = %+v, want failed", got)
	}
	if got := m["2024/02/01/11/obj-000011"]; got.Status != ObjectCommitted || got.ContentHash != fmt.Sprintf("sha256:%064x", 11) {
		t.Errorf("obj-000011 = %+v, want committed", got)
	}
}

func BenchmarkObjects10k(b *testing.B) {
	c, _ := openWriterCat(b)
	commitMany(b, c, 10000)
	ctx := context.Background()
	for b.Loop() {
		m, err := c.Objects(ctx, src)
		if err != nil || len(m) != 10000 {
			b.Fatalf("Objects: %d, %v", len(m), err)
		}
	}
}

func BenchmarkCommit10k(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		c, _ := openWriterCat(b)
		b.StartTimer()
		commitMany(b, c, 10000)
	}
}
