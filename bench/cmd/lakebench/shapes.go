package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/eventlake/eventlake/bench/corpus"
)

// shape is one input shape of the ingest comparison: how its corpus is made
// from the flags, how eventlake loads it and which DuckDB statement
// (bench/cmd/duckcopy -shape) is its equivalent. Each shape is defined in
// its own shape_*.go file and listed in shapes.
type shape struct {
	Name  string // the -shape value
	Title string // one line for the report
	// Spec derives the shape's corpus from the flags (cfg.spec is the
	// gzipped Pismo corpus the corpus flags describe).
	Spec func(cfg *config) corpus.Spec
	// Profile is eventlake load's --profile ("": auto, the default).
	Profile string
	// Duck is duckcopy's -shape.
	Duck string
	// Table is the lake folder the rows land in: "events", or "orders" for
	// JWO.
	Table string
	// Backfill: a wide load over thousands of day partitions, judged by
	// targetBackfill and by files per partition instead of targetThroughput.
	Backfill bool
}

// shapes is every shape, in the order `make bench` runs them.
var shapes = []shape{
	pismoRawShape(),
	pismoGzShape(),
	subscriberShape(),
	fulfillmenttoolsShape(),
	jwoShape(),
	backfillShape(),
}

func shapeNames() []string {
	var n []string
	for _, s := range shapes {
		n = append(n, s.Name)
	}
	return n
}

// selectShapes resolves -shape: "all", or a comma-separated list of names.
func selectShapes(arg string) ([]shape, error) {
	if arg == "" || arg == "all" {
		return shapes, nil
	}
	var out []shape
	for _, n := range strings.Split(arg, ",") {
		n = strings.TrimSpace(n)
		found := false
		for _, s := range shapes {
			if s.Name == n {
				out, found = append(out, s), true
			}
		}
		if !found {
			return nil, fmt.Errorf("-shape %q: unknown (known: all, %s)", n, strings.Join(shapeNames(), ", "))
		}
	}
	return out, nil
}

// scaled multiplies a shape's object count by -scale (at least one object).
func scaled(cfg *config, objects int) int {
	return max(1, int(float64(objects)*cfg.scale+0.5))
}

// shapeResult is one shape's comparison: its corpus, every run, the per-tool
// summaries, the checks and eventlake's CPU profile.
type shapeResult struct {
	Shape    string        `json:"shape"`
	Title    string        `json:"title"`
	Spec     corpus.Spec   `json:"spec"`
	Corpus   corpusInfo    `json:"corpus"`
	Runs     []runResult   `json:"runs"`
	Tools    []toolSummary `json:"tools,omitempty"`
	Checks   []check       `json:"checks"`
	Profile  *cpuProfile   `json:"cpu_profile,omitempty"`
	Backfill bool          `json:"backfill,omitempty"`
}

// corpusFor is where a shape's corpus lives: under -corpus (kept) or in the
// work folder.
func corpusFor(cfg *config, name string) string {
	if cfg.corpusDir != "" {
		return filepath.Join(cfg.corpusDir, name)
	}
	return filepath.Join(cfg.work, "corpus-"+name)
}

// runShapes is the ingest comparison over every selected shape.
func runShapes(ctx context.Context, cfg *config, rep *report) error {
	if _, err := buildTool(ctx, cfg, &cfg.duckcopy, "duckcopy"); err != nil {
		return err
	}
	for i := range cfg.shapes {
		sh := &cfg.shapes[i]
		if err := runShape(ctx, cfg, rep, sh); err != nil {
			if ctx.Err() != nil {
				return err
			}
			// One broken shape does not hide the others.
			rep.problem("shape %s: %v", sh.Name, err)
		}
	}
	return nil
}

// runShape: rounds × (eventlake, DuckDB COPY) on one shape's corpus,
// alternating which runs first, then one profiled eventlake load.
func runShape(ctx context.Context, cfg *config, rep *report, sh *shape) error {
	spec := sh.Spec(cfg)
	if err := spec.Validate(); err != nil {
		return err
	}
	cdir := corpusFor(cfg, sh.Name)
	log.Printf("shape %s: %s", sh.Name, sh.Title)
	st, gen, err := ensureCorpus(cdir, spec)
	if err != nil {
		return err
	}
	res := &shapeResult{Shape: sh.Name, Title: sh.Title, Spec: spec, Corpus: newCorpusInfo(st, gen), Backfill: sh.Backfill, Checks: []check{}}
	rep.Shapes = append(rep.Shapes, res)
	if sh.Name == shapePismoGz {
		rep.corpusDir, rep.corpusStats = cdir, st // the analyst query's corpus
	} else if cfg.corpusDir == "" && !cfg.keep {
		defer os.RemoveAll(cdir)
	}
	// Both tools read the corpus from the page cache, the first run too.
	if err := warmCache(cdir); err != nil {
		return err
	}
	tools := []string{toolEventlake, toolDuckDB}
	if rep.EventlakeMissing {
		tools = []string{toolDuckDB}
	}
	for round := 1; round <= cfg.rounds; round++ {
		order := tools
		if round%2 == 0 && len(tools) == 2 {
			order = []string{tools[1], tools[0]}
		}
		for pos, tool := range order {
			r, err := runTool(ctx, cfg, rep, sh, spec, tool, cdir, st, round, pos+1, nil)
			if err != nil {
				return err
			}
			log.Printf("%s round %d %-11s %6.2fs wall %6.2fs CPU %6.0f MiB RSS %7.1f MB out %5d files %s",
				sh.Name, round, tool, r.WallSeconds, r.CPUSeconds, r.PeakRSSMiB, float64(r.OutputBytes)/1e6, r.Files, okText(r))
			if !r.Verified {
				rep.problem("%s, %s, round %d: %s", sh.Name, tool, round, r.Problem)
			}
			res.Runs = append(res.Runs, r)
		}
	}
	res.summarize()
	if cfg.profile && !rep.EventlakeMissing {
		prof, err := profileShape(ctx, cfg, rep, sh, spec, cdir, st)
		if err != nil {
			rep.problem("shape %s: CPU profile: %v", sh.Name, err)
		}
		res.Profile = prof
	}
	return nil
}
