package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/bench/corpus"
	"github.com/parquet-go/parquet-go"
)

// TestMain lets the test binary act as a child process for runChild tests.
func TestMain(m *testing.M) {
	switch os.Getenv("LAKEBENCH_TEST_CHILD") {
	case "":
		os.Exit(m.Run())
	case "ok":
		// Touch 64 MiB so the peak RSS is clearly above the runtime's own.
		b := make([]byte, 64<<20)
		for i := range b {
			b[i] = byte(i)
		}
		fmt.Printf("progress\n{\"rows\":%d}\n", len(b)>>20)
		os.Exit(0)
	case "fail":
		fmt.Fprintln(os.Stderr, "the object broke")
		os.Exit(3)
	}
}

func TestRunChildMeasuresTheProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("peak RSS accounting checked on Linux only")
	}
	t.Setenv("LAKEBENCH_TEST_CHILD", "ok")
	m, err := runChild(context.Background(), "", os.Args[0], "-test.run=^$")
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Rows int }
	if err := lastJSONLine(m.Stdout, &out); err != nil || out.Rows != 64 {
		t.Errorf("child output %q: rows %d, err %v; want 64", m.Stdout, out.Rows, err)
	}
	if m.MaxRSS < 64<<20 {
		t.Errorf("peak RSS %d bytes, want ≥ 64 MiB (the child touched 64 MiB)", m.MaxRSS)
	}
	if m.Wall <= 0 || m.CPU() <= 0 {
		t.Errorf("wall %v, CPU %v: want both positive", m.Wall, m.CPU())
	}

	t.Setenv("LAKEBENCH_TEST_CHILD", "fail")
	_, err = runChild(context.Background(), "", os.Args[0], "-test.run=^$")
	if err == nil || !strings.Contains(err.Error(), "the object broke") {
		t.Errorf("failing child: err = %v, want one quoting its stderr", err)
	}
}

// writeParquet writes n rows into dir/rel/name.
func writeParquet(t *testing.T, dir, rel, name string, n int) {
	t.Helper()
	type row struct {
		EventID string `parquet:"event_id"`
	}
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	rows := make([]row, n)
	for i := range rows {
		rows[i].EventID = fmt.Sprint(i)
	}
	if err := parquet.WriteFile(filepath.Join(p, name), rows); err != nil {
		t.Fatal(err)
	}
}

func TestScanOutputCountsFooterRowsPerPartition(t *testing.T) {
	dir := t.TempDir()
	writeParquet(t, dir, "domain=cards/event_date=2024-01-01", "part-1.parquet", 3)
	writeParquet(t, dir, "domain=cards/event_date=2024-01-01", "part-2.parquet", 4)
	writeParquet(t, dir, "domain=account/event_date=2024-01-02", "data_0.parquet", 5)
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := scanOutput(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"domain=cards/event_date=2024-01-01": 7, "domain=account/event_date=2024-01-02": 5}
	if !reflect.DeepEqual(st.PartitionRows, want) {
		t.Errorf("PartitionRows = %v, want %v", st.PartitionRows, want)
	}
	if st.Rows != 12 || st.Files != 3 {
		t.Errorf("Rows %d, Files %d; want 12 and 3", st.Rows, st.Files)
	}
	var size int64
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			fi, _ := d.Info()
			size += fi.Size()
		}
		return err
	})
	if st.Bytes != size {
		t.Errorf("Bytes = %d, want %d (every file, like du -b)", st.Bytes, size)
	}

	if err := os.WriteFile(filepath.Join(dir, "broken.parquet"), []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := scanOutput(dir); err == nil || !strings.Contains(err.Error(), "broken.parquet") {
		t.Errorf("corrupt file: err = %v, want one naming broken.parquet", err)
	}
}

func TestVerifyOutputIsExact(t *testing.T) {
	dir := t.TempDir()
	writeParquet(t, dir, "domain=cards/event_date=2024-01-01", "a.parquet", 3)
	writeParquet(t, dir, "domain=cards/event_date=2024-01-02", "a.parquet", 2)
	st := corpus.Stats{Events: 5, PartitionRows: map[string]int64{
		"domain=cards/event_date=2024-01-01": 3, "domain=cards/event_date=2024-01-02": 2}}
	if _, p := verifyOutput(dir, st); len(p) != 0 {
		t.Errorf("matching output: problems %v", p)
	}
	// Same total, one row routed to the wrong day.
	st.PartitionRows = map[string]int64{"domain=cards/event_date=2024-01-01": 4, "domain=cards/event_date=2024-01-02": 1}
	if _, p := verifyOutput(dir, st); len(p) != 1 || !strings.Contains(p[0], "2024-01-01: 3 rows, want 4") {
		t.Errorf("misrouted row: problems %v", p)
	}
	st.Events = 6
	if _, p := verifyOutput(dir, st); len(p) != 2 {
		t.Errorf("missing row: problems %v, want a total and a partition problem", p)
	}

	// After compaction: one row per distinct event.
	st = corpus.Stats{Events: 7, DistinctEvents: 5,
		PartitionRows:     map[string]int64{"domain=cards/event_date=2024-01-01": 4, "domain=cards/event_date=2024-01-02": 3},
		PartitionDistinct: map[string]int64{"domain=cards/event_date=2024-01-01": 3, "domain=cards/event_date=2024-01-02": 2}}
	if _, p := verifyDistinct(dir, st); len(p) != 0 {
		t.Errorf("de-duplicated output: problems %v", p)
	}
	if _, p := verifyOutput(dir, st); len(p) != 2 {
		t.Errorf("de-duplicated output checked against all rows: problems %v, want 2", p)
	}
}

func TestDiffPartitionsIsBounded(t *testing.T) {
	got := map[string]int64{}
	want := map[string]int64{}
	for i := 0; i < 10; i++ {
		want[fmt.Sprintf("p%d", i)] = 1
	}
	d := diffPartitions(got, want, 3)
	if len(d) != 4 || d[3] != "…" || d[0] != "p0: 0 rows, want 1" {
		t.Errorf("diffPartitions = %q", d)
	}
	if d := diffPartitions(want, want, 3); d != nil {
		t.Errorf("equal maps: %q", d)
	}
}

func TestCheckLoad(t *testing.T) {
	st := corpus.Stats{Objects: 2, Events: 10}
	if p := checkLoad(loadSummary{Objects: 2, Records: 10}, st); len(p) != 0 {
		t.Errorf("clean load: %v", p)
	}
	p := checkLoad(loadSummary{Objects: 2, Records: 9, Rejects: 1}, st)
	if len(p) != 2 {
		t.Errorf("a rejected record: problems %v, want records and rejects", p)
	}
	if p := checkLoad(loadSummary{Objects: 2, Records: 10, Duplicates: 1}, st); len(p) != 1 {
		t.Errorf("a duplicate object: problems %v", p)
	}
}

func TestSmallHelpers(t *testing.T) {
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median odd = %v", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median even = %v", got)
	}
	if got := median(nil); got != 0 {
		t.Errorf("median empty = %v", got)
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 189035: "189,035", -1234567: "-1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
	rows, sum := csvResult([][]string{{"org", "n"}, {"a", "3"}, {"b", " 4"}})
	if rows != 2 || sum != 7 {
		t.Errorf("csvResult = %d, %v; want 2, 7", rows, sum)
	}
	if s, ok := runTime([]byte("Run Time: 0.001s\nRun Time: 0.123s\n")); !ok || s != 0.123 {
		t.Errorf("runTime = %v, %v; want the last, 0.123", s, ok)
	}
	if _, ok := runTime([]byte("nothing")); ok {
		t.Error("runTime found a time in output without one")
	}
	var v struct{ A int }
	if err := lastJSONLine([]byte("log line\n{\"A\":2}\n\n"), &v); err != nil || v.A != 2 {
		t.Errorf("lastJSONLine: %v, %+v", err, v)
	}
	if err := lastJSONLine([]byte("  \n"), &v); err == nil {
		t.Error("lastJSONLine of empty output: no error")
	}
}

func testShape(runs []runResult) *shapeResult {
	st := corpus.Stats{Objects: 20, Events: 1000, DistinctEvents: 990, RawBytes: 200e6, CompressedBytes: 40e6, Partitions: 80, EventTypes: 64}
	s := &shapeResult{Shape: shapePismoGz, Title: "Pismo gz", Spec: corpus.DefaultSpec(), Corpus: newCorpusInfo(st, 1.5), Runs: runs}
	s.summarize()
	return s
}

func testReport(runs []runResult) *report {
	cfg := &config{rounds: 2, threads: 2}
	r := newReport(cfg)
	r.Shapes = append(r.Shapes, testShape(runs))
	return r
}

func TestSummarizeAndChecks(t *testing.T) {
	s := testShape([]runResult{
		{Tool: toolEventlake, Round: 1, WallSeconds: 1, CPUSeconds: 2, PeakRSSMiB: 200, OutputBytes: 40e6, Verified: true},
		{Tool: toolDuckDB, Round: 1, WallSeconds: 2.5, CPUSeconds: 2, PeakRSSMiB: 450, OutputBytes: 35e6, Verified: true},
		{Tool: toolDuckDB, Round: 2, WallSeconds: 2.2, CPUSeconds: 2, PeakRSSMiB: 470, OutputBytes: 35e6, Verified: true},
		{Tool: toolEventlake, Round: 2, WallSeconds: 1.2, CPUSeconds: 2, PeakRSSMiB: 230, OutputBytes: 40e6, Verified: true},
	})
	if len(s.Tools) != 2 {
		t.Fatalf("tools = %+v", s.Tools)
	}
	el, dk := s.Tools[0], s.Tools[1]
	if el.MedianWallSeconds != 1.1 || dk.MedianWallSeconds != 2.35 {
		t.Errorf("median walls %v, %v; want 1.1 and 2.35", el.MedianWallSeconds, dk.MedianWallSeconds)
	}
	if el.BestWallSeconds != 1 || dk.BestWallSeconds != 2.2 {
		t.Errorf("best walls %v, %v; want 1 and 2.2", el.BestWallSeconds, dk.BestWallSeconds)
	}
	if el.PeakRSSMiB != 230 || dk.PeakRSSMiB != 470 {
		t.Errorf("peak RSS %v, %v; want the maxima 230 and 470", el.PeakRSSMiB, dk.PeakRSSMiB)
	}
	if want := 200 / 1.1; el.MBPerSecond < want-1e-9 || el.MBPerSecond > want+1e-9 {
		t.Errorf("eventlake MB/s = %v, want %v", el.MBPerSecond, want)
	}
	status := map[string]string{}
	for _, c := range s.Checks {
		status[strings.Fields(c.Figure)[0]+" "+strings.Fields(c.Figure)[1]] = c.Status
	}
	// 2.35/1.1 = 2.14× ≥ 2; 40/35 = 1.14 ≤ 1.25; 230 MiB ≤ 256.
	want := map[string]string{"throughput (median,": statusPass, "output size": statusPass, "peak RSS": statusPass,
		"CPU seconds": statusInfo}
	if !reflect.DeepEqual(status, want) {
		t.Errorf("checks = %v, want %v", status, want)
	}

	r := testReport([]runResult{
		{Tool: toolEventlake, Round: 1, WallSeconds: 2, PeakRSSMiB: 300, OutputBytes: 50e6, Verified: true},
		{Tool: toolDuckDB, Round: 1, WallSeconds: 2, PeakRSSMiB: 450, OutputBytes: 35e6, Verified: true},
	})
	for _, c := range r.Shapes[0].Checks {
		if c.Status != statusFail && c.Status != statusInfo {
			t.Errorf("slow, big, heavy eventlake: %q is %s, want FAIL", c.Figure, c.Status)
		}
	}
	if !r.missedTarget() {
		t.Error("missedTarget = false with failed checks")
	}

	s = testShape([]runResult{
		{Tool: toolEventlake, Round: 1, WallSeconds: 1, PeakRSSMiB: 100, OutputBytes: 30e6, Verified: false, Problem: "rows"},
		{Tool: toolDuckDB, Round: 1, WallSeconds: 3, PeakRSSMiB: 450, OutputBytes: 35e6, Verified: true},
	})
	if s.Checks[0].Status != statusFail {
		t.Errorf("fast but wrong rows: throughput %s, want FAIL", s.Checks[0].Status)
	}

	// The backfill: ≥ 1× and at most one file per partition.
	s = &shapeResult{Shape: "backfill", Backfill: true, Corpus: corpusInfo{RawBytes: 100e6, Events: 10}, Runs: []runResult{
		{Tool: toolEventlake, Round: 1, WallSeconds: 2, PeakRSSMiB: 100, OutputBytes: 30e6, Files: 12, Partitions: 10, MaxFilesPerPartition: 2, Verified: true},
		{Tool: toolDuckDB, Round: 1, WallSeconds: 2.5, PeakRSSMiB: 450, OutputBytes: 35e6, Files: 10, Partitions: 10, MaxFilesPerPartition: 1, Verified: true},
	}}
	s.summarize()
	got := map[string]string{}
	for _, c := range s.Checks {
		got[shortFigure(c.Figure)] = c.Status
	}
	if got["throughput"] != statusPass || got["files per partition"] != statusFail {
		t.Errorf("backfill checks %v: want throughput PASS (1.25× ≥ 1×), files per partition FAIL (2 > 1)", got)
	}
}

func TestMarkdownReport(t *testing.T) {
	r := testReport([]runResult{
		{Tool: toolEventlake, Round: 1, Position: 1, WallSeconds: 1, CPUSeconds: 1.5, PeakRSSMiB: 200, OutputBytes: 40e6, Rows: 1000, Files: 80, Partitions: 80, MaxFilesPerPartition: 1, Verified: true},
		{Tool: toolDuckDB, Round: 1, Position: 2, WallSeconds: 2, CPUSeconds: 2.1, PeakRSSMiB: 463, OutputBytes: 36e6, Rows: 1000, Files: 80, Partitions: 80, MaxFilesPerPartition: 1, Verified: true},
	})
	r.problem("something odd")
	var b bytes.Buffer
	renderMarkdown(&b, r)
	out := b.String()
	for _, want := range []string{
		"| eventlake | 1.00 | 1.00 | 200.0 | 1,000 | 1.50 | 200 | 40.0 | 80 | 1/1 runs |",
		"| DuckDB COPY | 2.00 | 2.00 | 100.0 | 500 | 2.10 | 463 | 36.0 | 80 | 1/1 runs |",
		"| 2.00× | ≥ 2× DuckDB | **PASS** |",
		"| pismo-gz | 200 | 1,000 | 80 | 1.00 / 1.50 | 2.00 / 2.10 | 2.00× | 1.40× | 0.75 (1.5×) | 200 / 463 | 40.0 / 36.0 (1.11×) | 1.00 (max 1) / 1.00 (max 1) | 1/1, 1/1 | **PASS** |",
		"200.0 MB, 40.0 MB gzipped (5.00:1)",
		"- something odd",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}

	// eventlake not built: DuckDB's figures, eventlake's pending.
	s := testShape([]runResult{{Tool: toolDuckDB, Round: 1, WallSeconds: 2, PeakRSSMiB: 463, OutputBytes: 36e6, Verified: true}})
	if len(s.Checks) != 3 {
		t.Fatalf("checks = %+v", s.Checks)
	}
	for _, c := range s.Checks {
		if c.Status != statusPending || c.DuckDB == "" {
			t.Errorf("check %+v: want PENDING with DuckDB's figure", c)
		}
	}
}

func TestParseTracesBuckets(t *testing.T) {
	in := `File: eventlake
Type: cpu
Duration: 1s, Total samples = 1.50s (150%)
-----------+-------------------------------------------------------
     500ms   runtime.memmove
             github.com/parquet-go/parquet-go.(*writer).writeRows
             github.com/eventlake/eventlake/partitions.(*Writer).flush
-----------+-------------------------------------------------------
     0.60s   github.com/eventlake/eventlake/internal/native.(*ZstdEncoder).Encode
             github.com/eventlake/eventlake/partitions.(*Writer).flush
-----------+-------------------------------------------------------
     400ms   runtime.mallocgc
             github.com/eventlake/eventlake/loader/profile.mapPismo
-----------+-------------------------------------------------------
     100ms   internal/runtime/syscall.Syscall6
             syscall.Syscall
             os.(*File).Sync
             github.com/eventlake/eventlake/partitions.syncAll.func1
-----------+-------------------------------------------------------
`
	prof, err := parseTraces(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, b := range prof.Buckets {
		got[b.Name] = b.Seconds
	}
	want := map[string]float64{"Parquet encode": 0.5, "zstd": 0.6, "GC and allocation": 0.4, "system calls: stage, fsync, commit, publish": 0.1}
	if !reflect.DeepEqual(got, want) || prof.SampleSeconds != 1.6 {
		t.Errorf("buckets %v (total %v), want %v (1.6)", got, prof.SampleSeconds, want)
	}
	if prof.Top[0].Func != "partitions.(*Writer).flush" || prof.Top[0].Seconds != 1.1 {
		t.Errorf("top cumulative %+v", prof.Top)
	}
}

func TestParseFlags(t *testing.T) {
	var errs bytes.Buffer
	cfg, err := parseFlags(nil, &errs)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.spec != corpus.DefaultSpec() {
		t.Errorf("default spec %+v, want corpus.DefaultSpec() %+v", cfg.spec, corpus.DefaultSpec())
	}
	if !cfg.main || cfg.rss || cfg.noop || cfg.shell || cfg.query || !cfg.bucket || fmt.Sprint(cfg.bucketObjects) != "[100000 1000000]" ||
		cfg.rounds != 3 || len(cfg.shapes) != len(shapes) || !cfg.profile {
		t.Errorf("defaults: %+v", cfg)
	}
	cfg, err = parseFlags([]string{"-all", "-object-mb", "0.5", "-objects", "3", "-gzip=false"}, &errs)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.rss || !cfg.noop || !cfg.shell || !cfg.query {
		t.Errorf("-all did not select every sub-benchmark: %+v", cfg)
	}
	if cfg.spec.ObjectBytes != 500_000 || cfg.spec.Objects != 3 || cfg.spec.Gzip {
		t.Errorf("spec from flags: %+v", cfg.spec)
	}
	for _, bad := range [][]string{
		{"-rounds", "0"}, {"-objects", "0"}, {"-shape", "nope"}, {"-scale", "0"}, {"-dup-rate", "1"}, {"-main=false", "-bucket=false"}, {"extra"}, {"-threads", "0"},
		{"-bucket-objects", "1,x"}, {"-bucket-objects", "0"},
	} {
		if _, err := parseFlags(bad, &errs); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
}

// The tools are timed from copies in the work folder: same bytes, still
// executable, and the copy runs.
func TestCopyBinary(t *testing.T) {
	cfg := &config{work: t.TempDir()}
	src := os.Args[0]
	dst, err := copyBinary(cfg, src, "tool")
	if err != nil {
		t.Fatal(err)
	}
	if dst != filepath.Join(cfg.work, "run", "tool") {
		t.Fatalf("copied to %s", dst)
	}
	a, _ := os.ReadFile(src)
	b, _ := os.ReadFile(dst)
	if !bytes.Equal(a, b) {
		t.Fatal("the copy differs")
	}
	m, err := runChildEnv(context.Background(), []string{"LAKEBENCH_TEST_CHILD=ok"}, "", dst)
	if err != nil || !strings.Contains(string(m.Stdout), "progress") {
		t.Fatalf("the copy did not run: %v %+v", err, m)
	}
	if _, err := copyBinary(cfg, filepath.Join(cfg.work, "missing"), "x"); err == nil {
		t.Fatal("copied a missing file")
	}
}
