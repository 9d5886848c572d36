package corpus

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

// small is a fast Spec for tests: 8 objects of 40 kB.
func small() Spec {
	return Spec{
		Objects:             8,
		ObjectBytes:         40_000,
		Domains:             3,
		EventTypesPerDomain: 4,
		Orgs:                2,
		Days:                3,
		DuplicateRate:       0.05,
		Gzip:                true,
		Seed:                42,
		Layout:              "pismo",
	}
}

// object is one generated file, decompressed.
type object struct {
	key  string // path relative to the corpus folder, '/'-separated
	disk int64  // size on disk
	raw  []byte
}

// readCorpus returns the objects of a corpus in key order.
func readCorpus(t *testing.T, dir string, s Spec) []object {
	t.Helper()
	paths, err := filepath.Glob(s.Glob(dir))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	var objs []object
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		o := object{disk: int64(len(b)), raw: b}
		rel, _ := filepath.Rel(dir, p)
		o.key = filepath.ToSlash(rel)
		if s.Gzip {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s: %v", o.key, err)
			}
			if o.raw, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s: %v", o.key, err)
			}
		}
		objs = append(objs, o)
	}
	return objs
}

func generate(t *testing.T, s Spec) (string, Stats) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "corpus")
	st, err := Generate(dir, s)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return dir, st
}

func lines(raw []byte) [][]byte {
	ls := bytes.SplitAfter(raw, []byte("\n"))
	if len(ls) > 0 && len(ls[len(ls)-1]) == 0 {
		ls = ls[:len(ls)-1]
	}
	return ls
}

func TestGenerateIsDeterministic(t *testing.T) {
	s := small()
	dirA, stA := generate(t, s)
	dirB, stB := generate(t, s)
	if !reflect.DeepEqual(stA, stB) {
		t.Errorf("stats differ between runs:\n%+v\n%+v", stA, stB)
	}
	a, b := readCorpus(t, dirA, s), readCorpus(t, dirB, s)
	if len(a) != s.Objects || len(b) != s.Objects {
		t.Fatalf("got %d and %d objects, want %d", len(a), len(b), s.Objects)
	}
	for i := range a {
		if a[i].key != b[i].key {
			t.Errorf("object %d: key %q vs %q", i, a[i].key, b[i].key)
		}
		fa, _ := os.ReadFile(filepath.Join(dirA, a[i].key))
		fb, _ := os.ReadFile(filepath.Join(dirB, b[i].key))
		if !bytes.Equal(fa, fb) {
			t.Errorf("object %s: bytes differ between runs", a[i].key)
		}
	}

	s.Seed++
	dirC, _ := generate(t, s)
	c := readCorpus(t, dirC, s)
	if bytes.Equal(a[0].raw, c[0].raw) {
		t.Error("a different seed gave the same first object")
	}
}

func TestStreamingAndParallelWriteTheSameBytes(t *testing.T) {
	s := small()
	s.Objects = 3
	dirA, stA := generate(t, s) // parallel: objects are below streamAbove

	old := streamAbove
	streamAbove = 1 // every object is streamed
	defer func() { streamAbove = old }()
	dirB, stB := generate(t, s)

	if !reflect.DeepEqual(stA, stB) {
		t.Errorf("stats differ:\nparallel  %+v\nstreaming %+v", stA, stB)
	}
	a, b := readCorpus(t, dirA, s), readCorpus(t, dirB, s)
	if len(a) != len(b) {
		t.Fatalf("got %d vs %d objects", len(a), len(b))
	}
	for i := range a {
		fa, _ := os.ReadFile(filepath.Join(dirA, a[i].key))
		fb, _ := os.ReadFile(filepath.Join(dirB, b[i].key))
		if a[i].key != b[i].key || !bytes.Equal(fa, fb) {
			t.Errorf("object %d (%s vs %s) differs between parallel and streaming writes", i, a[i].key, b[i].key)
		}
	}
}

func TestObjectSizesNearTarget(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run("gzip="+strconv.FormatBool(gz), func(t *testing.T) {
			s := small()
			s.Gzip = gz
			s.ObjectBytes = 60_000
			dir, st := generate(t, s)
			objs := readCorpus(t, dir, s)
			if got, want := len(objs), s.Objects; got != want || st.Objects != want {
				t.Fatalf("objects on disk %d, stats %d, want %d", got, st.Objects, want)
			}
			var raw, disk int64
			for _, o := range objs {
				n := int64(len(o.raw))
				if lo, hi := s.ObjectBytes*95/100, s.ObjectBytes*105/100; n < lo || n > hi {
					t.Errorf("%s: %d bytes uncompressed, want %d ±5%%", o.key, n, s.ObjectBytes)
				}
				if !bytes.HasSuffix(o.raw, []byte("\n")) {
					t.Errorf("%s does not end on a whole line", o.key)
				}
				raw += n
				disk += o.disk
			}
			if st.RawBytes != raw {
				t.Errorf("RawBytes = %d, want %d (sum of objects)", st.RawBytes, raw)
			}
			if st.CompressedBytes != disk {
				t.Errorf("CompressedBytes = %d, want %d (sum of files)", st.CompressedBytes, disk)
			}
			if !gz && st.CompressedBytes != st.RawBytes {
				t.Errorf("uncompressed corpus: CompressedBytes %d != RawBytes %d", st.CompressedBytes, st.RawBytes)
			}
		})
	}
}

func TestTinyObjectsHoldOneEvent(t *testing.T) {
	s := small()
	s.Objects = 5
	s.ObjectBytes = 1 // smaller than any event: each object still gets one
	dir, st := generate(t, s)
	if st.Events != 5 {
		t.Errorf("Events = %d, want 5 (one per object)", st.Events)
	}
	for _, o := range readCorpus(t, dir, s) {
		if n := len(lines(o.raw)); n != 1 {
			t.Errorf("%s: %d lines, want 1", o.key, n)
		}
	}
}

var (
	uuidRe  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	typeRe  = regexp.MustCompile(`^[a-z]+-[a-z]+-([0-9]+)$`)
	tsRe    = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$`)
	keyRe   = regexp.MustCompile(`^main_stream/(\d{4})/(\d\d)/(\d\d)/(\d\d)/dataplatform-tn-[0-9a-f-]{36}-1-(\d{4})-(\d\d)-(\d\d)-(\d\d)-\d\d-\d\d-[0-9a-f-]{36}$`)
	orgIDRe = regexp.MustCompile(`^TN-[0-9a-f-]{36}$`)
)

// envelope is the Pismo event envelope as the tests check it.
type envelope struct {
	EventID       *string         `json:"event_id"`
	Domain        *string         `json:"domain"`
	EventType     *string         `json:"event_type"`
	SchemaVersion *int            `json:"schema_version"`
	OrgID         *string         `json:"org_id"`
	CID           json.RawMessage `json:"cid"`
	Timestamp     *string         `json:"timestamp"`
	Data          json.RawMessage `json:"data"`
}

func TestLinesAreValidEnvelopesAndStatsAreExact(t *testing.T) {
	s := small()
	s.Days = 4
	dir, st := generate(t, s)
	domains := map[string]bool{}
	for _, d := range st.Domains {
		domains[d] = true
	}
	if len(domains) != s.Domains {
		t.Fatalf("Stats.Domains = %v, want %d distinct", st.Domains, s.Domains)
	}

	var events int64
	ids := map[string]bool{}
	parts := map[string]int64{}
	distinct := map[string]int64{}
	types := map[string]bool{}
	var dataBytes, dataCount int
	for _, o := range readCorpus(t, dir, s) {
		m := keyRe.FindStringSubmatch(o.key)
		if m == nil || m[1] != m[5] || m[2] != m[6] || m[3] != m[7] || m[4] != m[8] {
			t.Errorf("object key %q does not follow main_stream/YYYY/MM/DD/HH/dataplatform-<org>-1-<time>-<uuid>", o.key)
		}
		for n, l := range lines(o.raw) {
			where := o.key + ":" + strconv.Itoa(n+1)
			var e envelope
			if err := json.Unmarshal(l, &e); err != nil {
				t.Fatalf("%s: invalid JSON: %v", where, err)
			}
			if e.EventID == nil || !uuidRe.MatchString(*e.EventID) {
				t.Fatalf("%s: bad event_id in %s", where, l)
			}
			if e.Domain == nil || !domains[*e.Domain] {
				t.Fatalf("%s: bad domain in %s", where, l)
			}
			tm := []string(nil)
			if e.EventType != nil {
				tm = typeRe.FindStringSubmatch(*e.EventType)
			}
			if tm == nil || e.SchemaVersion == nil || tm[1] != strconv.Itoa(*e.SchemaVersion) {
				t.Fatalf("%s: event_type must be <verb>-<noun>-<schema_version>: %s", where, l)
			}
			if e.OrgID == nil || !orgIDRe.MatchString(*e.OrgID) {
				t.Fatalf("%s: bad org_id in %s", where, l)
			}
			var cid *string
			if err := json.Unmarshal(e.CID, &cid); err != nil || (cid != nil && !uuidRe.MatchString(*cid)) {
				t.Fatalf("%s: cid must be a UUID or null: %s", where, l)
			}
			if e.Timestamp == nil || !tsRe.MatchString(*e.Timestamp) {
				t.Fatalf("%s: timestamp not ISO-8601 with millis and Z/offset: %s", where, l)
			}
			ts, err := time.Parse(time.RFC3339Nano, *e.Timestamp)
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			if lo, hi := epoch, epoch.AddDate(0, 0, s.Days); ts.Before(lo) || !ts.Before(hi) {
				t.Errorf("%s: timestamp %s outside the %d-day span", where, *e.Timestamp, s.Days)
			}
			var data map[string]any
			if err := json.Unmarshal(e.Data, &data); err != nil || len(data) == 0 {
				t.Fatalf("%s: data must be a non-empty object: %s", where, l)
			}
			dataBytes += len(e.Data)
			dataCount++
			events++
			part := "domain=" + *e.Domain + "/event_date=" + ts.UTC().Format("2006-01-02")
			parts[part]++
			if !ids[*e.EventID] {
				distinct[part]++
			}
			ids[*e.EventID] = true
			types[*e.Domain+"/"+*e.EventType] = true
		}
	}
	if st.Events != events {
		t.Errorf("Events = %d, lines = %d", st.Events, events)
	}
	if st.DistinctEvents != int64(len(ids)) {
		t.Errorf("DistinctEvents = %d, distinct event_ids = %d", st.DistinctEvents, len(ids))
	}
	if !reflect.DeepEqual(st.PartitionRows, parts) {
		t.Errorf("PartitionRows = %v\nrecounted      %v", st.PartitionRows, parts)
	}
	if !reflect.DeepEqual(st.PartitionDistinct, distinct) {
		t.Errorf("PartitionDistinct = %v\nrecounted          %v", st.PartitionDistinct, distinct)
	}
	if st.Events == st.DistinctEvents {
		t.Error("the corpus has no re-deliveries: the distinct counts are not tested")
	}
	if want := s.Domains * s.Days; st.Partitions != len(parts) || st.Partitions != want {
		t.Errorf("Partitions = %d, recounted %d, want all %d (domains × days)", st.Partitions, len(parts), want)
	}
	if want := s.Domains * s.EventTypesPerDomain; st.EventTypes != len(types) || st.EventTypes != want {
		t.Errorf("EventTypes = %d, recounted %d, want %d", st.EventTypes, len(types), want)
	}
	if mean := dataBytes / dataCount; mean < 500 || mean > 1500 {
		t.Errorf("mean data payload %d bytes, want 500–1500", mean)
	}
}

func TestEveryEventTypeAppearsInATinyCorpus(t *testing.T) {
	s := small()
	s.Domains, s.EventTypesPerDomain = 10, 30 // 300 views
	s.Objects, s.ObjectBytes = 4, 100_000
	s.Gzip = false
	_, st := generate(t, s)
	if st.EventTypes != 300 {
		t.Errorf("EventTypes = %d, want 300", st.EventTypes)
	}
}

func TestEventTypeNamesAreUniqueBeyondTheVocabulary(t *testing.T) {
	s := small()
	s.Domains, s.EventTypesPerDomain = 1, len(verbs)*len(nouns)+5
	g := newGenerator(s)
	seen := map[string]bool{}
	for _, et := range g.types[0] {
		if seen[et.name] {
			t.Fatalf("event type %q generated twice", et.name)
		}
		seen[et.name] = true
	}
	if last := g.types[0][len(g.types[0])-1]; last.version != 2 || !strings.HasSuffix(last.name, "-2") {
		t.Errorf("type past the vocabulary = %q version %d, want a -2 schema version", last.name, last.version)
	}
}

func TestDuplicatesAreEarlierEventsRedelivered(t *testing.T) {
	s := small()
	s.Objects = 20
	s.ObjectBytes = 50_000
	s.DuplicateRate = 0.1
	dir, st := generate(t, s)

	first := map[string]int{} // event_id → object index of first delivery
	line := map[string][]byte{}
	var dups int64
	for i, o := range readCorpus(t, dir, s) {
		for _, l := range lines(o.raw) {
			var e struct {
				EventID string `json:"event_id"`
			}
			if err := json.Unmarshal(l, &e); err != nil {
				t.Fatal(err)
			}
			j, seen := first[e.EventID]
			if !seen {
				first[e.EventID], line[e.EventID] = i, l
				continue
			}
			dups++
			if j >= i {
				t.Errorf("event %s re-delivered in object %d, first seen in object %d: want a later object", e.EventID, i, j)
			}
			if !bytes.Equal(line[e.EventID], l) {
				t.Errorf("re-delivery of %s differs from the original:\n%s\n%s", e.EventID, line[e.EventID], l)
			}
		}
	}
	if got := st.Events - st.DistinctEvents; got != dups {
		t.Errorf("Events - DistinctEvents = %d, re-deliveries counted = %d", got, dups)
	}
	if rate := float64(dups) / float64(st.Events); rate < 0.08 || rate > 0.12 {
		t.Errorf("duplicate rate %.3f (%d of %d), want 0.10 ± 0.02", rate, dups, st.Events)
	}

	s.DuplicateRate = 0
	_, st = generate(t, s)
	if st.Events != st.DistinctEvents {
		t.Errorf("DuplicateRate 0: Events %d != DistinctEvents %d", st.Events, st.DistinctEvents)
	}
}

func TestGzipRatioLooksLikeRealJSON(t *testing.T) {
	s := small()
	s.Objects, s.ObjectBytes = 2, 1_000_000
	_, st := generate(t, s)
	// The corpus: 200 MB → 38 MB (5.3:1). Loosely bounded here: the
	// point is that the payloads neither compress like random bytes nor like
	// one repeated record.
	if r := float64(st.RawBytes) / float64(st.CompressedBytes); r < 4 || r > 6.5 {
		t.Errorf("gzip ratio %.2f (%d → %d bytes), want ≈5 (4–6.5)", r, st.RawBytes, st.CompressedBytes)
	}
}

func TestSpecValidation(t *testing.T) {
	bad := map[string]func(*Spec){
		"no objects":       func(s *Spec) { s.Objects = 0 },
		"no bytes":         func(s *Spec) { s.ObjectBytes = 0 },
		"no domains":       func(s *Spec) { s.Domains = 0 },
		"no event types":   func(s *Spec) { s.EventTypesPerDomain = 0 },
		"no orgs":          func(s *Spec) { s.Orgs = 0 },
		"no days":          func(s *Spec) { s.Days = 0 },
		"negative rate":    func(s *Spec) { s.DuplicateRate = -0.1 },
		"rate of one":      func(s *Spec) { s.DuplicateRate = 1 },
		"unknown layout":   func(s *Spec) { s.Layout = "flat" },
		"too many domains": func(s *Spec) { s.Domains = 10_001 },
	}
	for name, mut := range bad {
		s := small()
		mut(&s)
		if err := s.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, s)
		}
		if _, err := Generate(filepath.Join(t.TempDir(), "c"), s); err == nil {
			t.Errorf("%s: Generate accepted %+v", name, s)
		}
	}
	if err := DefaultSpec().Validate(); err != nil {
		t.Errorf("DefaultSpec: %v", err)
	}
	s := small()
	s.Layout = ""
	if err := s.Validate(); err != nil {
		t.Errorf("empty layout (pismo): %v", err)
	}
}

func TestGenerateRefusesANonEmptyFolder(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Generate(dir, small())
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("Generate into a non-empty folder: err = %v, want a 'not empty' error", err)
	}
}

func TestManifestRoundTrip(t *testing.T) {
	s := small()
	s.Layout = ""
	dir, st := generate(t, s)
	gotSpec, gotStats, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := s
	want.Layout = "pismo"
	if gotSpec != want {
		t.Errorf("manifest spec = %+v, want %+v", gotSpec, want)
	}
	if !reflect.DeepEqual(gotStats, st) {
		t.Errorf("manifest stats = %+v, want %+v", gotStats, st)
	}
	if _, _, err := ReadManifest(t.TempDir()); err == nil {
		t.Error("ReadManifest of a folder without a manifest: no error")
	}
}

func TestDomainNames(t *testing.T) {
	for i, want := range map[int]string{0: "account", 2: "cards", 20: "account_2", 41: "authorization_3"} {
		if got := DomainName(i); got != want {
			t.Errorf("DomainName(%d) = %q, want %q", i, got, want)
		}
	}
}

// BenchmarkGenerate measures generation throughput (uncompressed MB/s) of
// gzipped 5 MB objects.
func BenchmarkGenerate(b *testing.B) {
	s := DefaultSpec()
	s.Objects, s.ObjectBytes = 4, 5_000_000
	b.SetBytes(int64(s.Objects) * s.ObjectBytes)
	for i := 0; b.Loop(); i++ {
		if _, err := Generate(filepath.Join(b.TempDir(), strconv.Itoa(i)), s); err != nil {
			b.Fatal(err)
		}
	}
}
