package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/eventlake/eventlake/bench/corpus"
)

const (
	toolEventlake = "eventlake"
	toolDuckDB    = "DuckDB COPY"

	mib = 1 << 20
)

// loadSummary is the part of `eventlake load --json` lakebench reads.
type loadSummary struct {
	LoadID      string  `json:"load_id"`
	Objects     int64   `json:"objects"`
	Committed   int64   `json:"committed"`
	Failed      int64   `json:"failed"`
	Quarantined int64   `json:"quarantined"`
	Duplicates  int64   `json:"duplicates"`
	Skipped     int64   `json:"skipped"`
	Records     int64   `json:"records"`
	Rejects     int64   `json:"rejects"`
	Files       int     `json:"files"`
	Seconds     float64 `json:"seconds"`
}

// lastJSONLine decodes the last non-empty line of out into v.
func lastJSONLine(out []byte, v any) error {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if last == "" {
		return errors.New("no JSON output")
	}
	if err := json.Unmarshal([]byte(last), v); err != nil {
		return fmt.Errorf("bad JSON output %.200q: %w", last, err)
	}
	return nil
}

// eventlakeLoad runs one `eventlake load` into lake and decodes its
// summary; extra flags (--profile) go before the source, env (the CPU
// profile) into the child's environment.
func eventlakeLoad(ctx context.Context, cfg *config, lake, source string, env []string, extra ...string) (measurement, loadSummary, error) {
	// The corpus was written just now, and completely: no settle time.
	args := []string{"load", "--lake", lake, "-q", "--json", "--settle", "0"}
	if cfg.workers > 0 {
		args = append(args, "--workers", strconv.Itoa(cfg.workers))
	}
	if cfg.zstdLevel > 0 {
		args = append(args, "--zstd-level", strconv.Itoa(cfg.zstdLevel))
	}
	args = append(args, extra...)
	args = append(args, source)
	var sum loadSummary
	m, err := runChildEnv(ctx, env, "", cfg.eventlake, args...)
	if err != nil {
		return m, sum, err
	}
	if err := lastJSONLine(m.Stdout, &sum); err != nil {
		return m, sum, fmt.Errorf("eventlake load: %w", err)
	}
	return m, sum, nil
}

// checkLoad reports what is wrong with a load that should have taken every
// object and record of st.
func checkLoad(sum loadSummary, st corpus.Stats) []string {
	var p []string
	if sum.Records != st.Events {
		p = append(p, fmt.Sprintf("eventlake reported %d records, the corpus has %d events", sum.Records, st.Events))
	}
	if sum.Rejects != 0 || sum.Failed != 0 || sum.Quarantined != 0 {
		p = append(p, fmt.Sprintf("eventlake reported %d rejects, %d failed and %d quarantined objects", sum.Rejects, sum.Failed, sum.Quarantined))
	}
	if sum.Objects != int64(st.Objects) || sum.Duplicates != 0 {
		p = append(p, fmt.Sprintf("eventlake saw %d objects (%d skipped as duplicate objects), the corpus has %d", sum.Objects, sum.Duplicates, st.Objects))
	}
	return p
}

// verifyOutput checks the Parquet a tool wrote against the corpus, exactly:
// the rows of every partition, re-deliveries included.
func verifyOutput(dir string, st corpus.Stats) (outputStats, []string) {
	return verifyRows(dir, st.Events, st.PartitionRows, "events")
}

// verifyDistinct checks a de-duplicated (compacted) lake: one row per
// event_id in every partition.
func verifyDistinct(dir string, st corpus.Stats) (outputStats, []string) {
	return verifyRows(dir, st.DistinctEvents, st.PartitionDistinct, "distinct events")
}

func verifyRows(dir string, total int64, parts map[string]int64, what string) (outputStats, []string) {
	out, err := scanOutput(dir)
	if err != nil {
		return out, []string{err.Error()}
	}
	var p []string
	if out.Rows != total {
		p = append(p, fmt.Sprintf("%d rows in the Parquet footers under %s, the corpus has %d %s", out.Rows, dir, total, what))
	}
	if d := diffPartitions(out.PartitionRows, parts, 5); len(d) > 0 {
		p = append(p, "rows per partition differ from the corpus's "+what+": "+strings.Join(d, "; "))
	}
	return out, p
}

// duckcopyResult is what bench/cmd/duckcopy prints.
type duckcopyResult struct {
	Rows          int64   `json:"rows"`
	Seconds       float64 `json:"seconds"`
	DuckDBVersion string  `json:"duckdb_version"`
}

func compression(s corpus.Spec) string {
	if s.Gzip {
		return "gzip"
	}
	return "none"
}

// runTool runs one tool once on a shape's corpus into a fresh folder under
// work, measures it, verifies its output and removes the output. env goes
// to eventlake's environment.
func runTool(ctx context.Context, cfg *config, rep *report, sh *shape, spec corpus.Spec, tool string, cdir string, st corpus.Stats, round, pos int, env []string) (runResult, error) {
	r := runResult{Tool: tool, Round: round, Position: pos}
	if cfg.idle > 0 {
		select {
		case <-time.After(cfg.idle):
		case <-ctx.Done():
			return r, ctx.Err()
		}
	}
	out := filepath.Join(cfg.work, fmt.Sprintf("out-%s-%d-%d", sh.Name, round, pos))
	defer os.RemoveAll(out)
	var (
		m        measurement
		err      error
		problems []string
		scanDir  string
	)
	switch tool {
	case toolEventlake:
		var sum loadSummary
		var extra []string
		if sh.Profile != "" {
			extra = []string{"--profile", sh.Profile}
		}
		m, sum, err = eventlakeLoad(ctx, cfg, out, spec.SourceDir(cdir), env, extra...)
		if err == nil {
			problems = checkLoad(sum, st)
		}
		scanDir = filepath.Join(out, sh.Table)
	case toolDuckDB:
		m, err = runChild(ctx, "", cfg.duckcopy, "-shape", sh.Duck, "-glob", spec.Glob(cdir), "-out", out,
			"-threads", strconv.Itoa(cfg.threads), "-compression", compression(spec))
		if err == nil {
			var res duckcopyResult
			if err = lastJSONLine(m.Stdout, &res); err == nil {
				rep.Machine.DuckDB = res.DuckDBVersion
				if res.Rows != st.Events {
					problems = append(problems, fmt.Sprintf("DuckDB copied %d rows, the corpus has %d events", res.Rows, st.Events))
				}
			}
		}
		scanDir = out
	}
	if err != nil {
		return r, fmt.Errorf("%s, round %d: %w", tool, round, err)
	}
	ost, p := verifyOutput(scanDir, st)
	problems = append(problems, p...)
	r.WallSeconds, r.CPUSeconds = m.Wall, m.CPU()
	r.PeakRSSMiB = float64(m.MaxRSS) / mib
	r.OutputBytes, r.Files, r.Rows = ost.Bytes, ost.Files, ost.Rows
	r.Partitions, r.MaxFilesPerPartition = len(ost.PartitionRows), ost.MaxFiles
	r.Verified = len(problems) == 0
	r.Problem = strings.Join(problems, "; ")
	return r, nil
}

func okText(r runResult) string {
	if r.Verified {
		return "rows verified"
	}
	return "ROWS WRONG"
}

// median of xs (the mean of the middle two for an even count); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// startTimer returns a function giving the seconds since the call.
func startTimer() func() float64 {
	t := time.Now()
	return func() float64 { return time.Since(t).Seconds() }
}
