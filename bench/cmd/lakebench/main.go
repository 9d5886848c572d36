// Command lakebench benchmarks `eventlake load` against DuckDB's own
// partitioned COPY (bench/cmd/duckcopy) on the same generated corpus, in the
// same run, alternating which goes first, over several rounds, and checks the
// issue's targets — for every input shape the vendors deliver (shapes.go:
// Pismo raw and gzipped NDJSON, pretty-printed subscriber files,
// fulfillmenttools day folders, JWO CSV, and a wide backfill), each with a
// pprof CPU breakdown of eventlake's load. `make bench` runs it after
// building bin/eventlake.
//
// Every figure comes from the OS's accounting of each finished child
// process (wall clock around the child; user+sys CPU and peak RSS from
// wait4's rusage), so neither tool measures itself. Row counts are verified
// exactly: the rows in the Parquet footers of each partition must equal what
// the corpus generator wrote there.
//
// Optional sub-benchmarks (-rss, -noop, -shell, -query, or -all) cover the
// issue's other targets: peak RSS flatness across input sizes and partition
// counts, a no-op re-run over 10,000 catalogued objects, shell start-up with
// 300 event-type views, and an analyst query over a compacted lake against a
// native DuckDB table (bench/cmd/duckquery).
//
// Output is Markdown (paste into bench/README.md) or, with -json, JSON.
// Progress goes to stderr. The exit status is 1 when a run failed or a row
// count did not verify; with -strict also when a target is missed.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/eventlake/eventlake/bench/corpus"
	"github.com/eventlake/eventlake/internal/fsync"
)

// config is everything the flags set.
type config struct {
	spec      corpus.Spec
	corpusDir string // reuse (or keep) the main corpus here

	rounds    int
	idle      time.Duration // -idle: pause before each timed run of the comparison
	workers   int           // eventlake --workers (0: its default)
	threads   int           // DuckDB threads
	zstdLevel int           // eventlake --zstd-level (0: its default)

	eventlake string
	duckcopy  string // prebuilt binaries; empty: built into the work folder
	duckquery string
	moduleDir string // where `go build ./bench/cmd/...` runs

	work string
	keep bool

	jsonOut bool
	strict  bool

	main, rss, noop, shell, query, full bool
	bucket                              bool  // -bucket sub-benchmark
	bucketObjects                       []int // its catalog sizes for the commit cost

	shapes  []shape // the ingest comparison's shapes (-shape)
	scale   float64 // multiplies every shape's object count
	profile bool    // one extra, profiled eventlake load per shape

	summarize string  // -summarize-profile: only summarize this CPU profile
	inputMB   float64 // its load's input, for CPU-s per 100 MB

	noopObjects  int
	queryRuns    int
	analystQuery string // {domain} is replaced by the corpus's first domain
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("lakebench: ")
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		log.Print(err)
		os.Exit(2)
	}
	if cfg.summarize != "" {
		// Only summarize a CPU profile taken elsewhere.
		if err := summarizeProfile(os.Stdout, cfg.eventlake, cfg.summarize, cfg.inputMB); err != nil {
			log.Print(err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, cfg)
	if rep != nil {
		rep.Machine.LoadAvgEnd = loadAvg()
		if cfg.jsonOut {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			if werr := enc.Encode(rep); werr != nil {
				log.Print(werr)
			}
		} else {
			renderMarkdown(os.Stdout, rep)
		}
	}
	switch {
	case err != nil:
		log.Print(err)
		os.Exit(1)
	case len(rep.Problems) > 0:
		log.Printf("%d problem(s); see the report", len(rep.Problems))
		os.Exit(1)
	case cfg.strict && rep.missedTarget():
		log.Print("a target was missed (-strict)")
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	d := corpus.DefaultSpec()
	cfg := &config{spec: d}
	fs := flag.NewFlagSet("lakebench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	objectMB := fs.Float64("object-mb", float64(d.ObjectBytes)/1e6, "corpus: uncompressed MB (10^6 bytes) per object")
	fs.IntVar(&cfg.spec.Objects, "objects", d.Objects, "corpus: number of objects")
	fs.IntVar(&cfg.spec.Domains, "domains", d.Domains, "corpus: domains")
	fs.IntVar(&cfg.spec.EventTypesPerDomain, "event-types", d.EventTypesPerDomain, "corpus: event types per domain")
	fs.IntVar(&cfg.spec.Orgs, "orgs", d.Orgs, "corpus: org_ids")
	fs.IntVar(&cfg.spec.Days, "days", d.Days, "corpus: days of event time (partitions = domains × days)")
	fs.Float64Var(&cfg.spec.DuplicateRate, "dup-rate", d.DuplicateRate, "corpus: fraction of lines re-delivering an earlier event")
	fs.BoolVar(&cfg.spec.Gzip, "gzip", d.Gzip, "corpus: gzip the objects")
	fs.Int64Var(&cfg.spec.Seed, "seed", d.Seed, "corpus: seed")
	fs.StringVar(&cfg.corpusDir, "corpus", "", "corpus folder: reused when it holds a corpus of the same spec, generated (and kept) when missing or empty")

	fs.IntVar(&cfg.rounds, "rounds", 3, "rounds of each shape's comparison (each runs both tools, alternating order)")
	fs.DurationVar(&cfg.idle, "idle", 0, "pause this long before each timed run of the comparison, so that a virtual machine hands the memory freed by the last run back to its host and the next run starts as on a runner that was idle (0: back to back)")
	shapeArg := fs.String("shape", "all", "shapes of the ingest comparison: all, or a comma-separated list of "+strings.Join(shapeNames(), ", "))
	fs.Float64Var(&cfg.scale, "scale", 1, "multiply every shape's object count (input size) by this")
	fs.BoolVar(&cfg.profile, "profile", true, "per shape, one more eventlake load with EVENTLAKE_CPUPROFILE, summarized by bucket")
	fs.StringVar(&cfg.summarize, "summarize-profile", "", "only print the bucket summary of this CPU profile (EVENTLAKE_CPUPROFILE of a load by -eventlake) and exit")
	fs.Float64Var(&cfg.inputMB, "input-mb", 0, "with -summarize-profile: the load's uncompressed input MB, for CPU-s per 100 MB")
	fs.IntVar(&cfg.workers, "workers", 0, "eventlake load --workers (0: eventlake's default, one per CPU)")
	fs.IntVar(&cfg.threads, "threads", runtime.NumCPU(), "DuckDB threads")
	fs.IntVar(&cfg.zstdLevel, "zstd-level", 0, "eventlake load --zstd-level (0: eventlake's default)")

	fs.StringVar(&cfg.eventlake, "eventlake", "bin/eventlake", "eventlake binary")
	fs.StringVar(&cfg.duckcopy, "duckcopy", "", "prebuilt bench/cmd/duckcopy binary (default: built into the work folder)")
	fs.StringVar(&cfg.duckquery, "duckquery", "", "prebuilt bench/cmd/duckquery binary (default: built when -query runs)")
	fs.StringVar(&cfg.work, "work", "", "work folder for corpora, lakes and binaries (default: a new temporary folder)")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the work folder")

	fs.BoolVar(&cfg.jsonOut, "json", false, "print the report as JSON instead of Markdown")
	fs.BoolVar(&cfg.strict, "strict", false, "exit 1 when a target is missed")

	fs.BoolVar(&cfg.main, "main", true, "run the ingest comparison (eventlake vs DuckDB COPY, every -shape)")
	fs.BoolVar(&cfg.rss, "rss", false, "sub-benchmark: eventlake peak RSS on 200 MB vs 1 GB input and 10 vs 2,000 partitions")
	fs.BoolVar(&cfg.full, "full", false, "with -rss: also 2 GB of input")
	fs.BoolVar(&cfg.noop, "noop", false, "sub-benchmark: re-run with nothing new over -noop-objects catalogued objects")
	fs.BoolVar(&cfg.shell, "shell", false, "sub-benchmark: `eventlake sql` start-up with 300 event-type views")
	fs.BoolVar(&cfg.query, "query", false, "sub-benchmark: analyst query over a compacted lake vs a DuckDB table")
	fs.BoolVar(&cfg.bucket, "bucket", true, "sub-benchmark: a load into a bucket lake (fake S3 on loopback) vs a local lake, and the commit cost at -bucket-objects")
	bucketObjects := fs.String("bucket-objects", "100000,1000000", "with -bucket: catalog sizes (objects) at which the commit cost is measured, comma-separated")
	all := fs.Bool("all", false, "run every sub-benchmark")
	fs.IntVar(&cfg.noopObjects, "noop-objects", 10_000, "objects in the catalog for -noop")
	fs.IntVar(&cfg.queryRuns, "query-runs", 5, "timed runs per side for -shell and -query")
	fs.StringVar(&cfg.analystQuery, "analyst-query",
		"select org_id, event_date, count(*) as n from events where domain = '{domain}' group by all order by all",
		"query for -query; {domain} becomes the corpus's first domain; the last column should be numeric")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (all settings are flags; see -h)", fs.Arg(0))
	}
	if *all {
		cfg.rss, cfg.noop, cfg.shell, cfg.query, cfg.bucket = true, true, true, true, true
	}
	for _, f := range strings.Split(*bucketObjects, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-bucket-objects %q: want positive counts", *bucketObjects)
		}
		cfg.bucketObjects = append(cfg.bucketObjects, n)
	}
	cfg.spec.ObjectBytes = int64(*objectMB * 1e6)
	cfg.spec.Layout = corpus.LayoutPismo
	if err := cfg.spec.Validate(); err != nil {
		return nil, err
	}
	var err error
	if cfg.shapes, err = selectShapes(*shapeArg); err != nil {
		return nil, err
	}
	switch {
	case !(cfg.scale > 0):
		return nil, fmt.Errorf("-scale %v: want a positive factor", cfg.scale)
	case cfg.rounds < 1:
		return nil, fmt.Errorf("-rounds %d: want at least 1", cfg.rounds)
	case cfg.threads < 1:
		return nil, fmt.Errorf("-threads %d: want at least 1", cfg.threads)
	case cfg.workers < 0 || cfg.zstdLevel < 0:
		return nil, errors.New("-workers and -zstd-level must not be negative")
	case cfg.noopObjects < 1 || cfg.queryRuns < 1:
		return nil, errors.New("-noop-objects and -query-runs must be at least 1")
	case !cfg.main && !cfg.rss && !cfg.noop && !cfg.shell && !cfg.query && !cfg.bucket:
		return nil, errors.New("nothing to run: -main=false and no sub-benchmark selected")
	}
	return cfg, nil
}

// run does everything the config asks and returns the report; the report is
// returned (partially filled) even with an error.
func run(ctx context.Context, cfg *config) (*report, error) {
	rep := newReport(cfg)
	if err := prepare(ctx, cfg, rep); err != nil {
		return rep, err
	}
	if !cfg.keep {
		defer os.RemoveAll(cfg.work)
	}
	if cfg.main {
		if err := runShapes(ctx, cfg, rep); err != nil {
			return rep, err
		}
	}
	subs := []struct {
		on   bool
		name string
		run  func(context.Context, *config, *report) error
	}{
		{cfg.rss, "peak RSS across input sizes and partitions", runRSS},
		{cfg.noop, "re-run with nothing new", runNoop},
		{cfg.shell, "shell start", runShell},
		{cfg.query, "analyst query", runQuery},
		{cfg.bucket, "bucket lake", runBucket},
	}
	for _, s := range subs {
		if !s.on {
			continue
		}
		if err := s.run(ctx, cfg, rep); err != nil {
			if ctx.Err() != nil {
				return rep, err
			}
			// One broken sub-benchmark does not hide the others.
			rep.problem("%v", err)
			rep.Checks = append(rep.Checks, check{Figure: s.name, Eventlake: "error (see Problems)", Status: statusError})
		}
	}
	if cfg.idle > 0 {
		rep.note("-idle %s: every timed run of the comparison started after that long with nothing running (a cold start on a virtual machine that hands freed memory back to its host)", cfg.idle)
	}
	if cfg.keep {
		rep.note("work folder kept: %s", cfg.work)
	}
	return rep, nil
}

// prepare resolves paths, makes the work folder, checks for eventlake and
// records the machine.
func prepare(ctx context.Context, cfg *config, rep *report) error {
	var err error
	if cfg.work == "" {
		if cfg.work, err = os.MkdirTemp("", "lakebench-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(cfg.work, 0o755); err != nil {
		return err
	}
	if cfg.work, err = filepath.Abs(cfg.work); err != nil {
		return err
	}
	if cfg.corpusDir != "" {
		if cfg.corpusDir, err = filepath.Abs(cfg.corpusDir); err != nil {
			return err
		}
	}
	if cfg.eventlake, err = filepath.Abs(cfg.eventlake); err != nil {
		return err
	}
	if _, err := os.Stat(cfg.eventlake); err != nil {
		rep.EventlakeMissing = true
		rep.note("eventlake binary %s not found (build it with `make build`): eventlake's figures are pending", cfg.eventlake)
	} else if cfg.eventlake, err = copyBinary(cfg, cfg.eventlake, "eventlake"); err != nil {
		return err
	} else if m, err := runChild(ctx, "", cfg.eventlake, "--version"); err == nil {
		// "eventlake VERSION" and a line per codec: one line for the report.
		var parts []string
		for _, l := range strings.Split(strings.TrimSpace(string(m.Stdout)), "\n") {
			parts = append(parts, strings.Join(strings.Fields(l), " "))
		}
		rep.Machine.Eventlake = strings.Join(parts, "; ")
	}
	if out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output(); err == nil {
		if mod := strings.TrimSpace(string(out)); mod != "" && mod != os.DevNull {
			cfg.moduleDir = filepath.Dir(mod)
		}
	}
	return nil
}

// buildTool returns the path of a bench/cmd tool, building it into the work
// folder unless a prebuilt binary was given. Building links DuckDB (cgo).
func buildTool(ctx context.Context, cfg *config, given *string, name string) (string, error) {
	if *given != "" {
		p, err := filepath.Abs(*given)
		if err != nil {
			return "", err
		}
		if p, err = copyBinary(cfg, p, name); err != nil {
			return "", err
		}
		*given = p
		return p, nil
	}
	if cfg.moduleDir == "" {
		return "", fmt.Errorf("cannot build %s: run lakebench inside the eventlake module or pass -%s", name, name)
	}
	out := filepath.Join(cfg.work, "bin", name)
	log.Printf("building %s (links DuckDB; cached after the first time)", name)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./bench/cmd/"+name)
	cmd.Dir = cfg.moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./bench/cmd/%s: %v\n%s", name, err, b)
	}
	out, err := copyBinary(cfg, out, name)
	if err != nil {
		return "", err
	}
	*given = out
	return out, nil
}

// copyBinary copies a binary into the work folder's run/ and syncs it; the
// comparisons run the copies. A binary run right after the linker wrote it
// maps ≈ 35 MiB more of its file than a copy of it (its page cache is laid
// out differently), which read as that much more peak RSS; a copy is also
// what a user runs (an installed binary), and both tools get the same.
func copyBinary(cfg *config, src, name string) (string, error) {
	dir := filepath.Join(cfg.work, "run")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	dst := filepath.Join(dir, name)
	if err := fsync.WriteAtomic(dst, 0o755, true, func(f *os.File) error {
		_, err := io.Copy(f, in)
		return err
	}); err != nil {
		return "", fmt.Errorf("copy %s into the work folder: %w", src, err)
	}
	return dst, nil
}

// ensureCorpus generates s into dir, or reuses the corpus already there when
// its manifest holds the same spec.
func ensureCorpus(dir string, s corpus.Spec) (corpus.Stats, float64, error) {
	if have, st, err := corpus.ReadManifest(dir); err == nil {
		if have != s {
			return st, 0, fmt.Errorf("corpus %s was generated with a different spec (%+v); use another -corpus folder", dir, have)
		}
		log.Printf("reusing corpus %s", dir)
		return st, 0, nil
	}
	log.Printf("generating %d × %.1f MB objects into %s", s.Objects, float64(s.ObjectBytes)/1e6, dir)
	t := startTimer()
	st, err := corpus.Generate(dir, s)
	if err != nil {
		return st, 0, err
	}
	return st, t(), nil
}
