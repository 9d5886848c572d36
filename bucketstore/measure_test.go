package bucketstore_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/testservers"
	"github.com/eventlake/eventlake/lake"
)

// TestMeasureCommitCost (EVENTLAKE_MEASURE_OBJECTS=N) fills a bucket lake's
// catalog with N objects in loads of 10,000, then times a small commit, a
// commit that writes a checkpoint, and a fresh runner's sync (checkpoint +
// log tail). A commit must stay under a second whatever N.
func TestMeasureCommitCost(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("EVENTLAKE_MEASURE_OBJECTS"))
	if n == 0 {
		t.Skip("set EVENTLAKE_MEASURE_OBJECTS to measure")
	}
	const per = 10000
	loads := (n + per - 1) / per
	t.Setenv("EVENTLAKE_CHECKPOINT_EVERY", strconv.Itoa(loads+1))
	t.Setenv("TMPDIR", t.TempDir())
	ctx := context.Background()
	srv := testservers.S3(t)
	srv.CreateBucket(t, "b")
	url := srv.URL("b", "lake/", nil)
	w, _, err := lake.OpenWriter(ctx, url, "", time.Second, "load")
	if err != nil {
		t.Fatal(err)
	}
	commit := func(i, objs int) time.Duration {
		tx, err := w.Begin(ctx, lake.TxOptions{Command: "load", Sources: []string{"s3://vendor/x/"}, StartedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		ch := lake.Changes{}
		for k := range objs {
			ch.Objects = append(ch.Objects, catalog.ObjectRecord{Source: "s3://vendor/x/", Key: fmt.Sprintf("main_stream/2024/02/01/%06d/obj-%07d", i, k),
				Version: `"0123456789abcdef0123456789abcdef"`, Size: 123456, ModTime: time.Now(), Status: catalog.ObjectCommitted, Records: 100, Profile: "pismo"})
		}
		start := time.Now()
		if err := tx.Commit(ctx, ch); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	start := time.Now()
	for i := range loads {
		commit(i, per)
	}
	t.Logf("filled %d objects in %d loads: %s", loads*per, loads, time.Since(start))
	withCheckpoint := commit(loads, 10)
	plain := commit(loads+1, 10)
	loc, _ := lake.ParseLocation(url)
	st, _ := lake.OpenStore(ctx, loc)
	var ckpt int64
	st.List(ctx, "_eventlake/checkpoints/", "", func(o lake.ObjectInfo) error { ckpt = o.Size; return nil })
	w.Close()
	start = time.Now()
	cat, _, _, closeFn, err := lake.OpenBucketReader(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	sync := time.Since(start)
	s, _ := cat.Status(ctx)
	closeFn()
	t.Logf("objects %d: commit of 10 objects %s; commit that writes the checkpoint %s (checkpoint %d bytes); fresh runner sync %s; status %+v",
		loads*per, plain, withCheckpoint, ckpt, sync, s.Objects)
	if plain > time.Second {
		t.Errorf("a small commit took %s at %d objects", plain, loads*per)
	}
}

// TestMeasureLifecycleCost (EVENTLAKE_MEASURE_LIFECYCLE=N) fills a bucket
// lake's catalog with N objects in loads of 10,000 (no checkpoint), then
// times a reprocess marking of 10,000 objects (one commit) and a catalog
// rebuild from the whole commit log.
func TestMeasureLifecycleCost(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("EVENTLAKE_MEASURE_LIFECYCLE"))
	if n == 0 {
		t.Skip("set EVENTLAKE_MEASURE_LIFECYCLE to measure")
	}
	const per = 10000
	loads := (n + per - 1) / per
	t.Setenv("EVENTLAKE_CHECKPOINT_EVERY", strconv.Itoa(loads+10))
	t.Setenv("TMPDIR", t.TempDir())
	ctx := context.Background()
	srv := testservers.S3(t)
	srv.CreateBucket(t, "b")
	url := srv.URL("b", "lake/", nil)
	w, _, err := lake.OpenWriter(ctx, url, "", time.Second, "load")
	if err != nil {
		t.Fatal(err)
	}
	for i := range loads {
		tx, err := w.Begin(ctx, lake.TxOptions{Command: "load", Sources: []string{"s3://vendor/x/"}, StartedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		ch := lake.Changes{}
		for k := range per {
			ch.Objects = append(ch.Objects, catalog.ObjectRecord{Source: "s3://vendor/x/", Key: fmt.Sprintf("main_stream/2024/02/01/%06d/obj-%07d", i, k),
				Version: `"0123456789abcdef0123456789abcdef"`, Size: 123456, ModTime: time.Now(), Status: catalog.ObjectCommitted, Records: 100, Profile: "pismo"})
		}
		if err := tx.Commit(ctx, ch); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	objs, err := w.Catalog.SelectObjects(ctx, catalog.Selection{Object: "**/000001/*"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.MarkReprocess(ctx, objs, nil); err != nil {
		t.Fatal(err)
	}
	mark := time.Since(start)
	w.Close()
	start = time.Now()
	rep, err := lake.Rebuild(ctx, lake.RebuildOptions{Lake: url, LockWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("objects %d in %d log entries: reprocess marking of %d objects %s; catalog rebuild from the log %s (%d entries, objects %v)",
		loads*per, loads+1, len(objs), mark, time.Since(start), rep.Loads, rep.Objects)
}
