package compact

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/laketest"
)

// protocolSteps are the steps of a compaction, in order.
var protocolSteps = []string{"after-begin", "during-merge", "before-commit", "after-commit", "during-publish", "before-manifest", "after-publish",
	"after-swap", "during-delete", "after-delete"}

// swapped reports whether readers see the new files at a step.
func swapped(step string) bool {
	return slices.Index(protocolSteps, step) >= slices.Index(protocolSteps, "after-swap")
}

// TestReadersSeeOldOrNewSet checks what a reader that follows the catalog
// (read-only open, live files of published loads, as the shell does) sees
// while a compaction runs: at every step of the protocol, the old files —
// all still on disk — until the swap, then the new ones, all in place, and
// the events view over them answers exactly as before. A reader polling
// concurrently only ever sees one of the two sets, never a mix or neither.
func TestReadersSeeOldOrNewSet(t *testing.T) {
	lake := t.TempDir()
	loadAll(t, lake, smallCorpus.write(t))
	db := laketest.DuckDB(t)
	old := liveFiles(t, lake)
	want := dedupRows(t, db, lake, old)

	var seen []string
	o := Options{Lake: lake}
	o.hook = func(step string) {
		seen = append(seen, step)
		live := liveFiles(t, lake)
		for _, p := range live {
			if _, err := os.Stat(filepath.Join(lake, p)); err != nil {
				t.Errorf("at %s: listed file %s: %v", step, p, err)
			}
		}
		isOld := slices.Equal(live, old)
		if !swapped(step) && !isOld {
			t.Errorf("at %s: readers see %q, want the old files", step, live)
		}
		if swapped(step) && (isOld || overlaps(live, old)) {
			t.Errorf("at %s: readers still see old files: %q", step, live)
		}
		sameRows(t, "events view at "+step, dedupRows(t, db, lake, live), want)
	}

	cat, err := catalog.Open(filepath.Join(lake, "_eventlake", "catalog.db"), catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var observed [][]string // distinct sets the poller saw, in order
	var pollErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			files, err := cat.LiveFiles(context.Background(), "events")
			if err != nil {
				pollErr = err
				return
			}
			var set []string
			for _, f := range files {
				set = append(set, f.Path)
			}
			if len(observed) == 0 || !slices.Equal(observed[len(observed)-1], set) {
				observed = append(observed, set)
			}
		}
	}()
	sum := run(t, o)
	close(stop)
	wg.Wait()

	if !slices.Equal(seen, protocolSteps) {
		t.Errorf("steps %q, want %q", seen, protocolSteps)
	}
	if pollErr != nil {
		t.Fatal(pollErr)
	}
	final := liveFiles(t, lake)
	if sum.FilesAfter != len(final) || overlaps(final, old) {
		t.Fatalf("final files %q (summary %+v)", final, sum)
	}
	for i, set := range observed {
		if !slices.Equal(set, old) && !slices.Equal(set, final) {
			t.Errorf("poll %d: a reader saw neither the old nor the new set: %q", i, set)
		}
	}
	if len(observed) > 2 || !slices.Equal(observed[0], old) {
		t.Errorf("the poller saw %d sets (%s), want the old set, then the new one", len(observed), describe(observed))
	}
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

func describe(sets [][]string) string {
	var s []string
	for _, set := range sets {
		s = append(s, fmt.Sprintf("%d files", len(set)))
	}
	return strings.Join(s, ", ")
}
