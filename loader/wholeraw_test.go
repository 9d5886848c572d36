package loader

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/laketest"
	"github.com/eventlake/eventlake/loader/format"
	"github.com/eventlake/eventlake/loader/source"
	"github.com/eventlake/eventlake/loader/source/local"
)

func wholeLine(id string) string {
	return fmt.Sprintf(`{"event_id":"%s","domain":"account","event_type":"x-1","timestamp":"2024-01-0%dT00:00:00Z","data":{"id":"%s","n":%d}}`,
		id, 1+len(id)%5, id, len(id))
}

// writeWholeCorpus writes objects of every shape, with bad records among
// good ones, raw and compressed.
func writeWholeCorpus(t *testing.T, dir string) {
	t.Helper()
	var nd strings.Builder
	for i := range 400 {
		switch i % 50 {
		case 7:
			nd.WriteString(`{"event_id":"broken` + "\n") // not JSON
		case 13:
			nd.WriteString(`{"event_id":"d","event_id":"d2","domain":"account","event_type":"x-1","timestamp":"2024-01-01T00:00:00Z","data":{}}` + "\n")
		case 21:
			nd.WriteString("{\"event_id\":\"bad-utf8-\xff\",\"domain\":\"account\",\"event_type\":\"x-1\",\"timestamp\":\"2024-01-01T00:00:00Z\",\"data\":{}}\n")
		case 30:
			nd.WriteString("\r\n\n") // blank lines count
		case 33:
			// Larger than MaxRecordBytes (8 KiB in the test).
			nd.WriteString(`{"event_id":"huge","domain":"account","event_type":"x-1","timestamp":"2024-01-01T00:00:00Z","data":{"pad":"` + strings.Repeat("p", 20000) + `"}}` + "\n")
		}
		line := wholeLine(fmt.Sprintf("nd-%d", i))
		if i%3 == 0 {
			line += "\r"
		}
		nd.WriteString(line + "\n")
	}
	ndjson := nd.String()
	var pretty strings.Builder
	for i := range 60 {
		if i == 17 {
			pretty.WriteString("{\n  \"event_id\": \"unclosed\",\n")
		}
		pretty.WriteString(strings.ReplaceAll(wholeLine(fmt.Sprintf("pp-%d", i)), `,"`, ",\n  \""))
		pretty.WriteString("\n")
	}
	var arr strings.Builder
	arr.WriteString("\xef\xbb\xbf[\n")
	for i := range 40 {
		if i > 0 {
			arr.WriteString(",\n")
		}
		arr.WriteString(wholeLine(fmt.Sprintf("arr-%d", i)))
	}
	arr.WriteString("\n]\n")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(strings.ReplaceAll(ndjson, "nd-", "gz-")))
	zw.Close()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	zs := enc.EncodeAll([]byte(strings.ReplaceAll(ndjson, "nd-", "zs-")), nil)
	files := map[string][]byte{
		"a.ndjson":     []byte(ndjson),
		"b.json":       []byte(pretty.String()),
		"c.json":       []byte(arr.String()),
		"d.ndjson":     nil,
		"e.ndjson.gz":  gz.Bytes(),
		"f.ndjson.zst": zs,
		"g.bin":        {0, 1, 2, 3, 0xff, 0xfe, 0, 0, 9},
		"h.ndjson":     []byte(strings.ReplaceAll(ndjson, "nd-", "tail-") + `{"event_id":"cut","domain":"acc`),
		"i.log":        []byte("log: starting export\n" + strings.ReplaceAll(ndjson, "nd-", "log-")),
	}
	// Delimited objects (the jwo-orders table), raw and gzipped, among them
	// one whose header is refused.
	for _, c := range []string{"csv-bad-header", "csv-ragged", "csv-unbalanced-quotes", "csv-bare-quote"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "hostile", c, "ALL01.csv000"))
		if err != nil {
			t.Fatal(err)
		}
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(b)
		zw.Close()
		files[c+".csv"], files[c+".csv.gz"] = b, z.Bytes()
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// wholeLake returns a load's events, rejects and objects as text.
func wholeLake(t *testing.T, lake string) (events, rejects, objects []string) {
	t.Helper()
	db := laketest.DuckDB(t)
	for _, r := range laketest.Rows(t, db, `select regexp_extract(_object, '[^/]+$') o, _line, _offset, event_id, event_type, domain, cast(data as varchar), cast(event_time as varchar)
		from `+laketest.Events(lake)+` order by o, _offset`) {
		events = append(events, strings.Join(r, "|"))
	}
	for _, r := range laketest.Rows(t, db, `select regexp_extract(object, '[^/]+$') o, line, "offset", reason, raw, raw_bytes, md5(raw_exact)
		from read_parquet('`+filepath.ToSlash(lake)+`/_rejects/*/*.parquet') order by o, "offset", line`) {
		rejects = append(rejects, strings.Join(r, "|"))
	}
	c, err := catalog.Open(CatalogPath(lake), catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rows, err := c.DB().Query(`SELECT "key", size, content_hash, status, coalesce(profile,''), coalesce(compression,''), coalesce(shape,''), records, rejects, coalesce(error,'') FROM objects ORDER BY "key"`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var key, hash, status, prof, comp, shape, msg string
		var size, recs, rejs int64
		if err := rows.Scan(&key, &size, &hash, &status, &prof, &comp, &shape, &recs, &rejs, &msg); err != nil {
			t.Fatal(err)
		}
		objects = append(objects, fmt.Sprintf("%s %d %s %s %s %s %s %d %d %q", key, size, hash, status, prof, comp, shape, recs, rejs, msg))
	}
	return events, rejects, objects
}

// Objects read whole (raw ones in place, gzipped ones inflated in one
// call) load exactly the rows, rejects (line, offset, bytes) and catalog
// records that streaming them does.
func TestWholeObjectsLoadAsStreamed(t *testing.T) {
	dir := t.TempDir()
	writeWholeCorpus(t, dir)
	run := func(whole int64, workers int) ([]string, []string, []string, *loadBudgets) {
		lake := t.TempDir()
		b := &loadBudgets{whole: newMemBudget(whole), arena: newMemBudget(defaultArenaBudget)}
		sum, err := Run(context.Background(), Options{Lake: lake, Workers: workers, MaxRecordBytes: 8 << 10, budgets: b}, []SourceSpec{{URL: dir}})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Failed != 0 {
			t.Fatalf("%+v", sum)
		}
		if b.whole.inUse() != 0 || b.arena.inUse() != 0 {
			t.Errorf("after the load, %d whole-object and %d arena bytes are still reserved", b.whole.inUse(), b.arena.inUse())
		}
		ev, rj, ob := wholeLake(t, lake)
		return ev, rj, ob, b
	}
	sev, srj, sob, _ := run(0, 1) // no room for whole objects: all stream
	if n := strings.Count(strings.Join(sob, "\n"), "quarantined"); len(sev) < 1000 || len(srj) < 20 || n < 3 {
		t.Logf("objects:\n%s", strings.Join(sob, "\n"))
		t.Fatalf("corpus too small: %d events, %d rejects", len(sev), len(srj))
	}
	for _, workers := range []int{1, 3} {
		wev, wrj, wob, b := run(defaultWholeBudget, workers)
		if b.whole.peakUse() == 0 {
			t.Fatal("no object was read whole")
		}
		for _, c := range []struct {
			what      string
			got, want []string
		}{{"events", wev, sev}, {"rejects", wrj, srj}, {"objects", wob, sob}} {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("workers=%d: %s differ from streamed:\n%s", workers, c.what, firstDiff(c.got, c.want))
			}
		}
	}
}

func firstDiff(got, want []string) string {
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return fmt.Sprintf("#%d (of %d, %d):\n got  %s\n want %s", i, len(got), len(want), clip([]byte(g), 300), clip([]byte(w), 300))
		}
	}
	return ""
}

// compressedForms returns raw gzipped and zstd-compressed.
func compressedForms(raw []byte) (gz *bytes.Buffer, zs []byte) {
	gz = new(bytes.Buffer)
	zw := gzip.NewWriter(gz)
	zw.Write(raw)
	zw.Close()
	enc, _ := zstd.NewWriter(nil)
	return gz, enc.EncodeAll(raw, nil)
}

// readWhole keeps a raw object where it was read, inflates a gzipped one,
// and streams a zstd one (all of its bytes); rows point into the object's
// buffer only while it is being read.
func TestReadWholeByCompression(t *testing.T) {
	raw := []byte(strings.Repeat(wholeLine("x")+"\n", 1000))
	gz, zs := compressedForms(raw)
	budget := newMemBudget(defaultWholeBudget)
	var f inflater
	f.init(budget, 1)
	for i := range 4 { // the object buffer is reused
		whole, comp, in, done, err := f.readWhole(context.Background(), bytes.NewReader(raw), io.Discard, int64(len(raw)))
		if err != nil || in != nil || comp != format.None || !bytes.Equal(whole, raw) {
			t.Fatalf("raw #%d: comp %v, in %v, err %v, equal %v", i, comp, in, err, bytes.Equal(whole, raw))
		}
		if !f.inPlace(whole[10:20]) || f.inPlace(raw[10:20]) {
			t.Fatalf("raw #%d: in place is not the object's buffer", i)
		}
		done()
		if f.inPlace(whole[10:20]) {
			t.Fatal("still in place after the object was done")
		}
	}
	if f.gunzip != nil {
		whole, comp, in, done, err := f.readWhole(context.Background(), bytes.NewReader(gz.Bytes()), io.Discard, int64(gz.Len()))
		if err != nil || in != nil || comp != format.Gzip || !bytes.Equal(whole, raw) {
			t.Fatalf("gzip: comp %v, in %v, err %v", comp, in, err)
		}
		done()
	}
	whole, _, in, done, err := f.readWhole(context.Background(), bytes.NewReader(zs), io.Discard, int64(len(zs)))
	if err != nil || whole != nil || in == nil {
		t.Fatalf("zstd: whole %d bytes, in %v, err %v", len(whole), in, err)
	}
	if got, _ := io.ReadAll(in); !bytes.Equal(got, zs) {
		t.Fatal("zstd: the streamed reader does not give the object's bytes")
	}
	done()
	f.release()
	if budget.inUse() != 0 {
		t.Fatalf("%d bytes still reserved", budget.inUse())
	}
	if p := budget.peakUse(); p > defaultWholeBudget {
		t.Fatalf("peak %d over the budget", p)
	}
}

// shifting is a source written in place whose objects named "short*" or
// "long*" read a few bytes fewer or more than they were listed and opened
// with.
type shifting struct{ source.Source }

var registerShifting sync.Once

func (s shifting) URL() string          { return "shifting://" + strings.TrimPrefix(s.Source.URL(), "file://") }
func (s shifting) WrittenInPlace() bool { return true }

func (s shifting) Open(ctx context.Context, key string) (io.ReadCloser, source.Object, error) {
	rc, obj, err := s.Source.Open(ctx, key)
	if err != nil {
		return rc, obj, err
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, obj, err
	}
	switch {
	case strings.HasPrefix(key, "short"):
		data = data[:len(data)-7]
	case strings.HasPrefix(key, "long"):
		data = append(data, wholeLine("extra")+"\n"...)
	}
	return io.NopCloser(bytes.NewReader(data)), obj, nil
}

// An object read whole whose size differs from its listing (and opening)
// fails like a streamed one, and nothing of it is committed.
func TestWholeObjectSizeDiffersFromListing(t *testing.T) {
	registerShifting.Do(func() {
		source.Register("shifting", func(ctx context.Context, u *url.URL) (source.Source, error) {
			s, err := local.New(u.Path, local.Options{})
			if err != nil {
				return nil, err
			}
			return shifting{s}, nil
		})
	})
	dir := t.TempDir()
	for _, name := range []string{"good.ndjson", "long.ndjson", "short.ndjson", "long.json.gz", "short.json.gz"} {
		var b strings.Builder
		for i := range 200 {
			b.WriteString(wholeLine(fmt.Sprintf("%s-%d", name, i)) + "\n")
		}
		data := []byte(b.String())
		if strings.HasSuffix(name, ".gz") {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(data)
			zw.Close()
			data = z.Bytes()
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, whole := range []int64{defaultWholeBudget, 0} {
		lake := t.TempDir()
		b := &loadBudgets{whole: newMemBudget(whole), arena: newMemBudget(defaultArenaBudget)}
		sum, err := Run(context.Background(), Options{Lake: lake, budgets: b}, []SourceSpec{{URL: "shifting://" + filepath.ToSlash(dir)}})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Committed != 1 || sum.Failed != 4 || sum.Records != 200 {
			t.Fatalf("whole budget %d: %+v", whole, sum)
		}
		for _, e := range sum.Errors {
			// A streamed gzip object may first show the change as bytes
			// after its last member.
			if !strings.Contains(e.Error, ErrChangedWhileRead.Error()) && !(strings.HasSuffix(e.Object, ".gz") && strings.Contains(e.Error, "gzip")) {
				t.Errorf("whole budget %d: %s: %s", whole, e.Object, e.Error)
			}
		}
		db := laketest.DuckDB(t)
		if got := laketest.One(t, db, "select count(*) from "+laketest.Events(lake)+" where event_id not like 'good%'"); got != "0" {
			t.Errorf("whole budget %d: %s rows of changed objects were kept", whole, got)
		}
		if b.whole.inUse() != 0 {
			t.Errorf("whole budget %d: %d bytes still reserved", whole, b.whole.inUse())
		}
	}
}

// Every worker reads its raw objects whole at the same time: a worker that
// holds no whole-object buffer waits only for its share of the budget, not
// for all of it (it waited for room for an inflated gzip object, 15 times
// the object's size, capped at the whole budget: as long as another worker
// held any buffer, the only one reading whole was that one).
func TestRawObjectsReadWholeByEveryWorker(t *testing.T) {
	dir := t.TempDir()
	line := wholeLine("x") + "\n"
	body := []byte(strings.Repeat(line, (3<<20)/len(line))) // 3 MB: its buffer is 4 MiB
	for i := range 8 {
		// Sizes differ: objects of one size go to one worker (copies).
		head := wholeLine(fmt.Sprint("id-", i)) + strings.Repeat("\n", i+1)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("obj-%d.ndjson", i)), append([]byte(head), body...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b := &loadBudgets{whole: newMemBudget(32 << 20), arena: newMemBudget(defaultArenaBudget)}
	if _, err := Run(context.Background(), Options{Lake: t.TempDir(), Workers: 2, budgets: b}, []SourceSpec{{URL: dir}}); err != nil {
		t.Fatal(err)
	}
	// One worker holds one 4 MiB buffer (the object it reads, whose rows
	// point into it until they are written): more is both at once.
	if peak := b.whole.peakUse(); peak <= 4<<20 {
		t.Fatalf("whole-object buffers peaked at %d MiB: one worker's; the other waited", peak>>20)
	}
}

// readWhole gives every byte of the object to the content hasher once and
// in order, whichever way it reads the object: whole (raw, gzip), whole and
// then streamed (zstd), partly read before the budget ran out, or not read
// whole at all.
func TestReadWholeHashesEveryByteOnce(t *testing.T) {
	raw := []byte(strings.Repeat(wholeLine("x")+"\n", 2000))
	gz, zs := compressedForms(raw)
	for _, c := range []struct {
		name   string
		obj    []byte
		size   int64 // the size the listing gave
		budget int64
	}{
		{"raw", raw, int64(len(raw)), defaultWholeBudget},
		{"gzip", gz.Bytes(), int64(gz.Len()), defaultWholeBudget},
		{"zstd", zs, int64(len(zs)), defaultWholeBudget},
		{"raw, longer than listed, budget short", raw, 1000, 200 << 10},
		{"raw, no room", raw, int64(len(raw)), 1 << 10},
		{"gzip, no room", gz.Bytes(), int64(gz.Len()), 1 << 10},
	} {
		var f inflater
		f.init(newMemBudget(c.budget), 1)
		h := newContentHasher(false)
		_, _, in, done, err := f.readWhole(context.Background(), bytes.NewReader(c.obj), h, c.size)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if in != nil {
			if got, err := io.ReadAll(in); err != nil || !bytes.Equal(got, c.obj) {
				t.Fatalf("%s: the streamed reader gave %d bytes (%v), want the object's %d", c.name, len(got), err, len(c.obj))
			}
		}
		done()
		f.release()
		got, _ := h.sums()
		want := newContentHasher(false)
		want.Write(c.obj)
		if w, _ := want.sums(); got != w {
			t.Errorf("%s: content hash %s, want %s", c.name, got, w)
		}
	}
}
