package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/eventlake/eventlake/bench/corpus"
)

// rssCase is one input of the RSS-flatness series.
type rssCase struct {
	Case        string  `json:"case"`
	InputMB     float64 `json:"input_mb"`
	Objects     int     `json:"objects"`
	Partitions  int     `json:"partitions"`
	Events      int64   `json:"events"`
	WallSeconds float64 `json:"wall_seconds"`
	MBPerSecond float64 `json:"mb_per_second"`
	PeakRSSMiB  float64 `json:"peak_rss_mib"`
	Status      string  `json:"status"`
}

type noopResult struct {
	Objects            int       `json:"objects"`
	FirstLoadSeconds   float64   `json:"first_load_seconds"`
	RerunSeconds       []float64 `json:"rerun_seconds"`
	RerunMedianSeconds float64   `json:"rerun_median_seconds"`
	RerunRSSMiB        float64   `json:"rerun_peak_rss_mib"`
	Status             string    `json:"status"`
}

type shellResult struct {
	EventTypes    int       `json:"event_types"`
	RunSeconds    []float64 `json:"run_seconds"`
	MedianSeconds float64   `json:"median_seconds"`
	Status        string    `json:"status"`
	// The interactive shell on a pseudo-terminal: median seconds until its
	// prompt, and until the result of a statement typed at the prompt.
	PromptSeconds      float64 `json:"interactive_prompt_seconds,omitempty"`
	FirstResultSeconds float64 `json:"interactive_first_result_seconds,omitempty"`
	InteractiveError   string  `json:"interactive_error,omitempty"`
}

type queryResult struct {
	Query                     string  `json:"query"`
	Runs                      int     `json:"runs"`
	CompactSeconds            float64 `json:"compact_seconds"`
	EventlakeStartSeconds     float64 `json:"eventlake_start_seconds"`      // median wall of sql -c "select 1"
	EventlakeQueryWallSeconds float64 `json:"eventlake_query_wall_seconds"` // median wall of sql -c Q
	EventlakeSeconds          float64 `json:"eventlake_seconds"`            // in-process query time
	EventlakeTimer            bool    `json:"eventlake_timer"`              // from .timer (else: wall difference)
	DuckDBSeconds             float64 `json:"duckdb_seconds"`
	DuckDBLoadSeconds         float64 `json:"duckdb_load_seconds"`
	Ratio                     float64 `json:"ratio"`
	ResultRows                int64   `json:"result_rows"`
	ResultSum                 float64 `json:"result_sum"`
	Status                    string  `json:"status"`
	Why                       string  `json:"why,omitempty"`
}

// skipCheck records a target that could not be measured.
func (r *report) skipCheck(figure, target, why string) {
	status := statusSkipped
	if r.EventlakeMissing {
		status = statusPending
	}
	r.Checks = append(r.Checks, check{Figure: figure, Eventlake: why, Target: target, Status: status})
}

// subCorpus generates a corpus for a sub-benchmark into a fresh folder
// under work; the caller removes it.
func subCorpus(cfg *config, name string, s corpus.Spec) (string, corpus.Stats, error) {
	dir := filepath.Join(cfg.work, name)
	if err := os.RemoveAll(dir); err != nil {
		return "", corpus.Stats{}, err
	}
	log.Printf("%s: generating %d × %s-byte objects, %d domains × %d days", name, s.Objects, thousands(s.ObjectBytes), s.Domains, s.Days)
	st, err := corpus.Generate(dir, s)
	return dir, st, err
}

// loadVerified loads a corpus into a fresh lake and checks every row landed.
func loadVerified(ctx context.Context, cfg *config, lake, cdir string, s corpus.Spec, st corpus.Stats) (measurement, error) {
	m, sum, err := eventlakeLoad(ctx, cfg, lake, s.SourceDir(cdir), nil)
	if err != nil {
		return m, err
	}
	p := checkLoad(sum, st)
	_, q := verifyOutput(filepath.Join(lake, "events"), st)
	if p = append(p, q...); len(p) > 0 {
		return m, fmt.Errorf("load of %s: %s", cdir, strings.Join(p, "; "))
	}
	return m, nil
}

// runRSS: eventlake's peak RSS over 200 MB → 1 GB (→ 2 GB with -full) of
// input and over 10 → 2,000 partitions (Days × Domains), each in a fresh lake.
func runRSS(ctx context.Context, cfg *config, rep *report) error {
	const figure = "peak RSS, 200 MB → 1 GB input and 10 → 2,000 partitions"
	if rep.EventlakeMissing {
		rep.skipCheck(figure, fmt.Sprintf("≤ %d MiB", targetRSSMiB), "eventlake not built")
		return nil
	}
	objectsFor := func(mb float64) int {
		return max(1, int(math.Round(mb*1e6/float64(cfg.spec.ObjectBytes))))
	}
	type rc struct {
		name          string
		mb            float64
		domains, days int
	}
	b := cfg.spec
	cases := []rc{
		{"200 MB", 200, b.Domains, b.Days},
		{"1 GB", 1000, b.Domains, b.Days},
	}
	if cfg.full {
		cases = append(cases, rc{"2 GB", 2000, b.Domains, b.Days})
	}
	cases = append(cases, rc{"200 MB, 10 partitions", 200, 2, 5}, rc{"200 MB, 2,000 partitions", 200, 20, 100})
	worst := 0.0
	ok := true
	for i, c := range cases {
		s := b
		s.Objects, s.Domains, s.Days = objectsFor(c.mb), c.domains, c.days
		s.Seed = b.Seed + int64(i) + 1
		cdir, st, err := subCorpus(cfg, "rss-corpus", s)
		if err != nil {
			return err
		}
		lake := filepath.Join(cfg.work, "rss-lake")
		m, err := loadVerified(ctx, cfg, lake, cdir, s, st)
		os.RemoveAll(lake)
		os.RemoveAll(cdir)
		if err != nil {
			return fmt.Errorf("rss %s: %w", c.name, err)
		}
		rss := float64(m.MaxRSS) / mib
		x := rssCase{Case: c.name, InputMB: float64(st.RawBytes) / 1e6, Objects: st.Objects, Partitions: st.Partitions,
			Events: st.Events, WallSeconds: m.Wall, MBPerSecond: float64(st.RawBytes) / 1e6 / m.Wall,
			PeakRSSMiB: rss, Status: passIf(m.MaxRSS > 0 && rss <= targetRSSMiB)}
		log.Printf("rss %-26s %6.2fs %6.0f MiB %s", c.name, m.Wall, rss, x.Status)
		ok = ok && x.Status == statusPass
		worst = math.Max(worst, rss)
		rep.RSS = append(rep.RSS, x)
	}
	fig := figure
	if cfg.full {
		fig = strings.Replace(figure, "1 GB", "2 GB", 1)
	}
	rep.Checks = append(rep.Checks, check{Figure: fig, Eventlake: fmt.Sprintf("max %.0f MiB", worst),
		Target: fmt.Sprintf("≤ %d MiB, flat", targetRSSMiB), Status: passIf(ok)})
	return nil
}

// runNoop: catalog -noop-objects tiny objects, then time re-runs that find
// nothing new (median of three).
func runNoop(ctx context.Context, cfg *config, rep *report) error {
	figure := fmt.Sprintf("re-run with nothing new, %s objects in the catalog", thousands(int64(cfg.noopObjects)))
	if rep.EventlakeMissing {
		rep.skipCheck(figure, "≤ 1 s", "eventlake not built")
		return nil
	}
	s := cfg.spec
	// One event per object and no re-deliveries: an object holding nothing
	// but a re-delivered line would be byte-identical to an earlier one,
	// which eventlake rightly skips as a duplicate object.
	s.Objects, s.ObjectBytes, s.DuplicateRate = cfg.noopObjects, 1000, 0
	cdir, st, err := subCorpus(cfg, "noop-corpus", s)
	if err != nil {
		return err
	}
	defer os.RemoveAll(cdir)
	lake := filepath.Join(cfg.work, "noop-lake")
	defer os.RemoveAll(lake)
	first, err := loadVerified(ctx, cfg, lake, cdir, s, st)
	if err != nil {
		return fmt.Errorf("noop: %w", err)
	}
	res := &noopResult{Objects: st.Objects, FirstLoadSeconds: first.Wall}
	for i := 0; i < 3; i++ {
		m, sum, err := eventlakeLoad(ctx, cfg, lake, s.SourceDir(cdir), nil)
		if err != nil {
			return fmt.Errorf("noop re-run: %w", err)
		}
		if sum.Records != 0 || sum.Skipped != int64(st.Objects) {
			return fmt.Errorf("noop re-run %d loaded %d records and skipped %d objects, want 0 and %d", i+1, sum.Records, sum.Skipped, st.Objects)
		}
		res.RerunSeconds = append(res.RerunSeconds, m.Wall)
		res.RerunRSSMiB = math.Max(res.RerunRSSMiB, float64(m.MaxRSS)/mib)
	}
	res.RerunMedianSeconds = median(res.RerunSeconds)
	res.Status = passIf(res.RerunMedianSeconds <= targetNoopSec)
	log.Printf("noop: first load %.2fs, re-run %.3fs %s", res.FirstLoadSeconds, res.RerunMedianSeconds, res.Status)
	rep.Noop = res
	rep.Checks = append(rep.Checks, check{Figure: figure, Eventlake: fmt.Sprintf("%.3f s", res.RerunMedianSeconds),
		Target: "≤ 1 s", Status: res.Status})
	return nil
}

// sqlCSV runs `eventlake sql --lake lake -c q --format csv` and parses it.
func sqlCSV(ctx context.Context, cfg *config, lake, q string) (measurement, [][]string, error) {
	m, err := runChild(ctx, "", cfg.eventlake, "sql", "--lake", lake, "-c", q, "--format", "csv")
	if err != nil {
		return m, nil, err
	}
	recs, err := csv.NewReader(bytes.NewReader(m.Stdout)).ReadAll()
	if err != nil {
		return m, nil, fmt.Errorf("eventlake sql -c %q: output is not CSV: %w", q, err)
	}
	return m, recs, nil
}

var runTimeRe = regexp.MustCompile(`Run Time: ([0-9.]+)s`)

// runTime returns the last "Run Time: 0.123s" the shell's .timer printed.
func runTime(stderr []byte) (float64, bool) {
	m := runTimeRe.FindAllSubmatch(stderr, -1)
	if len(m) == 0 {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(m[len(m)-1][1]), 64)
	return f, err == nil
}

// csvResult returns the data rows (after the header) and the sum of the
// last column.
func csvResult(recs [][]string) (rows int64, sum float64) {
	for i, r := range recs {
		if i == 0 || len(r) == 0 {
			continue
		}
		rows++
		f, _ := strconv.ParseFloat(strings.TrimSpace(r[len(r)-1]), 64)
		sum += f
	}
	return rows, sum
}

// runShell: `eventlake sql -c "select 1"` on a lake with 300 event types.
func runShell(ctx context.Context, cfg *config, rep *report) error {
	const figure = "shell start, 300 event-type views"
	target := fmt.Sprintf("≤ %.1f s", targetShellSec)
	if rep.EventlakeMissing {
		rep.skipCheck(figure, target, "eventlake not built")
		return nil
	}
	if !hasCommand(ctx, cfg.eventlake, "sql") {
		rep.skipCheck(figure, target, "`eventlake sql` does not exist yet")
		rep.note("shell start skipped: this eventlake has no `sql` command")
		return nil
	}
	s := cfg.spec
	s.Domains, s.EventTypesPerDomain, s.Days = 10, 30, 3
	s.Objects, s.ObjectBytes = 10, 100_000
	cdir, st, err := subCorpus(cfg, "shell-corpus", s)
	if err != nil {
		return err
	}
	defer os.RemoveAll(cdir)
	if st.EventTypes != 300 {
		return fmt.Errorf("shell corpus has %d event types, want 300", st.EventTypes)
	}
	lake := filepath.Join(cfg.work, "shell-lake")
	defer os.RemoveAll(lake)
	if _, err := loadVerified(ctx, cfg, lake, cdir, s, st); err != nil {
		return fmt.Errorf("shell: %w", err)
	}
	// Untimed sanity check: the shell sees every row.
	if _, recs, err := sqlCSV(ctx, cfg, lake, "select count(*) from events_raw"); err != nil {
		return fmt.Errorf("shell: %w", err)
	} else if _, n := csvResult(recs); int64(n) != st.Events {
		rep.problem("shell: events_raw has %.0f rows, the corpus %d", n, st.Events)
	}
	res := &shellResult{EventTypes: st.EventTypes}
	for i := 0; i < cfg.queryRuns; i++ {
		m, err := runChild(ctx, "", cfg.eventlake, "sql", "--lake", lake, "-c", "select 1")
		if err != nil {
			return fmt.Errorf("shell: %w", err)
		}
		res.RunSeconds = append(res.RunSeconds, m.Wall)
	}
	res.MedianSeconds = median(res.RunSeconds)
	res.Status = passIf(res.MedianSeconds <= targetShellSec)
	log.Printf("shell: %.3fs %s", res.MedianSeconds, res.Status)
	var prompts, firsts []float64
	for i := 0; i < cfg.queryRuns; i++ {
		p, f, err := interactiveStart(ctx, cfg.eventlake, lake)
		if err != nil {
			res.InteractiveError = err.Error()
			log.Printf("shell: interactive measurement failed: %v", err)
			break
		}
		prompts, firsts = append(prompts, p), append(firsts, f)
	}
	if len(prompts) > 0 {
		res.PromptSeconds, res.FirstResultSeconds = median(prompts), median(firsts)
		log.Printf("shell: interactive prompt %.3fs, first result %.3fs", res.PromptSeconds, res.FirstResultSeconds)
	}
	rep.Shell = res
	rep.Checks = append(rep.Checks, check{Figure: figure, Eventlake: fmt.Sprintf("%.3f s", res.MedianSeconds), Target: target, Status: res.Status})
	return nil
}

// duckqueryResult is what bench/cmd/duckquery prints.
type duckqueryResult struct {
	TableRows     int64   `json:"table_rows"`
	LoadSeconds   float64 `json:"load_seconds"`
	MedianSeconds float64 `json:"median_seconds"`
	ResultRows    int64   `json:"result_rows"`
	LastColumnSum float64 `json:"last_column_sum"`
	DuckDBVersion string  `json:"duckdb_version"`
}

// runQuery: the analyst query over a compacted lake of the main corpus vs a
// native DuckDB table of the same (de-duplicated) rows, both timed
// in-process: eventlake by its shell's `.timer on` (each run a new process,
// so DuckDB's caches are cold and the page cache warm), duckquery likewise
// (see its doc comment). Without timer output, eventlake's time is estimated
// as the median wall of `sql -c Q` minus that of `sql -c "select 1"`.
func runQuery(ctx context.Context, cfg *config, rep *report) error {
	const figure = "analyst query, compacted lake vs DuckDB table"
	target := fmt.Sprintf("≤ %.1f×", targetQuery)
	cdir, st := rep.corpusDir, rep.corpusStats
	if cdir == "" {
		// The pismo-gz shape did not run: its corpus, for the query alone.
		cdir = corpusFor(cfg, shapePismoGz)
		var err error
		if st, _, err = ensureCorpus(cdir, pismoGzShape().Spec(cfg)); err != nil {
			return err
		}
		rep.corpusDir, rep.corpusStats = cdir, st
	}
	q := strings.ReplaceAll(cfg.analystQuery, "{domain}", st.Domains[0])
	res := &queryResult{Query: q, Runs: cfg.queryRuns}
	skip := func(why string) error {
		res.Status, res.Why = statusSkipped, why
		rep.Query = res
		rep.skipCheck(figure, target, why)
		return nil
	}
	switch {
	case rep.EventlakeMissing:
		return skip("eventlake not built")
	case !hasCommand(ctx, cfg.eventlake, "sql"):
		return skip("`eventlake sql` does not exist yet")
	case !hasCommand(ctx, cfg.eventlake, "compact"):
		return skip("`eventlake compact` does not exist yet")
	}
	if _, err := buildTool(ctx, cfg, &cfg.duckquery, "duckquery"); err != nil {
		return err
	}
	lake := filepath.Join(cfg.work, "query-lake")
	defer os.RemoveAll(lake)
	if _, err := loadVerified(ctx, cfg, lake, cdir, cfg.spec, st); err != nil {
		return fmt.Errorf("query: %w", err)
	}
	m, err := runChild(ctx, "", cfg.eventlake, "compact", "--lake", lake)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	res.CompactSeconds = m.Wall
	// compact drops duplicate event_ids: one row per distinct event remains.
	if _, p := verifyDistinct(filepath.Join(lake, "events"), st); len(p) > 0 {
		return fmt.Errorf("query: after compaction: %s", strings.Join(p, "; "))
	}

	// Alternate a bare start-up and the query; the query's in-process time
	// comes from the shell's own .timer (statement prepare, run and output).
	var start, wall, inproc []float64
	var recs [][]string
	for i := 0; i < cfg.queryRuns; i++ {
		m, err := runChild(ctx, "", cfg.eventlake, "sql", "--lake", lake, "-c", "select 1", "--format", "csv")
		if err != nil {
			return fmt.Errorf("query: %w", err)
		}
		start = append(start, m.Wall)
		if m, recs, err = sqlCSV(ctx, cfg, lake, ".timer on\n"+q); err != nil {
			return fmt.Errorf("query: %w", err)
		}
		wall = append(wall, m.Wall)
		if t, ok := runTime(m.Stderr); ok {
			inproc = append(inproc, t)
		}
	}
	res.EventlakeStartSeconds, res.EventlakeQueryWallSeconds = median(start), median(wall)
	if len(inproc) == len(wall) {
		res.EventlakeSeconds, res.EventlakeTimer = median(inproc), true
	} else {
		// No timer output: estimate from the process walls.
		res.EventlakeSeconds = math.Max(0, res.EventlakeQueryWallSeconds-res.EventlakeStartSeconds)
		rep.note("analyst query: `.timer on` printed no run time; eventlake's query time is estimated as wall(sql -c Q) − wall(sql -c \"select 1\")")
	}
	res.ResultRows, res.ResultSum = csvResult(recs)

	gz := pismoGzShape().Spec(cfg)
	m, err = runChild(ctx, "", cfg.duckquery, "-glob", gz.Glob(cdir), "-compression", compression(gz),
		"-query", q, "-runs", strconv.Itoa(cfg.queryRuns), "-threads", strconv.Itoa(cfg.threads),
		"-db", filepath.Join(cfg.work, "query.duckdb"))
	os.Remove(filepath.Join(cfg.work, "query.duckdb"))
	os.Remove(filepath.Join(cfg.work, "query.duckdb.wal"))
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	var dq duckqueryResult
	if err := json.Unmarshal(bytes.TrimSpace(m.Stdout), &dq); err != nil {
		return fmt.Errorf("query: duckquery output: %w", err)
	}
	res.DuckDBSeconds, res.DuckDBLoadSeconds = dq.MedianSeconds, dq.LoadSeconds
	if dq.TableRows != st.DistinctEvents {
		rep.problem("query: the DuckDB table has %d rows, the corpus %d distinct events", dq.TableRows, st.DistinctEvents)
	}
	if dq.ResultRows != res.ResultRows || math.Abs(dq.LastColumnSum-res.ResultSum) > 1e-6*math.Max(1, math.Abs(dq.LastColumnSum)) {
		rep.problem("query: eventlake returned %d rows (last column sums to %g), DuckDB %d rows (%g)",
			res.ResultRows, res.ResultSum, dq.ResultRows, dq.LastColumnSum)
	}
	if res.DuckDBSeconds > 0 {
		res.Ratio = res.EventlakeSeconds / res.DuckDBSeconds
	}
	res.Status = passIf(res.DuckDBSeconds > 0 && res.Ratio <= targetQuery)
	rep.Query = res
	log.Printf("query: eventlake %.3fs, DuckDB %.3fs, %.2f× %s", res.EventlakeSeconds, res.DuckDBSeconds, res.Ratio, res.Status)
	rep.Checks = append(rep.Checks, check{Figure: figure, Eventlake: fmt.Sprintf("%.3f s", res.EventlakeSeconds),
		DuckDB: fmt.Sprintf("%.3f s", res.DuckDBSeconds), Ratio: fmt.Sprintf("%.2f×", res.Ratio), Target: target, Status: res.Status})
	return nil
}
