package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eventlake/eventlake/bench/corpus"
	"github.com/eventlake/eventlake/internal/testservers"
)

// TestMeasureBucketIcebergSync (EVENTLAKE_MEASURE_ICEBERG=1) loads a
// generated corpus of 80 partitions into a lake in fake S3 (in-process,
// loopback), then times `iceberg sync` creating the tables over its files
// and a second load with its Iceberg commit, counting the requests of
// each. It asserts nothing about time.
func TestMeasureBucketIcebergSync(t *testing.T) {
	if os.Getenv("EVENTLAKE_MEASURE_ICEBERG") == "" {
		t.Skip("set EVENTLAKE_MEASURE_ICEBERG to measure")
	}
	src := filepath.Join(t.TempDir(), "corpus")
	if _, err := corpus.Generate(filepath.Join(src, "a"), corpus.Spec{Objects: 10, ObjectBytes: 400e3, Domains: 8,
		EventTypesPerDomain: 4, Orgs: 3, Days: 10, Gzip: true, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := corpus.Generate(filepath.Join(src, "b"), corpus.Spec{Objects: 2, ObjectBytes: 100e3, Domains: 2,
		EventTypesPerDomain: 2, Orgs: 1, Days: 1, Gzip: true, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	counts := map[string]int{}
	srv := testservers.S3(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			kind := r.Method
			if r.Method == http.MethodGet && r.URL.Query().Has("list-type") {
				kind = "LIST"
			} else if r.Method == http.MethodGet && r.Header.Get("Range") != "" {
				kind = "GET-range"
			}
			mu.Lock()
			counts[kind]++
			mu.Unlock()
			h.ServeHTTP(w, r)
		})
	})
	srv.CreateBucket(t, "lakes")
	lakeURL := srv.URL("lakes", "lake/", nil)
	take := func() string {
		mu.Lock()
		defer mu.Unlock()
		var ks []string
		total := 0
		for k, n := range counts {
			ks = append(ks, fmt.Sprintf("%s %d", k, n))
			total += n
		}
		sort.Strings(ks)
		clear(counts)
		return fmt.Sprintf("%d requests (%s)", total, strings.Join(ks, ", "))
	}
	run := func(name string, args ...string) {
		freshRunner(t)
		start := time.Now()
		code, out, errOut := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", name, code, out, errOut)
		}
		t.Logf("%-34s %6s, %s", name, time.Since(start).Round(time.Millisecond), take())
	}
	run("load a (no Iceberg)", "load", "--lake", lakeURL, "--settle", "0", "-q", filepath.Join(src, "a"))
	code, out, _ := runCLI(t, "sql", "--lake", lakeURL, "--format", "csv", "-c", "select count(*) from eventlake.files where status = 'live'")
	take()
	t.Logf("live files: %s (exit %d)", strings.TrimSpace(strings.TrimPrefix(out, "count_star()\n")), code)
	run("iceberg sync (creates both tables)", "iceberg", "sync", "--lake", lakeURL)
	run("iceberg sync (up to date)", "iceberg", "sync", "--lake", lakeURL)
	run("load b (with its Iceberg commit)", "load", "--lake", lakeURL, "--settle", "0", "-q", filepath.Join(src, "b"))
}
