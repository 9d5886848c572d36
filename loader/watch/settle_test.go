package watch

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/loader"
)

// catalogStatus reads the lake's status.
func catalogStatus(t *testing.T, lake string) catalog.Status {
	t.Helper()
	c, err := catalog.Open(loader.CatalogPath(lake), catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A watched folder into which a 2 MB file is copied slowly: the watcher
// loads it once, after its writer finished, with every event and no false
// rejects.
func TestWatchWaitsForAFileBeingWritten(t *testing.T) {
	dir, lake := t.TempDir(), t.TempDir()
	var b bytes.Buffer
	var ids []string
	for i := range 14000 { // about 2 MB
		id := fmt.Sprintf("ev-%d", i)
		ids = append(ids, id)
		fmt.Fprintf(&b, `{"event_id":%q,"domain":"cards","event_type":"card-blocked-1","schema_version":1,"org_id":"TN-1","cid":"c-%d","timestamp":"2024-02-01T%02d:%02d:%02dZ","data":{"n":%d}}`+"\n",
			id, i, i/3600, i/60%60, i%60, i)
	}
	data := b.Bytes()
	path := filepath.Join(dir, "export.json")
	w := start(t, Options{
		Load:     loader.Options{Lake: lake, Profile: "pismo", Settle: 300 * time.Millisecond},
		Sources:  []loader.SourceSpec{{URL: dir}},
		Interval: 20 * time.Millisecond,
	})
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(data); off += 50 << 10 { // cut anywhere, mid-record too
		if _, err := f.Write(data[off:min(off+50<<10, len(data))]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Millisecond)
	}
	f.Close()
	waitFor(t, "the file loaded", func() bool { return objectStatus(t, lake, "file://"+dir+"/", "export.json") == "committed" })
	time.Sleep(100 * time.Millisecond) // a few more intervals
	if err := w.stop(t); err != nil {
		t.Fatal(err)
	}
	wantExactly(t, lake, ids)
	if s := catalogStatus(t, lake); s.Loads != 1 || s.Rejects != 0 || s.Objects["committed"] != 1 || s.Rows != int64(len(ids)) {
		t.Errorf("status: %d loads, %d rejects, %v objects, %d rows; want 1 load, 0 rejects, %d rows", s.Loads, s.Rejects, s.Objects, s.Rows, len(ids))
	}
}

// A watched object that keeps failing is retried with backoff (after 1, 2,
// 4, … intervals), not at every interval: few loads rows, and status shows
// when it is tried next.
func TestWatchBacksOffAFailingObject(t *testing.T) {
	dir, lake := t.TempDir(), t.TempDir()
	var z bytes.Buffer
	gz := gzip.NewWriter(&z)
	data, _ := pismoFile("ev", 100)
	gz.Write(data)
	gz.Close()
	if err := os.WriteFile(filepath.Join(dir, "batch.gz"), z.Bytes()[:z.Len()/2], 0o644); err != nil {
		t.Fatal(err)
	}
	const interval = 40 * time.Millisecond
	w := start(t, Options{
		Load:     loader.Options{Lake: lake, Profile: "pismo"},
		Sources:  []loader.SourceSpec{{URL: dir}},
		Interval: interval,
	})
	waitFor(t, "a first attempt", func() bool { return objectStatus(t, lake, "file://"+dir+"/", "batch.gz") == "failed" })
	time.Sleep(50 * interval) // without backoff: 50 more attempts; with it: 1+2+4+8+16+32 → 5 or 6
	if err := w.stop(t); err != nil {
		t.Fatal(err)
	}
	s := catalogStatus(t, lake)
	if len(s.Failed) != 1 {
		t.Fatalf("failed objects: %+v", s.Failed)
	}
	f := s.Failed[0]
	if s.Loads < 3 || s.Loads > 7 || int64(f.Attempts) != s.Loads {
		t.Errorf("%d loads, %d attempts in %s; want 3 to 7 (backoff from %s)", s.Loads, f.Attempts, 50*interval, interval)
	}
	// The last attempt set its next retry 2^(attempts-1) intervals later.
	want := f.LastAttempt.Add(interval << min(f.Attempts-1, 20))
	if d := f.NextRetry.Sub(want); d < -time.Millisecond || d > time.Millisecond {
		t.Errorf("next retry %s, want %s (last attempt %s, %d attempts)", f.NextRetry, want, f.LastAttempt, f.Attempts)
	}
	if s.LastLoad == nil || s.LastLoad.Error != fmt.Sprintf("nothing loaded: every object failed (%d)", 1) {
		t.Errorf("last load: %+v; want it marked as having loaded nothing", s.LastLoad)
	}
}
