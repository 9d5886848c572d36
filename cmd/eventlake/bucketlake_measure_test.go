package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/eventlake/eventlake/bench/corpus"
)

// TestMeasureBucketLoad (EVENTLAKE_MEASURE_LOAD=ROUNDS) times `load` of one
// generated corpus into a local lake and into a lake in each fake bucket
// store (in-process, on loopback), alternating, and logs the medians. It
// asserts nothing about time; EVENTLAKE_MEASURE_MB sets the corpus size
// (default 40 MB of NDJSON, gzipped).
func TestMeasureBucketLoad(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv("EVENTLAKE_MEASURE_LOAD"))
	if rounds == 0 {
		t.Skip("set EVENTLAKE_MEASURE_LOAD to the number of rounds to measure")
	}
	mb, _ := strconv.Atoi(os.Getenv("EVENTLAKE_MEASURE_MB"))
	if mb == 0 {
		mb = 40
	}
	src := filepath.Join(t.TempDir(), "corpus")
	st, err := corpus.Generate(src, corpus.Spec{Objects: 20, ObjectBytes: int64(mb) * 1e6 / 20, Domains: 8,
		EventTypesPerDomain: 8, Orgs: 3, Days: 10, DuplicateRate: 0.01, Gzip: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	freshRunner(t)
	targets := []struct {
		name    string
		newLake func(*testing.T) string
	}{{"local", func(t *testing.T) string { return t.TempDir() }}}
	for _, s := range bucketStores {
		targets = append(targets, struct {
			name    string
			newLake func(*testing.T) string
		}{s.name, s.newLake})
	}
	times := map[string][]time.Duration{}
	for r := range rounds {
		for i := range targets {
			tg := targets[(i+r)%len(targets)] // alternate the order
			lake := tg.newLake(t)
			start := time.Now()
			if code, out, errOut := runCLI(t, "load", "--lake", lake, "--settle", "0", "-q", src); code != 0 {
				t.Fatalf("%s: exit %d %s%s", tg.name, code, out, errOut)
			}
			times[tg.name] = append(times[tg.name], time.Since(start))
		}
	}
	local := median(times["local"])
	t.Logf("corpus: %d objects, %d events, %.1f MB NDJSON (%.1f MB gzipped), %d partitions", 20, st.Events,
		float64(st.RawBytes)/1e6, float64(st.CompressedBytes)/1e6, st.Partitions)
	for _, tg := range targets {
		m := median(times[tg.name])
		t.Logf("load into %-5s lake: median %s of %d rounds (%.2fx local) %v", tg.name, m.Round(time.Millisecond), rounds,
			float64(m)/float64(local), times[tg.name])
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestMeasureBucketCompact (EVENTLAKE_MEASURE_COMPACT=ROUNDS) times
// `compact` of a lake loaded in two loads of a generated corpus (so every
// partition holds two files), in a local lake and in a lake in each fake
// bucket store, alternating, and logs the medians and the bytes
// downloaded. It asserts nothing about time; EVENTLAKE_MEASURE_MB sets the
// corpus size (default 20 MB of NDJSON, gzipped).
func TestMeasureBucketCompact(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv("EVENTLAKE_MEASURE_COMPACT"))
	if rounds == 0 {
		t.Skip("set EVENTLAKE_MEASURE_COMPACT to the number of rounds to measure")
	}
	mb, _ := strconv.Atoi(os.Getenv("EVENTLAKE_MEASURE_MB"))
	if mb == 0 {
		mb = 20
	}
	var srcs []string
	for seed := int64(1); seed <= 2; seed++ {
		src := filepath.Join(t.TempDir(), "corpus")
		if _, err := corpus.Generate(src, corpus.Spec{Objects: 10, ObjectBytes: int64(mb) * 1e6 / 20, Domains: 8,
			EventTypesPerDomain: 8, Orgs: 3, Days: 10, DuplicateRate: 0.01, Gzip: true, Seed: seed}); err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, src)
	}
	freshRunner(t)
	targets := []struct {
		name    string
		newLake func(*testing.T) string
	}{{"local", func(t *testing.T) string { return t.TempDir() }}}
	for _, s := range bucketStores {
		targets = append(targets, struct {
			name    string
			newLake func(*testing.T) string
		}{s.name, s.newLake})
	}
	times := map[string][]time.Duration{}
	summary := map[string]string{}
	for r := range rounds {
		for i := range targets {
			tg := targets[(i+r)%len(targets)]
			lake := tg.newLake(t)
			for _, src := range srcs {
				if code, out, errOut := runCLI(t, "load", "--lake", lake, "--settle", "0", "-q", src); code != 0 {
					t.Fatalf("%s: load: exit %d %s%s", tg.name, code, out, errOut)
				}
			}
			start := time.Now()
			code, out, errOut := runCLI(t, "compact", "--lake", lake, "--json", "--query-cache=false")
			if code != 0 {
				t.Fatalf("%s: compact: exit %d %s%s", tg.name, code, out, errOut)
			}
			times[tg.name] = append(times[tg.name], time.Since(start))
			sum := compactJSON(t, out)
			summary[tg.name] = fmt.Sprintf("%v partitions, %v files -> %v, %v rows, %.1f MB downloaded", sum["partitions"],
				sum["files_before"], sum["files_after"], sum["rows_after"], sum["bytes_downloaded"].(float64)/1e6)
		}
	}
	local := median(times["local"])
	for _, tg := range targets {
		m := median(times[tg.name])
		t.Logf("%-5s compact: median %s (%.2f× local) over %d rounds; %s", tg.name, m.Round(time.Millisecond),
			m.Seconds()/local.Seconds(), rounds, summary[tg.name])
	}
}
