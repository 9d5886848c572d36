// Package corpus generates deterministic, Pismo-shaped event-export corpora
// for benchmarks: objects of newline-delimited JSON envelopes (event_id,
// domain, event_type, schema_version, org_id, cid, timestamp, data), raw or
// gzipped, laid out the way Pismo delivers them
// (main_stream/YYYY/MM/DD/HH/<name>, no extension).
//
// The same Spec (including Seed) always yields byte-identical files and the
// same Stats, so benchmark runs on different days and machines read the same
// input, and a loader's row counts can be checked exactly against Stats.
//
// Time model: objects are delivered in time order. Object i holds events of
// its own slice of the Days span ("5-minute batches"), except for a fixed 5 %
// of late events whose time falls anywhere earlier in the span, and the
// re-deliveries (DuplicateRate) of events from earlier objects. So every
// object touches its own few partitions plus a scattering of older ones,
// which is what real at-least-once exports look like and what stresses a
// partitioned writer.
package corpus

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Spec describes a corpus. Zero values are invalid except for DuplicateRate,
// Gzip, Seed and Layout; DefaultSpec gives the benchmark corpus.
type Spec struct {
	// Objects is the number of files.
	Objects int `json:"objects"`
	// ObjectBytes is each object's uncompressed size target; objects end on a
	// whole line as close to it as possible (always at least one event).
	ObjectBytes int64 `json:"object_bytes"`
	// Domains is the number of envelope domains ("account", "cards", …).
	Domains int `json:"domains"`
	// EventTypesPerDomain is the number of event types in each domain.
	EventTypesPerDomain int `json:"event_types_per_domain"`
	// Orgs is the number of distinct org_id values (one file holds several).
	Orgs int `json:"orgs"`
	// Days is the event-time spread in days, from 2024-01-01 UTC; with
	// Domains it bounds the partitions (domain × event_date) hit.
	Days int `json:"days"`
	// DuplicateRate is the fraction of lines that re-deliver an event of an
	// earlier object, byte-identical (same event_id, timestamp and data).
	DuplicateRate float64 `json:"duplicate_rate"`
	// Gzip compresses every object (the name keeps no extension, as Pismo's).
	Gzip bool `json:"gzip"`
	// Seed selects the corpus; equal Specs give byte-identical corpora.
	Seed int64 `json:"seed"`
	// Layout is one of Layouts (see layouts.go); "pismo", the default when
	// empty, is
	// main_stream/YYYY/MM/DD/HH/dataplatform-<org>-1-<YYYY-MM-DD-HH-MM-SS>-<uuid>.
	Layout string `json:"layout"`
}

// Stats describes a generated corpus.
type Stats struct {
	// Objects is the number of files written.
	Objects int `json:"objects"`
	// Events is the number of lines (records), re-deliveries included: the
	// row count a loader that keeps every record must produce.
	Events int64 `json:"events"`
	// DistinctEvents is the number of distinct event_ids.
	DistinctEvents int64 `json:"distinct_events"`
	// RawBytes is the uncompressed size of all objects.
	RawBytes int64 `json:"raw_bytes"`
	// CompressedBytes is the size on disk (equal to RawBytes without Gzip).
	CompressedBytes int64 `json:"compressed_bytes"`
	// Partitions is the number of distinct (domain, UTC event_date) pairs.
	Partitions int `json:"partitions"`
	// EventTypes is the number of distinct (domain, event_type) pairs present.
	EventTypes int `json:"event_types"`
	// Domains lists the Spec's domain names in index order.
	Domains []string `json:"domains"`
	// PartitionRows maps "domain=<d>/event_date=<YYYY-MM-DD>" (the partition's
	// path under a Hive-partitioned table) to its row count, re-deliveries
	// included.
	PartitionRows map[string]int64 `json:"partition_rows"`
	// PartitionDistinct maps the same keys to distinct events (what remains
	// after de-duplicating by event_id: a re-delivery lands in the partition
	// of its original).
	PartitionDistinct map[string]int64 `json:"partition_distinct"`
}

// ManifestName is the file Generate writes next to main_stream/ with the Spec
// and Stats. It starts with '.' so loaders that skip hidden files (eventlake's
// local source) ignore it when pointed at the corpus folder itself.
const ManifestName = ".corpus.json"

// DefaultSpec is the corpus of the headline figure: ≈200 MB of
// Pismo-shaped events (≈38 MB gzipped) in 20 objects of 10 MB, 8 domains
// × 10 days = 80 partitions, 1 % re-deliveries.
func DefaultSpec() Spec {
	return Spec{
		Objects:             20,
		ObjectBytes:         10_000_000,
		Domains:             8,
		EventTypesPerDomain: 8,
		Orgs:                3,
		Days:                10,
		DuplicateRate:       0.01,
		Gzip:                true,
		Seed:                1,
		Layout:              "pismo",
	}
}

// Validate reports the first problem with s.
func (s Spec) Validate() error {
	switch {
	case s.Objects < 1 || s.Objects > 10_000_000:
		return fmt.Errorf("corpus spec: objects %d out of range 1..10000000", s.Objects)
	case s.ObjectBytes < 1:
		return fmt.Errorf("corpus spec: object bytes %d must be positive", s.ObjectBytes)
	case s.Domains < 1 || s.Domains > 10_000:
		return fmt.Errorf("corpus spec: domains %d out of range 1..10000", s.Domains)
	case s.EventTypesPerDomain < 1 || s.EventTypesPerDomain > 10_000:
		return fmt.Errorf("corpus spec: event types per domain %d out of range 1..10000", s.EventTypesPerDomain)
	case s.Orgs < 1 || s.Orgs > 100_000:
		return fmt.Errorf("corpus spec: orgs %d out of range 1..100000", s.Orgs)
	case s.Days < 1 || s.Days > 3650:
		return fmt.Errorf("corpus spec: days %d out of range 1..3650", s.Days)
	case !(s.DuplicateRate >= 0 && s.DuplicateRate < 1):
		return fmt.Errorf("corpus spec: duplicate rate %v out of range [0, 1)", s.DuplicateRate)
	case !knownLayout(s.Layout):
		return fmt.Errorf("corpus spec: unknown layout %q (known: %s)", s.Layout, strings.Join(Layouts, ", "))
	}
	return nil
}

// SourceDir is the folder to hand a loader: dir/main_stream for Pismo,
// dir/subscriber, dir itself for fulfillmenttools (day folders), dir/Order
// for JWO.
func (s Spec) SourceDir(dir string) string {
	switch s.Layout {
	case LayoutSubscriber:
		return filepath.Join(dir, "subscriber")
	case LayoutFulfillmenttools:
		return dir
	case LayoutJWO:
		return filepath.Join(dir, "Order")
	}
	return filepath.Join(dir, "main_stream")
}

// Glob matches every object of a corpus generated into dir (for DuckDB's
// read_ndjson, read_json and read_csv).
func (s Spec) Glob(dir string) string {
	switch s.Layout {
	case LayoutSubscriber:
		return filepath.Join(dir, "subscriber", "*", "*")
	case LayoutFulfillmenttools:
		return filepath.Join(dir, "*", "*.json.gz")
	case LayoutJWO:
		return filepath.Join(dir, "Order", "*", "*", "*.csv000")
	}
	return filepath.Join(dir, "main_stream", "*", "*", "*", "*", "*")
}

// DomainName is the name of domain i (0-based): Pismo-like names, with a
// numeric suffix once they run out ("account_2").
func DomainName(i int) string {
	n := domainNames[i%len(domainNames)]
	if i >= len(domainNames) {
		n += "_" + strconv.Itoa(i/len(domainNames)+1)
	}
	return n
}

// epoch is the start of every corpus's event-time span.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// brt is the offset a tenth of the events carry in their timestamp (Pismo is
// Brazilian; the envelope allows any ISO-8601 offset).
var brt = time.FixedZone("-03:00", -3*3600)

const (
	// poolCap bounds the re-delivery pool (lines from earlier objects), so
	// memory stays flat whatever the corpus size.
	poolCap = 4096
	// lateFraction of original events fall anywhere earlier in the span.
	lateFraction = 0.05
)

// streamAbove: objects larger than this are written sequentially (streamed)
// instead of buffered whole for parallel compression. A variable so tests
// can check both paths give the same bytes.
var streamAbove int64 = 32 << 20

// pooled is a line kept for re-delivery and the partition it lands in.
type pooled struct {
	line []byte
	part string
}

// generator draws every byte of a corpus from one seeded PCG stream, in
// object order; nothing else influences the output, hence determinism.
type generator struct {
	spec    Spec
	r       *rand.Rand
	domains []string
	types   [][]eventType // [domain][type]
	typeCum []float64     // cumulative Zipf weights over a domain's types
	orgs    []string
	orgCum  []float64
	window  time.Duration // each object's share of the span
	span    time.Duration

	pool     []pooled // ring of re-deliverable lines from finished objects
	poolNext int
	pending  []pooled // sampled from the object being written
	sampleP  float64  // probability an original line enters pending
	dupP     float64  // probability a line (object ≥ 1) is a re-delivery

	originals int64 // original events written so far (drives type coverage)
	lastCID   []byte
	line      []byte
	pretty    bytes.Buffer
	orderPart string // JWO: the current object's partition (its report date)
	orderSeq  int64
	pw        payloadWriter

	stats     Stats
	typesSeen map[int]bool // domain*EventTypesPerDomain + type
}

func newGenerator(s Spec) *generator {
	g := &generator{
		spec:      s,
		r:         rand.New(rand.NewPCG(uint64(s.Seed), 0x9e3779b97f4a7c15)),
		span:      time.Duration(s.Days) * 24 * time.Hour,
		typesSeen: map[int]bool{},
	}
	g.window = g.span / time.Duration(s.Objects)
	g.stats.PartitionRows = map[string]int64{}
	g.stats.PartitionDistinct = map[string]int64{}
	for d := 0; d < s.Domains; d++ {
		name := DomainName(d)
		if s.Layout == LayoutFulfillmenttools {
			name = ftDomainName(d)
		}
		g.domains = append(g.domains, name)
		// Each type's shape comes from its own stream seeded by the corpus
		// seed and the type's position, so adding domains or types does not
		// reshuffle the others.
		ts := make([]eventType, s.EventTypesPerDomain)
		for j := range ts {
			v, n := len(verbs), len(nouns)
			version := 1 + j/(v*n)
			tname := verbs[(j+d)%v] + "-" + nouns[(j/v+d)%n] + "-" + strconv.Itoa(version)
			tr := rand.New(rand.NewPCG(uint64(s.Seed), hash64(name, tname)))
			ts[j] = newEventType(tr, tname, version)
			if s.Layout == LayoutFulfillmenttools {
				// fulfillmenttools names: "<entity>-<verb>-<noun>_event-v<N>",
				// the domain being the part before the first '-'.
				ts[j].name = name + "-" + verbs[(j+d)%v] + "-" + nouns[(j/v+d)%n] + "_event-v" + strconv.Itoa(version)
			}
		}
		g.types = append(g.types, ts)
	}
	g.stats.Domains = append([]string(nil), g.domains...)
	g.typeCum = zipfCum(s.EventTypesPerDomain)
	for o := 0; o < s.Orgs; o++ {
		b := append([]byte("TN-"), appendUUID(nil, g.r)...)
		g.orgs = append(g.orgs, string(b))
	}
	g.orgCum = zipfCum(s.Orgs)

	perObject := float64(s.ObjectBytes) / 1100 // ≈ events per object
	g.sampleP = 1
	if perObject > poolCap {
		g.sampleP = poolCap / perObject
	}
	// The first object cannot re-deliver anything; scale the others' rate so
	// the corpus-wide fraction is DuplicateRate.
	if s.Objects > 1 {
		g.dupP = min(1, s.DuplicateRate*float64(s.Objects)/float64(s.Objects-1))
	}
	g.pw.r = g.r
	return g
}

func hash64(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// zipfCum returns cumulative weights 1/(k+1): a few types and orgs dominate,
// as in real traffic.
func zipfCum(n int) []float64 {
	c := make([]float64, n)
	t := 0.0
	for k := range c {
		t += 1 / float64(k+1)
		c[k] = t
	}
	return c
}

func (g *generator) pickCum(cum []float64) int {
	x := g.r.Float64() * cum[len(cum)-1]
	return min(sort.SearchFloat64s(cum, x), len(cum)-1)
}

// objectTime is the delivery time of object i: the end of its window.
func (g *generator) objectTime(i int) time.Time {
	return epoch.Add(g.window * time.Duration(i+1)).Add(-time.Millisecond)
}

// objectKey is object i's path under the corpus folder.
func (g *generator) objectKey(i int) string {
	t := g.objectTime(i)
	b := make([]byte, 0, 128)
	switch g.spec.Layout {
	case LayoutSubscriber:
		b = t.AppendFormat(b, "subscriber/2006-01-02/additional-subscriber-2006-01-02-15-04-05-batch-")
		return string(strconv.AppendInt(b, int64(i+1), 10))
	case LayoutFulfillmenttools:
		b = t.AppendFormat(b, "2006-01-02/events-2006-01-02-")
		b = strconv.AppendInt(b, int64(i+1000), 10)
		return string(append(b, ".json.gz"...))
	case LayoutJWO:
		// Order/<report date>/<hour>/ALL<minute>.csv000, plus the object
		// index when windows are shorter than a minute.
		b = t.AppendFormat(b, "Order/2006-01-02/15/ALL04")
		if g.window < time.Minute {
			b = strconv.AppendInt(append(b, '-'), int64(i), 10)
		}
		return string(append(b, ".csv000"...))
	}
	b = t.AppendFormat(b, "main_stream/2006/01/02/15/")
	b = append(b, "dataplatform-"...)
	b = append(b, strings.ToLower(g.orgs[0])...)
	b = append(b, "-1-"...)
	b = t.AppendFormat(b, "2006-01-02-15-04-05-")
	b = appendUUID(b, g.r)
	return string(b)
}

// nextLine builds the next line into g.line and returns its partition key
// and its type's index (domain*EventTypesPerDomain + type), or -1 for a
// re-delivery. It does not update the stats: the caller may discard the line
// when it would overshoot the object's size.
func (g *generator) nextLine(obj int) (part string, typeID int) {
	if obj > 0 && len(g.pool) > 0 && g.dupP > 0 && g.r.Float64() < g.dupP {
		p := g.pool[g.r.IntN(len(g.pool))]
		g.line = append(g.line[:0], p.line...)
		if g.spec.Layout == LayoutJWO {
			return g.orderPart, -1 // a report's rows belong to its report date
		}
		return p.part, -1
	}
	if g.spec.Layout == LayoutJWO {
		return g.orderLine(obj), 0
	}
	s := &g.spec
	var d, j int
	if nt := int64(s.Domains * s.EventTypesPerDomain); g.originals < nt {
		// The first events cycle through every (domain, type), so even a
		// tiny corpus has every view a Spec promises.
		d, j = int(g.originals%int64(s.Domains)), int(g.originals/int64(s.Domains))
	} else {
		d, j = g.r.IntN(s.Domains), g.pickCum(g.typeCum)
	}
	et := &g.types[d][j]

	start := g.window * time.Duration(obj)
	var off time.Duration
	if g.r.Float64() < lateFraction {
		off = time.Duration(g.r.Int64N(int64(start + g.window)))
	} else {
		off = start + time.Duration(g.r.Int64N(int64(g.window)))
	}
	if s.Layout == LayoutFulfillmenttools {
		t := epoch.Add(off.Truncate(time.Microsecond))
		g.ftLine(et, t)
		return partKey(g.domains[d], t), d*s.EventTypesPerDomain + j
	}
	t := epoch.Add(off.Truncate(time.Millisecond))

	b := g.line[:0]
	b = append(b, `{"event_id":"`...)
	b = appendUUID(b, g.r)
	b = append(b, `","domain":"`...)
	b = append(b, g.domains[d]...)
	b = append(b, `","event_type":"`...)
	b = append(b, et.name...)
	b = append(b, `","schema_version":`...)
	b = strconv.AppendInt(b, int64(et.version), 10)
	b = append(b, `,"org_id":"`...)
	b = append(b, g.orgs[g.pickCum(g.orgCum)]...)
	b = append(b, `","cid":`...)
	// Correlated events share a cid (one authorization, several
	// transactions); a few have none.
	switch x := g.r.IntN(100); {
	case x == 0:
		b = append(b, "null"...)
	case x < 40 && len(g.lastCID) > 0:
		b = append(b, '"')
		b = append(b, g.lastCID...)
		b = append(b, '"')
	default:
		g.lastCID = appendUUID(g.lastCID[:0], g.r)
		b = append(b, '"')
		b = append(b, g.lastCID...)
		b = append(b, '"')
	}
	b = append(b, `,"timestamp":"`...)
	if g.r.IntN(10) == 0 {
		b = t.In(brt).AppendFormat(b, "2006-01-02T15:04:05.000-07:00")
	} else {
		b = t.AppendFormat(b, "2006-01-02T15:04:05.000Z")
	}
	b = append(b, `","data":`...)
	g.pw.buf, g.pw.now = b, t
	g.pw.payload(et)
	b = append(g.pw.buf, '}', '\n')
	g.line = b
	if s.Layout == LayoutSubscriber {
		g.prettyLine()
	}

	return partKey(g.domains[d], t), d*s.EventTypesPerDomain + j
}

func partKey(domain string, t time.Time) string {
	b := make([]byte, 0, len(domain)+30)
	b = append(b, "domain="...)
	b = append(b, domain...)
	b = append(b, "/event_date="...)
	b = t.UTC().AppendFormat(b, "2006-01-02")
	return string(b)
}

// writeObject writes object obj's lines to w and returns its raw size.
func (g *generator) writeObject(obj int, w io.Writer) (int64, error) {
	target := g.spec.ObjectBytes
	var n int64
	if g.spec.Layout == LayoutJWO {
		g.orderPart = "report_date=" + g.objectTime(obj).Format("2006-01-02")
		if _, err := w.Write(orderHeader); err != nil {
			return n, err
		}
		n += int64(len(orderHeader))
	}
	for rows := 0; ; rows++ {
		part, typeID := g.nextLine(obj)
		l := int64(len(g.line))
		if rows > 0 && n+l > target && n+l-target > target-n {
			break // this line would overshoot more than stopping short
		}
		if _, err := w.Write(g.line); err != nil {
			return n, err
		}
		n += l
		g.stats.Events++
		g.stats.PartitionRows[part]++
		if typeID >= 0 {
			g.typesSeen[typeID] = true
			g.stats.DistinctEvents++
			g.stats.PartitionDistinct[part]++
			g.originals++
			if len(g.pending) < poolCap && g.r.Float64() < g.sampleP {
				g.pending = append(g.pending, pooled{line: bytes.Clone(g.line), part: part})
			}
		}
		if n >= target {
			break
		}
	}
	// Lines of this object become re-deliverable from the next one on.
	for _, p := range g.pending {
		if len(g.pool) < poolCap {
			g.pool = append(g.pool, p)
		} else {
			g.pool[g.poolNext] = p
			g.poolNext = (g.poolNext + 1) % poolCap
		}
	}
	g.pending = g.pending[:0]
	g.stats.RawBytes += n
	return n, nil
}

// Generate writes the corpus s into dir, which must be missing or empty, and
// a manifest (ManifestName). Objects are built in order by one generator and
// compressed by up to GOMAXPROCS workers; memory is bounded by a few objects
// (objects over 32 MiB are streamed instead).
func Generate(dir string, s Spec) (Stats, error) {
	if err := s.Validate(); err != nil {
		return Stats{}, err
	}
	if s.Layout == "" {
		s.Layout = "pismo"
	}
	if err := ensureEmptyDir(dir); err != nil {
		return Stats{}, err
	}
	g := newGenerator(s)
	var err error
	if s.ObjectBytes > streamAbove {
		err = g.generateStreaming(dir)
	} else {
		err = g.generateParallel(dir, runtime.GOMAXPROCS(0))
	}
	if err != nil {
		return Stats{}, err
	}
	st := g.stats
	st.Objects = s.Objects
	st.Partitions = len(st.PartitionRows)
	st.EventTypes = len(g.typesSeen)
	if !s.Gzip {
		st.CompressedBytes = st.RawBytes
	}
	if err := writeManifest(dir, s, st); err != nil {
		return Stats{}, err
	}
	return st, nil
}

func ensureEmptyDir(dir string) error {
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("corpus: create %s: %w", dir, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("corpus: %s: %w", dir, err)
	case len(ents) > 0:
		return fmt.Errorf("corpus: folder %s is not empty (%s, …): generate into a new folder", dir, ents[0].Name())
	}
	return nil
}

// objectFile creates the file for key under dir, creating parent folders.
func objectFile(dir, key string, made map[string]bool) (*os.File, error) {
	p := filepath.Join(dir, filepath.FromSlash(key))
	if d := filepath.Dir(p); !made[d] {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("corpus: create %s: %w", d, err)
		}
		made[d] = true
	}
	f, err := os.Create(p)
	if err != nil {
		return nil, fmt.Errorf("corpus: create object: %w", err)
	}
	return f, nil
}

// countingWriter counts bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeBody writes raw (or streams it from fill) into f, gzipped when asked,
// and returns the bytes that reached the file.
func writeBody(f *os.File, gz bool, fill func(io.Writer) error) (int64, error) {
	cw := &countingWriter{w: f}
	bw := bufio.NewWriterSize(cw, 1<<20)
	var w io.Writer = bw
	var zw *gzip.Writer
	if gz {
		// Default level, no name and zero mtime in the header: deterministic.
		zw = gzip.NewWriter(bw)
		w = zw
	}
	if err := fill(w); err != nil {
		return 0, err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return 0, err
		}
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	return cw.n, nil
}

func (g *generator) generateStreaming(dir string) error {
	made := map[string]bool{}
	for i := 0; i < g.spec.Objects; i++ {
		key := g.objectKey(i)
		f, err := objectFile(dir, key, made)
		if err != nil {
			return err
		}
		n, err := writeBody(f, g.spec.Gzip, func(w io.Writer) error {
			_, err := g.writeObject(i, w)
			return err
		})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("corpus: write %s: %w", key, err)
		}
		g.stats.CompressedBytes += n
	}
	return nil
}

// generateParallel builds each object in memory (the generator is
// sequential: its random stream defines the bytes) and hands it to workers
// that compress and write it; buffers are recycled, so at most workers+1
// objects are in memory.
func (g *generator) generateParallel(dir string, workers int) error {
	type job struct {
		key string
		buf *bytes.Buffer
	}
	jobs := make(chan job)
	free := make(chan *bytes.Buffer, workers+1)
	for i := 0; i < workers+1; i++ {
		free <- new(bytes.Buffer)
	}
	var (
		mu         sync.Mutex
		firstErr   error
		compressed int64
		made       = map[string]bool{}
		wg         sync.WaitGroup
	)
	failed := make(chan struct{})
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
			close(failed)
		}
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				mu.Lock()
				f, err := objectFile(dir, j.key, made)
				mu.Unlock()
				if err != nil {
					fail(err)
					free <- j.buf
					continue
				}
				n, err := writeBody(f, g.spec.Gzip, func(w io.Writer) error {
					_, err := w.Write(j.buf.Bytes())
					return err
				})
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				free <- j.buf
				if err != nil {
					fail(fmt.Errorf("corpus: write %s: %w", j.key, err))
					continue
				}
				mu.Lock()
				compressed += n
				mu.Unlock()
			}
		}()
	}
loop:
	for i := 0; i < g.spec.Objects; i++ {
		var buf *bytes.Buffer
		select {
		case buf = <-free:
		case <-failed:
			break loop
		}
		buf.Reset()
		key := g.objectKey(i)
		g.writeObject(i, buf) // a bytes.Buffer never fails
		select {
		case jobs <- job{key: key, buf: buf}:
		case <-failed:
			break loop
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	g.stats.CompressedBytes = compressed
	return nil
}

type manifest struct {
	Spec  Spec  `json:"spec"`
	Stats Stats `json:"stats"`
}

func writeManifest(dir string, s Spec, st Stats) error {
	b, err := json.MarshalIndent(manifest{Spec: s, Stats: st}, "", "  ")
	if err != nil {
		return fmt.Errorf("corpus: manifest: %w", err)
	}
	p := filepath.Join(dir, ManifestName)
	if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("corpus: write manifest %s: %w", p, err)
	}
	return nil
}

// ReadManifest returns the Spec and Stats of a corpus Generate wrote into dir.
func ReadManifest(dir string) (Spec, Stats, error) {
	p := filepath.Join(dir, ManifestName)
	b, err := os.ReadFile(p)
	if err != nil {
		return Spec{}, Stats{}, fmt.Errorf("corpus: read manifest: %w", err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Spec{}, Stats{}, fmt.Errorf("corpus: manifest %s: %w", p, err)
	}
	if err := m.Spec.Validate(); err != nil {
		return Spec{}, Stats{}, fmt.Errorf("corpus: manifest %s: %w", p, err)
	}
	if m.Stats.PartitionRows == nil || m.Stats.PartitionDistinct == nil {
		return Spec{}, Stats{}, fmt.Errorf("corpus: manifest %s lacks the per-partition counts: regenerate the corpus", p)
	}
	return m.Spec, m.Stats, nil
}
