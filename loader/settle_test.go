package loader_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/laketest"
	"github.com/eventlake/eventlake/loader"
)

// A file that keeps changing while it is listed and read (its writer is
// at work and settling is off) fails and is never committed; once its
// writer is done, the next load loads all of it.
func TestObjectChangingWhileReadIsNeverCommitted(t *testing.T) {
	dir, lake := t.TempDir(), t.TempDir()
	path := filepath.Join(dir, "growing.json")
	var b strings.Builder
	for i := range 20000 {
		b.WriteString(pismoLine(fmt.Sprintf("e%d", i)) + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	written := atomic.Int64{}
	written.Store(20000)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		for i := int64(20000); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := f.WriteString(pismoLine(fmt.Sprintf("e%d", i)) + "\n"); err != nil {
				t.Error(err)
				return
			}
			written.Store(i + 1)
			time.Sleep(20 * time.Microsecond)
		}
	}()
	for range 3 {
		sum, err := loader.Run(context.Background(), loader.Options{Lake: lake, Workers: 1}, []loader.SourceSpec{{URL: dir}})
		if err != nil {
			close(stop)
			t.Fatal(err)
		}
		if sum.Committed != 0 || sum.Failed != 1 || !strings.Contains(sum.Errors[0].Error, loader.ErrChangedWhileRead.Error()) {
			close(stop)
			t.Fatalf("a file growing while read: %+v", sum)
		}
	}
	close(stop)
	wg.Wait()
	if got := laketest.Files(t, filepath.Join(lake, "events")); len(got) != 0 {
		t.Fatalf("files of a failed object: %v", got)
	}
	sum, err := loader.Run(context.Background(), loader.Options{Lake: lake}, []loader.SourceSpec{{URL: dir}})
	if err != nil || sum.Committed != 1 || sum.Records != written.Load() || sum.Rejects != 0 {
		t.Fatalf("after the writer stopped: %+v, %v; want %d records", sum, err, written.Load())
	}
}

// A failed object is retried with exponential backoff when RetryBackoff is
// set: the loads in between do not try it (and write no loads row), and
// the catalog holds its next retry time.
func TestRetryBackoff(t *testing.T) {
	dir, lake := t.TempDir(), t.TempDir()
	var z bytes.Buffer
	gz := gzip.NewWriter(&z)
	for i := range 200 {
		fmt.Fprintln(gz, pismoLine(fmt.Sprintf("e%d", i)))
	}
	gz.Close()
	if err := os.WriteFile(filepath.Join(dir, "batch.gz"), z.Bytes()[:z.Len()/2], 0o644); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := t0
	load := func() *loader.Summary {
		t.Helper()
		sum, err := loader.Run(context.Background(), loader.Options{Lake: lake, RetryBackoff: time.Minute, RetryBackoffMax: 3 * time.Minute,
			Now: func() time.Time { return clock }}, []loader.SourceSpec{{URL: dir}})
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	state := func() (loads int, st catalog.FailedObject, note string) {
		t.Helper()
		c, err := catalog.Open(loader.CatalogPath(lake), catalog.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, err := c.Status(context.Background())
		if err != nil || len(s.Failed) != 1 {
			t.Fatalf("status: %+v, %v", s, err)
		}
		return int(s.Loads), s.Failed[0], s.LastLoad.Error
	}
	// attempt n at `at` → next retry at `at` + 1m × 2^(n-1), at most 3m.
	at := t0
	for n, delay := range []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute, 3 * time.Minute} {
		clock = at
		if sum := load(); sum.Failed != 1 || sum.Waiting != 0 {
			t.Fatalf("attempt %d at +%s: %+v", n+1, at.Sub(t0), sum)
		}
		loads, f, note := state()
		if loads != n+1 || f.Attempts != n+1 || !f.NextRetry.Equal(at.Add(delay)) || !strings.HasPrefix(note, "nothing loaded: every object failed") {
			t.Fatalf("after attempt %d: %d loads, %+v, note %q; want next retry at %s", n+1, loads, f, note, at.Add(delay))
		}
		clock = at.Add(delay - time.Second) // not yet
		if sum := load(); sum.Failed != 0 || sum.Waiting != 1 || sum.LoadID != "" {
			t.Fatalf("before retry %d: %+v", n+2, sum)
		}
		if loads, _, _ := state(); loads != n+1 {
			t.Fatalf("a load that tried nothing wrote a loads row (%d)", loads)
		}
		at = at.Add(delay)
	}
	// A new version is tried at once.
	if err := os.WriteFile(filepath.Join(dir, "batch.gz"), z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	clock = at.Add(-2 * time.Minute)
	if sum := load(); sum.Committed != 1 || sum.Records != 200 {
		t.Fatalf("the fixed file: %+v", sum)
	}
}
