package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/eventlake/eventlake/bench/corpus"
)

// cpuProfile is eventlake's CPU profile of one load of a shape, summarized
// into buckets: each sample goes to the bucket of the first frame, from the
// leaf up, that a bucket claims (so the buckets add up to the total).
type cpuProfile struct {
	File          string      `json:"file"`           // the profile, while the work folder exists
	WallSeconds   float64     `json:"wall_seconds"`   // the profiled load, process start to exit
	CPUSeconds    float64     `json:"cpu_seconds"`    // user+sys of the profiled process
	SampleSeconds float64     `json:"sample_seconds"` // CPU time in the profile's samples
	Buckets       []cpuBucket `json:"buckets"`
	Top           []cpuFunc   `json:"top_cumulative"` // eventlake's own functions with the most cumulative time
}

type cpuBucket struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	Share   float64 `json:"share"`
}

type cpuFunc struct {
	Func    string  `json:"func"`
	Seconds float64 `json:"seconds"`
	Share   float64 `json:"share"`
}

// bucketRule claims a frame whose function name contains any of its
// substrings. Rules are tried in order on each frame, from the leaf up.
type bucketRule struct {
	name string
	subs []string
}

// bucketRules are the buckets. The runtime's allocation and GC
// frames are claimed before anything else: they are the cost of the Go heap,
// whoever allocated.
var bucketRules = []bucketRule{
	{"GC and allocation", []string{"runtime.gcBgMarkWorker", "runtime.gcDrain", "runtime.mallocgc", "runtime.bgsweep", "runtime.bgscavenge", "runtime.gcAssist", "runtime.markroot", "runtime.scanobject", "runtime.growslice", "runtime.newobject", "runtime.makeslice"}},
	{"zstd", []string{"zstd", "Zstd"}},
	{"content hash", []string{"sha256", "zeebo/xxh3", "contentHasher"}},
	{"bloom filters, page bounds, statistics", []string{"bloom", "Bloom", "xxhash", "Bounds", "bounds", "Statistics", "statistics", "columnIndex", "ColumnIndex", "PageIndex"}},
	{"read, inflate", []string{"libdeflate", "deflate", "Deflate", "flate.", "gzip.", "Inflate", "inflate", "os.(*File).Read", "io.ReadFull", "io.ReadAtLeast", "bufio.(*Reader)"}},
	{"split into records", []string{"loader/format.", "split", "Split", "scanRecord", "nextRecord", "csvobject", "encoding/csv", "csvtable"}},
	{"CSV column-type inference", []string{"ColumnTypes", "schema.classify"}},
	{"JSON validate, parse, type", []string{"eventlake/schema.", "typeObserver", "jsonstr", "jsonparser", "encoding/json", "Valid", "valid", "parseTimestamp", "ParseTimestamp"}},
	{"profile mapping", []string{"loader/profile.", "envelope", "Envelope"}},
	{"stage, fsync, commit, publish", []string{"catalog.", "sqlite", "modernc.org", "lake.", "fsync", "Fsync", "Rename", "commit", "Commit",
		"publish", "Publish", "syncAll", "SyncLater", "mkdirAll", "(*Stage)"}},
	{"Parquet encode", []string{"parquet-go", "partitions.", "/parquet"}},
	{syscallBucket, []string{"syscall.", "internal/runtime/syscall", "os.(*File)"}},
	{"scheduler, idle", []string{"runtime.schedule", "runtime.findRunnable", "runtime.futex", "runtime.usleep", "runtime.netpoll", "runtime.stopm", "runtime.mcall", "runtime.park_m", "runtime.notesleep"}},
}

const (
	otherBucket   = "other"
	syscallBucket = "system calls"
)

// classify returns the bucket of a stack (leaf first). System calls are
// named with the bucket of their nearest caller outside the system-call
// frames: "system calls: stage, fsync, commit, publish".
func classify(frames []string) string {
	first := ""
	for _, f := range frames {
		b := ruleFor(f)
		switch {
		case b == "":
		case first == "" && b != syscallBucket:
			return b
		case first == "":
			first = b
		case b != syscallBucket:
			return first + ": " + b
		}
	}
	if first != "" {
		return first
	}
	return otherBucket
}

func ruleFor(frame string) string {
	for _, r := range bucketRules {
		for _, s := range r.subs {
			if strings.Contains(frame, s) {
				return r.name
			}
		}
	}
	return ""
}

// genericShape is the compiler's name for a generic instantiation's shape,
// shortened in the report.
var genericShape = regexp.MustCompile(`go\.shape\.[0-9a-f]{16,}`)

// profileShape loads the shape's corpus once more, with
// EVENTLAKE_CPUPROFILE, verifies it like any run and summarizes the profile.
func profileShape(ctx context.Context, cfg *config, rep *report, sh *shape, spec corpus.Spec, cdir string, st corpus.Stats) (*cpuProfile, error) {
	path := filepath.Join(cfg.work, "cpu-"+sh.Name+".pprof")
	r, err := runTool(ctx, cfg, rep, sh, spec, toolEventlake, cdir, st, 0, 1, []string{"EVENTLAKE_CPUPROFILE=" + path})
	if err != nil {
		return nil, err
	}
	if !r.Verified {
		rep.problem("%s, profiled eventlake load: %s", sh.Name, r.Problem)
	}
	prof, err := readProfile(ctx, cfg.eventlake, path)
	if err != nil {
		return nil, err
	}
	prof.File, prof.WallSeconds, prof.CPUSeconds = path, r.WallSeconds, r.CPUSeconds
	log.Printf("%s profiled load: %.2fs wall, %.2fs CPU, %.2fs sampled; top bucket %s", sh.Name, r.WallSeconds, r.CPUSeconds, prof.SampleSeconds, prof.Buckets[0].Name)
	return prof, nil
}

// readProfile summarizes a CPU profile of bin with `go tool pprof -traces`.
func readProfile(ctx context.Context, bin, path string) (*cpuProfile, error) {
	out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-traces", bin, path).Output()
	if err != nil {
		return nil, fmt.Errorf("go tool pprof -traces %s: %w", path, err)
	}
	prof, err := parseTraces(bytes.NewReader(out))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	prof.File = path
	return prof, nil
}

// summarizeProfile prints the buckets of a profile taken outside lakebench
// (-summarize-profile), so a change can be profiled the same way.
func summarizeProfile(w io.Writer, bin, path string, inputMB float64) error {
	prof, err := readProfile(context.Background(), bin, path)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: %.2f s in samples", path, prof.SampleSeconds)
	if inputMB > 0 {
		fmt.Fprintf(w, " (%.2f per 100 MB of input; the floor is %.1f)", prof.SampleSeconds/inputMB*100, floorCPUPer100MB)
	}
	fmt.Fprint(w, "\n\n")
	renderBuckets(w, prof)
	return nil
}

// ownPrefix marks eventlake's own functions for the cumulative top list.
const ownPrefix = "github.com/eventlake/eventlake/"

// parseTraces reads `go tool pprof -traces` output: blocks separated by
// "-----------+---" lines, each a sample value and its leaf function on the
// first line, the callers below.
func parseTraces(r io.Reader) (*cpuProfile, error) {
	prof := &cpuProfile{}
	buckets := map[string]float64{}
	cum := map[string]float64{}
	var (
		frames []string
		value  float64
		in     bool
	)
	flush := func() {
		if in && len(frames) > 0 {
			prof.SampleSeconds += value
			buckets[classify(frames)] += value
			seen := map[string]bool{}
			for _, f := range frames {
				if strings.HasPrefix(f, ownPrefix) && !seen[f] {
					seen[f] = true
					cum[f] += value
				}
			}
		}
		frames, value, in = frames[:0], 0, false
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "-----------+") {
			flush()
			in = true
			continue
		}
		if !in {
			continue
		}
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "bytes:") || strings.Contains(t, ": ") && !strings.Contains(t, "(") && !strings.Contains(t, ".") {
			continue // labels
		}
		if len(frames) == 0 && value == 0 {
			f := strings.Fields(t)
			if len(f) < 2 {
				continue
			}
			d, err := time.ParseDuration(f[0])
			if err != nil {
				continue
			}
			value = d.Seconds()
			frames = append(frames, strings.Join(f[1:], " "))
			continue
		}
		frames = append(frames, t)
	}
	flush()
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if prof.SampleSeconds == 0 {
		return nil, fmt.Errorf("the profile has no samples")
	}
	for n, v := range buckets {
		prof.Buckets = append(prof.Buckets, cpuBucket{Name: n, Seconds: v, Share: v / prof.SampleSeconds})
	}
	sort.Slice(prof.Buckets, func(i, j int) bool { return prof.Buckets[i].Seconds > prof.Buckets[j].Seconds })
	for f, v := range cum {
		name := genericShape.ReplaceAllString(strings.TrimPrefix(f, ownPrefix), "go.shape")
		prof.Top = append(prof.Top, cpuFunc{Func: name, Seconds: v, Share: v / prof.SampleSeconds})
	}
	sort.Slice(prof.Top, func(i, j int) bool {
		if prof.Top[i].Seconds != prof.Top[j].Seconds {
			return prof.Top[i].Seconds > prof.Top[j].Seconds
		}
		return prof.Top[i].Func < prof.Top[j].Func
	})
	if len(prof.Top) > 12 {
		prof.Top = prof.Top[:12]
	}
	return prof, nil
}

// renderBuckets writes the bucket table and eventlake's top functions.
func renderBuckets(w io.Writer, pr *cpuProfile) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("| bucket | CPU s | share |\n|---|---:|---:|\n")
	for _, b := range pr.Buckets {
		p("| %s | %.2f | %.0f %% |\n", b.Name, b.Seconds, 100*b.Share)
	}
	p("\n")
}

func renderProfile(w io.Writer, s *shapeResult) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	pr := s.Profile
	mb := float64(s.Corpus.RawBytes) / 1e6
	p("CPU profile of one more eventlake load (`EVENTLAKE_CPUPROFILE`): %.2f s wall, %.2f CPU-s (%.2f per 100 MB; the floor is %.1f), %.2f s in samples.\n\n",
		pr.WallSeconds, pr.CPUSeconds, pr.CPUSeconds/mb*100, floorCPUPer100MB, pr.SampleSeconds)
	renderBuckets(w, pr)
	p("<details><summary>eventlake's functions by cumulative time</summary>\n\n| function | CPU s | share |\n|---|---:|---:|\n")
	for _, f := range pr.Top {
		p("| `%s` | %.2f | %.0f %% |\n", f.Func, f.Seconds, 100*f.Share)
	}
	p("\n</details>\n\n")
}
