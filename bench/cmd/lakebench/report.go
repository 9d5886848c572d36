package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/eventlake/eventlake/bench/corpus"
)

// Targets from the issue.
const (
	targetThroughput = 2.0  // eventlake MB/s ≥ 2 × DuckDB's, every shape
	targetBackfill   = 1.0  // the wide backfill: ≥ 1 × DuckDB's
	targetFilesPart  = 1    // the wide backfill: files per partition per load
	floorCPUPer100MB = 0.5  // the floor: CPU seconds per 100 MB of input
	targetOutput     = 1.25 // eventlake output ≤ 1.25 × DuckDB's
	targetRSSMiB     = 256  // eventlake peak RSS
	targetNoopSec    = 1.0  // re-run with nothing new
	targetShellSec   = 0.5  // shell start, 300 views
	targetQuery      = 1.5  // analyst query vs DuckDB table
)

// Check statuses.
const (
	statusPass    = "PASS"
	statusFail    = "FAIL"
	statusSkipped = "SKIPPED"
	statusPending = "PENDING"
	statusInfo    = "info"  // a figure without a target
	statusError   = "ERROR" // the sub-benchmark failed to run
)

// report is everything lakebench measured; it renders as Markdown or JSON.
type report struct {
	Date     string   `json:"date"`
	Machine  machine  `json:"machine"`
	Settings settings `json:"settings"`

	Shapes []*shapeResult `json:"shapes,omitempty"`
	Checks []check        `json:"checks"`

	RSS   []rssCase    `json:"rss,omitempty"`
	Noop  *noopResult  `json:"noop,omitempty"`
	Shell *shellResult `json:"shell,omitempty"`
	Query *queryResult `json:"query,omitempty"`

	Notes            []string `json:"notes,omitempty"`
	Problems         []string `json:"problems,omitempty"`
	EventlakeMissing bool     `json:"eventlake_missing,omitempty"`

	// The pismo-gz corpus, once generated or found (for -query).
	corpusDir   string
	corpusStats corpus.Stats
}

type machine struct {
	CPUModel  string  `json:"cpu_model"`
	NProc     int     `json:"nproc"`
	MemoryGiB float64 `json:"memory_gib"`
	Kernel    string  `json:"kernel"`
	OSArch    string  `json:"os_arch"`
	Go        string  `json:"go"`
	DuckDB    string  `json:"duckdb,omitempty"`
	Eventlake string  `json:"eventlake,omitempty"`
	// 1-minute load average when lakebench started and finished: other work
	// on the machine shows up here (and in the spread of the rounds).
	LoadAvgStart float64 `json:"loadavg_start"`
	LoadAvgEnd   float64 `json:"loadavg_end"`
}

type settings struct {
	Rounds        int     `json:"rounds"`
	Scale         float64 `json:"scale"`
	Workers       int     `json:"eventlake_workers"` // 0: eventlake's default
	ZstdLevel     int     `json:"eventlake_zstd_level"`
	DuckDBThreads int     `json:"duckdb_threads"`
	QueryRuns     int     `json:"query_runs"`
	NoopObjects   int     `json:"noop_objects"`
	FullRSSSeries bool    `json:"full_rss_series"`
}

// corpusInfo is corpus.Stats without the per-partition map.
type corpusInfo struct {
	Objects         int     `json:"objects"`
	Events          int64   `json:"events"`
	DistinctEvents  int64   `json:"distinct_events"`
	RawBytes        int64   `json:"raw_bytes"`
	CompressedBytes int64   `json:"compressed_bytes"`
	Partitions      int     `json:"partitions"`
	EventTypes      int     `json:"event_types"`
	GenerateSeconds float64 `json:"generate_seconds,omitempty"` // 0: reused
}

// runResult is one tool's run in one round.
type runResult struct {
	Tool        string  `json:"tool"`
	Round       int     `json:"round"`
	Position    int     `json:"position"` // 1: ran first in its round
	WallSeconds float64 `json:"wall_seconds"`
	CPUSeconds  float64 `json:"cpu_seconds"`
	PeakRSSMiB  float64 `json:"peak_rss_mib"`
	OutputBytes int64   `json:"output_bytes"`
	Files       int     `json:"files"`
	Rows        int64   `json:"rows"`
	Partitions  int     `json:"partitions"`
	// MaxFilesPerPartition is the most files the run wrote into one partition.
	MaxFilesPerPartition int    `json:"max_files_per_partition"`
	Verified             bool   `json:"verified"`
	Problem              string `json:"problem,omitempty"`
}

// toolSummary aggregates a tool's runs: medians, except peak RSS (the
// maximum: a ceiling is what a memory target is about).
type toolSummary struct {
	Tool              string  `json:"tool"`
	Runs              int     `json:"runs"`
	MedianWallSeconds float64 `json:"median_wall_seconds"`
	BestWallSeconds   float64 `json:"best_wall_seconds"`
	MBPerSecond       float64 `json:"mb_per_second"` // uncompressed input MB (10^6) / median wall
	EventsPerSecond   float64 `json:"events_per_second"`
	MedianCPUSeconds  float64 `json:"median_cpu_seconds"`
	PeakRSSMiB        float64 `json:"peak_rss_mib"`
	OutputMB          float64 `json:"output_mb"`
	Files             int     `json:"files"`
	Partitions        int     `json:"partitions"`
	MaxFilesPerPart   int     `json:"max_files_per_partition"`
	Verified          int     `json:"verified_runs"`
}

// check is one target.
type check struct {
	Figure    string `json:"figure"`
	Eventlake string `json:"eventlake"`
	DuckDB    string `json:"duckdb"`
	Ratio     string `json:"ratio"`
	Target    string `json:"target"`
	Status    string `json:"status"`
}

func newReport(cfg *config) *report {
	r := &report{
		Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		Settings: settings{Rounds: cfg.rounds, Scale: cfg.scale, Workers: cfg.workers, ZstdLevel: cfg.zstdLevel,
			DuckDBThreads: cfg.threads, QueryRuns: cfg.queryRuns, NoopObjects: cfg.noopObjects, FullRSSSeries: cfg.full},
		Checks: []check{},
	}
	r.Machine = machine{
		CPUModel:  cpuModel(),
		NProc:     runtime.NumCPU(),
		MemoryGiB: memoryGiB(),
		Kernel:    strings.TrimSpace(readSmall("/proc/sys/kernel/osrelease")),
		OSArch:    runtime.GOOS + "/" + runtime.GOARCH,
		Go:        runtime.Version(),

		LoadAvgStart: loadAvg(),
	}
	return r
}

// loadAvg is the 1-minute load average (0 when unknown).
func loadAvg() float64 {
	f := strings.Fields(readSmall("/proc/loadavg"))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func readSmall(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(b)
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func memoryGiB() float64 {
	for _, l := range strings.Split(readSmall("/proc/meminfo"), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return math.Round(kb/(1<<20)*10) / 10
		}
	}
	return 0
}

func (r *report) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

func (r *report) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

func (r *report) missedTarget() bool {
	all := r.Checks
	for _, sh := range r.Shapes {
		all = append(all, sh.Checks...)
	}
	for _, c := range all {
		if c.Status == statusFail || c.Status == statusError {
			return true
		}
	}
	return false
}

func newCorpusInfo(st corpus.Stats, genSeconds float64) corpusInfo {
	return corpusInfo{Objects: st.Objects, Events: st.Events, DistinctEvents: st.DistinctEvents,
		RawBytes: st.RawBytes, CompressedBytes: st.CompressedBytes, Partitions: st.Partitions,
		EventTypes: st.EventTypes, GenerateSeconds: genSeconds}
}

// tool returns the summary of a tool, nil when it did not run.
func (s *shapeResult) tool(name string) *toolSummary {
	for i := range s.Tools {
		if s.Tools[i].Tool == name {
			return &s.Tools[i]
		}
	}
	return nil
}

// summarize turns a shape's runs into per-tool figures and its checks.
func (s *shapeResult) summarize() {
	s.Tools, s.Checks = nil, []check{}
	for _, tool := range []string{toolEventlake, toolDuckDB} {
		var wall, cpu, out []float64
		t := toolSummary{Tool: tool}
		for _, run := range s.Runs {
			if run.Tool != tool {
				continue
			}
			t.Runs++
			wall = append(wall, run.WallSeconds)
			cpu = append(cpu, run.CPUSeconds)
			out = append(out, float64(run.OutputBytes))
			t.PeakRSSMiB = math.Max(t.PeakRSSMiB, run.PeakRSSMiB)
			if t.BestWallSeconds == 0 || run.WallSeconds < t.BestWallSeconds {
				t.BestWallSeconds = run.WallSeconds
			}
			t.Files, t.Partitions = run.Files, run.Partitions
			t.MaxFilesPerPart = max(t.MaxFilesPerPart, run.MaxFilesPerPartition)
			if run.Verified {
				t.Verified++
			}
		}
		if t.Runs == 0 {
			continue
		}
		t.MedianWallSeconds = median(wall)
		t.MedianCPUSeconds = median(cpu)
		t.OutputMB = median(out) / 1e6
		if t.MedianWallSeconds > 0 {
			t.MBPerSecond = float64(s.Corpus.RawBytes) / 1e6 / t.MedianWallSeconds
			t.EventsPerSecond = float64(s.Corpus.Events) / t.MedianWallSeconds
		}
		s.Tools = append(s.Tools, t)
	}
	el, dk := s.tool(toolEventlake), s.tool(toolDuckDB)
	if dk == nil {
		return
	}
	want, wantText := targetThroughput, fmt.Sprintf("≥ %.0f× DuckDB", targetThroughput)
	if s.Backfill {
		want, wantText = targetBackfill, fmt.Sprintf("≥ %.0f× DuckDB", targetBackfill)
	}
	if el == nil {
		s.Checks = append(s.Checks,
			check{Figure: "throughput", Eventlake: "pending", DuckDB: fmt.Sprintf("%.1f MB/s", dk.MBPerSecond), Ratio: "—", Target: wantText, Status: statusPending},
			check{Figure: "output size", Eventlake: "pending", DuckDB: fmt.Sprintf("%.1f MB", dk.OutputMB), Ratio: "—", Target: "≤ 1.25× DuckDB", Status: statusPending},
			check{Figure: "peak RSS", Eventlake: "pending", DuckDB: fmt.Sprintf("%.0f MiB", dk.PeakRSSMiB), Ratio: "—", Target: fmt.Sprintf("≤ %d MiB", targetRSSMiB), Status: statusPending})
		return
	}
	verified := el.Verified == el.Runs && dk.Verified == dk.Runs
	tp := dk.MedianWallSeconds / el.MedianWallSeconds
	s.Checks = append(s.Checks, check{
		Figure:    "throughput (median, same run, alternating)",
		Eventlake: fmt.Sprintf("%.1f MB/s", el.MBPerSecond), DuckDB: fmt.Sprintf("%.1f MB/s", dk.MBPerSecond),
		Ratio: fmt.Sprintf("%.2f×", tp), Target: wantText, Status: passIf(verified && tp >= want),
	})
	or := el.OutputMB / dk.OutputMB
	s.Checks = append(s.Checks, check{
		Figure:    "output size",
		Eventlake: fmt.Sprintf("%.1f MB", el.OutputMB), DuckDB: fmt.Sprintf("%.1f MB", dk.OutputMB),
		Ratio: fmt.Sprintf("%.2f×", or), Target: "≤ 1.25× DuckDB", Status: passIf(verified && or <= targetOutput),
	})
	// CPU seconds are far less sensitive than wall time to other work on a
	// shared machine: shown for reading the throughput ratio, not judged.
	s.Checks = append(s.Checks, check{
		Figure:    "CPU seconds (median; robust to a busy machine)",
		Eventlake: fmt.Sprintf("%.2f s", el.MedianCPUSeconds), DuckDB: fmt.Sprintf("%.2f s", dk.MedianCPUSeconds),
		Ratio: fmt.Sprintf("%.2f×", dk.MedianCPUSeconds/el.MedianCPUSeconds), Target: "— (DuckDB's / eventlake's)", Status: statusInfo,
	})
	floor := floorCPUPer100MB * float64(s.Corpus.RawBytes) / 1e8
	s.Checks = append(s.Checks, check{
		Figure:    fmt.Sprintf("CPU seconds against the floor (%.1f CPU-s per 100 MB of input)", floorCPUPer100MB),
		Eventlake: fmt.Sprintf("%.2f s", el.MedianCPUSeconds), DuckDB: fmt.Sprintf("floor %.2f s", floor),
		Ratio: fmt.Sprintf("%.2f× floor", el.MedianCPUSeconds/floor), Target: "— (distance to the floor)", Status: statusInfo,
	})
	s.Checks = append(s.Checks, check{
		Figure:    "peak RSS (max over rounds)",
		Eventlake: fmt.Sprintf("%.0f MiB", el.PeakRSSMiB), DuckDB: fmt.Sprintf("%.0f MiB", dk.PeakRSSMiB),
		Ratio: fmt.Sprintf("%.2f×", el.PeakRSSMiB/dk.PeakRSSMiB), Target: fmt.Sprintf("≤ %d MiB", targetRSSMiB),
		Status: passIf(el.PeakRSSMiB > 0 && el.PeakRSSMiB <= targetRSSMiB),
	})
	if s.Backfill {
		s.Checks = append(s.Checks, check{
			Figure:    "files per partition (max over rounds)",
			Eventlake: strconv.Itoa(el.MaxFilesPerPart), DuckDB: strconv.Itoa(dk.MaxFilesPerPart),
			Ratio: "—", Target: fmt.Sprintf("≤ %d per load", targetFilesPart), Status: passIf(el.MaxFilesPerPart > 0 && el.MaxFilesPerPart <= targetFilesPart),
		})
	}
}

func passIf(ok bool) string {
	if ok {
		return statusPass
	}
	return statusFail
}

// thousands formats n with thin separators: 1,234,567.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// renderMarkdown writes the report as Markdown for bench/README.md.
func renderMarkdown(w io.Writer, r *report) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	m := r.Machine
	p("### Results — %s\n\n", r.Date)
	p("- **Machine:** %s, %d CPUs (nproc), %.1f GiB RAM, kernel %s, %s; %s", m.CPUModel, m.NProc, m.MemoryGiB, orDash(m.Kernel), m.OSArch, m.Go)
	if m.DuckDB != "" {
		p(", DuckDB %s", m.DuckDB)
	}
	if m.Eventlake != "" {
		p(", %s", m.Eventlake)
	}
	p("; 1-minute load average %.2f at the start, %.2f at the end.\n", m.LoadAvgStart, m.LoadAvgEnd)
	if len(r.Shapes) > 0 {
		workers := "default (one per CPU)"
		if r.Settings.Workers > 0 {
			workers = strconv.Itoa(r.Settings.Workers)
		}
		zstd := "default"
		if r.Settings.ZstdLevel > 0 {
			zstd = strconv.Itoa(r.Settings.ZstdLevel)
		}
		p("- **Runs:** %d rounds per shape, order alternating each round, page cache warm; eventlake `--workers` %s, `--zstd-level` %s; DuckDB `threads=%d`.\n",
			r.Settings.Rounds, workers, zstd, r.Settings.DuckDBThreads)
	}
	p("\n")
	renderShapes(w, r)
	if len(r.Checks) > 0 {
		p("| figure | eventlake | DuckDB | ratio | target | result |\n|---|---:|---:|---:|---|---|\n")
		for _, c := range r.Checks {
			p("| %s | %s | %s | %s | %s | **%s** |\n", c.Figure, orDash(c.Eventlake), orDash(c.DuckDB), orDash(c.Ratio), c.Target, c.Status)
		}
		p("\n")
	}
	if len(r.RSS) > 0 {
		p("#### Peak RSS across input sizes and partition counts (eventlake load)\n\n")
		p("| case | input MB | objects | partitions | events | wall s | MB/s | peak RSS MiB | ≤ %d MiB |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n", targetRSSMiB)
		for _, c := range r.RSS {
			p("| %s | %.0f | %d | %d | %s | %.2f | %.1f | %.0f | %s |\n", c.Case, c.InputMB, c.Objects, c.Partitions, thousands(c.Events),
				c.WallSeconds, c.MBPerSecond, c.PeakRSSMiB, c.Status)
		}
		p("\n")
	}
	if n := r.Noop; n != nil {
		p("#### Re-run with nothing new\n\n")
		p("| objects in the catalog | first load s | re-run wall s (median of %d) | re-run peak RSS MiB | target | result |\n|---:|---:|---:|---:|---|---|\n", len(n.RerunSeconds))
		p("| %s | %.2f | %.3f | %.0f | ≤ %.0f s | **%s** |\n\n", thousands(int64(n.Objects)), n.FirstLoadSeconds, n.RerunMedianSeconds, n.RerunRSSMiB, targetNoopSec, n.Status)
	}
	if s := r.Shell; s != nil {
		p("#### Shell start\n\n")
		p("| event-type views | `eventlake sql -c \"select 1\"` wall s (median of %d) | target | result |\n|---:|---:|---|---|\n", len(s.RunSeconds))
		p("| %d | %.3f | ≤ %.1f s | **%s** |\n\n", s.EventTypes, s.MedianSeconds, targetShellSec, s.Status)
		switch {
		case s.PromptSeconds > 0:
			p("The interactive shell on a pseudo-terminal (median of %d): prompt after %.3f s; a statement typed at the prompt returned after %.3f s (it waits for the typed views, made in the background).\n\n",
				len(s.RunSeconds), s.PromptSeconds, s.FirstResultSeconds)
		case s.InteractiveError != "":
			p("The interactive shell could not be measured: %s\n\n", s.InteractiveError)
		}
	}
	if q := r.Query; q != nil {
		p("#### Analyst query\n\n")
		p("`%s`\n\n", q.Query)
		if q.Status == statusSkipped {
			p("Skipped: %s\n\n", q.Why)
		} else {
			how := "`.timer on` in `eventlake sql -c`, new process per run"
			if !q.EventlakeTimer {
				how = fmt.Sprintf("wall of `sql -c Q` %.3f s − wall of `sql -c \"select 1\"` %.3f s", q.EventlakeQueryWallSeconds, q.EventlakeStartSeconds)
			}
			p("| side | query s (median of %d) | how measured |\n|---|---:|---|\n", q.Runs)
			p("| eventlake, compacted lake (`events` view) | %.3f | %s; process wall %.3f s, of which start-up ≈ %.3f s |\n",
				q.EventlakeSeconds, how, q.EventlakeQueryWallSeconds, q.EventlakeStartSeconds)
			p("| DuckDB native table (same rows, de-duplicated) | %.3f | in-process, fresh instance per run, load (%.1f s) excluded |\n\n",
				q.DuckDBSeconds, q.DuckDBLoadSeconds)
			p("Ratio eventlake/DuckDB %.2f× (target ≤ %.1f×): **%s**; both returned %d rows (sum of last column %.0f). Compaction took %.2f s.\n\n",
				q.Ratio, targetQuery, q.Status, q.ResultRows, q.ResultSum, q.CompactSeconds)
		}
	}
	if len(r.Notes) > 0 {
		p("Notes:\n\n")
		for _, n := range r.Notes {
			p("- %s\n", n)
		}
		p("\n")
	}
	if len(r.Problems) > 0 {
		p("**Problems:**\n\n")
		for _, n := range r.Problems {
			p("- %s\n", n)
		}
		p("\n")
	}
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
