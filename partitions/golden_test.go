package partitions

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/bloom"
	"github.com/parquet-go/parquet-go/bloom/xxhash"

	"github.com/eventlake/eventlake/internal/native"
)

// goldenFiles writes a fixed set of files with every writer of the package
// (events with and without spilling, _rejects, a CSV table) and returns the
// SHA-256 of each file by writer and path, plus the absolute path of each
// file. The rows, load id, timestamps and created_by are fixed, and pages
// are compressed by the pure-Go zstd encoder (pinned by go.mod; the system's
// libzstd differs between hosts), so the files are the same on every host.
func goldenFiles(t *testing.T) (sums map[string]string, paths map[string]string) {
	t.Helper()
	prevVersion := buildVersion
	buildVersion = func() (string, string) { return "v0.0.0-golden", "000000000000" }
	defer func() { buildVersion = prevVersion }()
	defer native.Use(native.HasGzip(), false)()

	sums, paths = map[string]string{}, map[string]string{}
	record := func(name string, stage *Stage, files []File) {
		for _, f := range files {
			abs := stage.Staged(f.Path)
			b, err := os.ReadFile(abs)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.Sum256(b)
			key := name + ":" + f.Path
			sums[key] = hex.EncodeToString(h[:])
			paths[key] = abs
		}
	}
	newStage := func() *Stage {
		stage, err := NewStage(stagingDir(t.TempDir(), "G"), "G")
		if err != nil {
			t.Fatal(err)
		}
		return stage
	}

	// Events: four partitions written in interleaved runs, 1,000-row row
	// groups, long data values (a tenth of them 3–12 KB, so data pages
	// fill and values exceed the bounds' truncation), nullable columns with
	// nulls, a partition whose cid is always null and one whose is never.
	events := func(name string, o WriterOptions, nRows int, domains []string) {
		stage := newStage()
		w := NewEventWriter(stage, o)
		r := rand.New(rand.NewPCG(101, 102))
		var batch []EventRow
		for i := range nRows {
			d := (i / 37) % len(domains)
			row := pismoRow(r, i, domains[d], day0+int64((i/111)%2)*day+int64(i)*1000)
			if r.IntN(10) == 0 {
				row.Data = fmt.Sprintf(`{"blob":%q}`, strings.Repeat(fmt.Sprint(i%10), 3000+r.IntN(9000)))
			}
			switch domains[d] {
			case "nocid":
				row.CID = nil
			case "allcid":
				row.CID = ptr(fmt.Sprintf("cid-%d", r.IntN(50)))
			}
			batch = append(batch, row)
			if len(batch) == 250 {
				if err := w.Write(batch); err != nil {
					t.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		if err := w.Write(batch); err != nil {
			t.Fatal(err)
		}
		files, err := w.Close()
		if err != nil {
			t.Fatal(err)
		}
		record(name, stage, files)
	}
	events("events", WriterOptions{RowGroupRows: 1000}, 12000, []string{"account", "nocid", "allcid"})
	// Spilled partitions (two open files for eight partitions), small
	// page buffers and reused writers, and early flushes of the largest
	// row group under a small memory budget.
	events("events-spill", WriterOptions{MaxOpenFiles: 2, Spill: true, MemoryBytes: 2 << 20, RowGroupRows: 700},
		6000, []string{"account", "nocid", "allcid", "customer"})

	// Rejects: two load dates, invalid UTF-8 and binary raw bytes.
	{
		stage := newStage()
		w := NewRejectWriter(stage, WriterOptions{RowGroupRows: 300})
		var rows []RejectRow
		for i := range 2000 {
			raw := fmt.Sprintf(`{"id":%d,"domain":"\xff","pad":"%s"}`, i, strings.Repeat("y", i%500))
			rows = append(rows, RejectRow{
				Object: fmt.Sprintf("gs://bucket/2024-02-28/export-%d.ndjson.gz", i/400), Line: int64(i + 1), Offset: int64(i * 100),
				Reason: []string{"invalid JSON", "duplicate key \"id\"", "partition value is not valid UTF-8"}[i%3],
				Raw:    strings.ToValidUTF8(raw, "\uFFFD"), RawBytes: int64(len(raw)), Profile: "fulfillmenttools", LoadID: "G",
				IngestedAt: day0 + int64(i/1000)*day, RawExact: []byte(raw),
			})
		}
		if err := w.Write(rows); err != nil {
			t.Fatal(err)
		}
		files, err := w.Close()
		if err != nil {
			t.Fatal(err)
		}
		record("rejects", stage, files)
	}

	// A CSV table: five partitions through two open files (spilled), a
	// key column with a bloom filter, short rows (nulls), empty fields.
	{
		stage := newStage()
		cols := []string{"order_id", "store_id", "status", "total", "note"}
		w, err := NewTableWriter(stage, "orders", cols, WriterOptions{BloomColumns: []string{"order_id", "store_id"}, Spill: true, MaxOpenFiles: 2, RowGroupRows: 500})
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(7, 8))
		for obj := range 20 {
			date := fmt.Sprintf("2024-06-%02d", 4+obj%5)
			var rows []TableRow
			for i := range 300 {
				f := []string{fmt.Sprintf("%s-%08d", date, obj*1000+i), fmt.Sprintf("STORE-%d", r.IntN(97)), "OPEN", fmt.Sprintf("%d.%02d", r.IntN(500), r.IntN(100)),
					strings.Repeat("n", r.IntN(200))}
				f = f[:len(f)-r.IntN(3)] // short rows: the missing fields are null
				if r.IntN(20) == 0 {
					f[1] = ""
				}
				rt := day0 + int64(obj)*day
				if obj%4 == 3 {
					rt = 0
				}
				rows = append(rows, TableRow{Fields: f, ReportTime: rt, Object: fmt.Sprintf("s3://b/Order/%s/ALL%04d.csv000", date, obj),
					Line: int64(i + 2), Offset: int64(i) * 140, LoadID: "G", IngestedAt: day0})
			}
			if err := w.Write("report_date="+date, rows); err != nil {
				t.Fatal(err)
			}
		}
		files, err := w.Close()
		if err != nil {
			t.Fatal(err)
		}
		record("table", stage, files)
	}
	return sums, paths
}

// goldenSums are the SHA-256 of goldenFiles' files as written by upstream
// parquet-go v0.32.0: a change of the Parquet write path must keep every
// file byte for byte.
var goldenSums = map[string]string{
	"events-spill:events/domain=account/event_date=2024-02-28/part-G-00000.parquet":  "fa10db8e589552cd9be95374430150e4bba3771c18bd7beb712c030753932dbe",
	"events-spill:events/domain=account/event_date=2024-02-29/part-G-00002.parquet":  "e787e731661fa5447b8bda22d8a2cce9a87d4ea5e393cdfd22aeaf6c4209f012",
	"events-spill:events/domain=allcid/event_date=2024-02-28/part-G-00003.parquet":   "577096fed0f3a077145e06b7dfb301261728294b88767c6f77edddc76b85c902",
	"events-spill:events/domain=allcid/event_date=2024-02-29/part-G-00004.parquet":   "98846686cf5c198f700f9418289579992ee93d9d8c1819e7a955debb9a13cd13",
	"events-spill:events/domain=customer/event_date=2024-02-28/part-G-00005.parquet": "0eedeb6860a5e3638c55ea9f322fe04a6ad4d86ef4bd3ae47ea9ae755ac932a9",
	"events-spill:events/domain=customer/event_date=2024-02-29/part-G-00006.parquet": "7e0c9bd156f83c5815aa32476e4983e635fc84ad9800c7352cfec15db1bb8190",
	"events-spill:events/domain=nocid/event_date=2024-02-28/part-G-00001.parquet":    "9708091131b7718ec1e4093d87dc2a5a61099edaa1dc6fe5371598c6e542160e",
	"events-spill:events/domain=nocid/event_date=2024-02-29/part-G-00007.parquet":    "612e961e8ccec90bff51f86cac2fb235bc3287c7c2ca919c5547845b35eac854",
	"events:events/domain=account/event_date=2024-02-28/part-G-00000.parquet":        "8250c9d28c146ac1fcbadb6323c181abf64827595a04736d00c74732a410525d",
	"events:events/domain=account/event_date=2024-02-29/part-G-00003.parquet":        "6fd8e8cfaedf1a17adc935f668278e5383c8960491081a09c070bd2d8e64148e",
	"events:events/domain=allcid/event_date=2024-02-28/part-G-00002.parquet":         "e3fac0604225442d1076163760ad6aedc29af95d0f75ed0689126e5b87c867dd",
	"events:events/domain=allcid/event_date=2024-02-29/part-G-00005.parquet":         "f0371d629350b789564fe6796c863011385dcf2524266b94b86dc3ee691fc82f",
	"events:events/domain=nocid/event_date=2024-02-28/part-G-00001.parquet":          "4e18832bbfc65ad2477d1c43d245a8af66910bf18d3f60c177f7cd6bf0ab58ed",
	"events:events/domain=nocid/event_date=2024-02-29/part-G-00004.parquet":          "9f5645b12f2dd5b988cae369bb376494d084d13c91d1f763b48424a47bc1d9bd",
	"rejects:_rejects/load_date=2024-02-28/part-G-00000.parquet":                     "35db76d1c08b140707d7f57e29b2ca5ac81921292c21f329b23480d08698a4ba",
	"rejects:_rejects/load_date=2024-02-29/part-G-00001.parquet":                     "3221691c4df52fcbffeb164182b44ec800252a92de78d519e0f17edea43b3d7a",
	"table:orders/report_date=2024-06-04/part-G-00000.parquet":                       "4ee247ad5390a9ac992398ed5eef86124a272fb2b91e4c42542b03ba87796a19",
	"table:orders/report_date=2024-06-05/part-G-00001.parquet":                       "7db884cbb69f88b15047985f6621abcc509e507d6928a67d4d2a59a5245e27ae",
	"table:orders/report_date=2024-06-06/part-G-00002.parquet":                       "0b8c84d3f78f17990492073536c3c3eebe5adbffb72ea45d2f077cee2927bfcb",
	"table:orders/report_date=2024-06-07/part-G-00003.parquet":                       "37fbd7ff4e3832e69638e2d9918682707a515985ffee30c924740ad4c9550c4b",
	"table:orders/report_date=2024-06-08/part-G-00004.parquet":                       "fb19020a98a69e279a125d4d4163d01bfcb20a74191fe1d3e80bdd666bb59520",
}

func TestGoldenFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a few MB of Parquet")
	}
	sums, paths := goldenFiles(t)
	if len(goldenSums) == 0 || os.Getenv("EVENTLAKE_GOLDEN_PRINT") != "" {
		for _, k := range slices.Sorted(maps.Keys(sums)) {
			fmt.Printf("\t%q: %q,\n", k, sums[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(goldenSums)) {
		if got, ok := sums[k]; !ok {
			t.Errorf("%s: not written", k)
		} else if got != goldenSums[k] {
			t.Errorf("%s: sha256 %s, want %s", k, got, goldenSums[k])
		}
	}
	for k := range sums {
		if _, ok := goldenSums[k]; !ok {
			t.Errorf("%s: written, not expected", k)
		}
	}

	// Every value of a bloom column is in its row group's filter.
	blooms := map[string][]string{"events": {"event_id", "cid"}, "events-spill": {"event_id", "cid"}, "table": {"order_id", "store_id"}}
	checked, maxGroups, maxPages := 0, 0, 0
	for _, k := range slices.Sorted(maps.Keys(paths)) {
		want := blooms[k[:strings.IndexByte(k, ':')]]
		n, groups, pages := checkBloomFilters(t, paths[k], want)
		checked, maxGroups, maxPages = checked+n, max(maxGroups, groups), max(maxPages, pages)
	}
	// The files exercise what they are meant to.
	if checked == 0 || maxGroups < 2 || maxPages < 4 {
		t.Fatalf("%d bloom values checked, at most %d row groups a file and %d pages a column chunk", checked, maxGroups, maxPages)
	}
}

// checkBloomFilters checks, in every row group of the file at path, that
// the columns named in want have a bloom filter (when they hold a value) and
// that every value of every column with a filter is found in it. It
// returns the number of values checked, of row groups, and the largest
// number of pages of a column chunk.
func checkBloomFilters(t *testing.T, path string, want []string) (checked, groups, maxPages int) {
	t.Helper()
	pf := openParquet(t, path)
	groups = len(pf.RowGroups())
	for g, rg := range pf.RowGroups() {
		for c, cc := range rg.ColumnChunks() {
			name := pf.Schema().Columns()[c][0]
			values, pages := columnValues(t, cc)
			maxPages = max(maxPages, pages)
			bf := cc.BloomFilter()
			if bf == nil {
				if slices.Contains(want, name) && len(values) > 0 {
					t.Errorf("%s: row group %d: column %s has no bloom filter", path, g, name)
				}
				continue
			}
			if !slices.Contains(want, name) {
				t.Errorf("%s: row group %d: column %s has a bloom filter", path, g, name)
			}
			for _, v := range values {
				ok, err := bf.Check(v)
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					t.Fatalf("%s: row group %d: %s value %q not in the bloom filter", path, g, name, v.ByteArray())
				}
				checked++
			}
		}
	}
	return checked, groups, maxPages
}

// columnValues returns the non-null values of a column chunk and its
// number of data pages.
func columnValues(t *testing.T, cc parquet.ColumnChunk) (out []parquet.Value, pages int) {
	t.Helper()
	r := cc.Pages()
	defer r.Close()
	buf := make([]parquet.Value, 512)
	for {
		p, err := r.ReadPage()
		if errors.Is(err, io.EOF) {
			return out, pages
		}
		pages++
		if err != nil {
			t.Fatal(err)
		}
		vr := p.Values()
		for {
			n, err := vr.ReadValues(buf)
			for _, v := range buf[:n] {
				if !v.IsNull() {
					out = append(out, v.Clone())
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		parquet.Release(p)
	}
}

// FuzzBloomFilters checks the bloom filter of every column chunk of files
// written with bloom filters on columns of every physical type (INT32
// with nulls, INT64, BYTE_ARRAY with and without nulls, values spanning
// many pages) byte for byte against the filter the writer is meant to
// build: sized from the chunk's value count at bloomBitsPerValue bits a
// value, holding the hash of each non-null value.
func FuzzBloomFilters(f *testing.F) {
	f.Add(uint64(1), uint16(3000), uint16(1000), false)
	f.Add(uint64(2), uint16(200), uint16(7), true)
	f.Add(uint64(3), uint16(1), uint16(1), false)
	f.Fuzz(func(t *testing.T, seed uint64, nRows, rgRows uint16, spill bool) {
		defer native.Use(native.HasGzip(), false)()
		stage, err := NewStage(stagingDir(t.TempDir(), "F"), "F")
		if err != nil {
			t.Fatal(err)
		}
		o := WriterOptions{RowGroupRows: int64(max(rgRows, 1)), BloomColumns: []string{"schema_version", "_line", "event_time", "data"}}
		if spill {
			o.MaxOpenFiles, o.Spill = 1, true
		}
		w := NewEventWriter(stage, o)
		r := rand.New(rand.NewPCG(seed, seed>>7))
		for i := range int(nRows % 5000) {
			row := pismoRow(r, i, []string{"a", "b", "c"}[r.IntN(3)], day0+int64(r.IntN(2))*day+int64(r.IntN(1000)))
			if r.IntN(8) == 0 {
				row.Data = strings.Repeat("d", r.IntN(40000))
			}
			if err := w.Write([]EventRow{row}); err != nil {
				t.Fatal(err)
			}
		}
		files, err := w.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			checkBloomFilterBytes(t, stage.Staged(file.Path))
		}
	})
}

// checkBloomFilterBytes compares every bloom filter of the file at path
// with the one built from the column chunk's values.
func checkBloomFilterBytes(t *testing.T, path string) {
	t.Helper()
	file := openParquet(t, path)
	for g, rg := range file.RowGroups() {
		for c, cc := range rg.ColumnChunks() {
			bf := cc.BloomFilter()
			if bf == nil {
				continue
			}
			got := make([]byte, bf.Size())
			if _, err := bf.ReadAt(got, 0); err != nil {
				t.Fatal(err)
			}
			want := make([]byte, bloom.BlockSize*bloom.NumSplitBlocksOf(cc.NumValues(), bloomBitsPerValue))
			filter := bloom.MakeSplitBlockFilter(want)
			values, _ := columnValues(t, cc)
			for _, v := range values {
				switch v.Kind() {
				case parquet.Int32:
					filter.Insert(xxhash.Sum64Uint32(uint32(v.Int32())))
				case parquet.Int64:
					filter.Insert(xxhash.Sum64Uint64(uint64(v.Int64())))
				case parquet.ByteArray:
					filter.Insert(xxhash.Sum64(v.ByteArray()))
				default:
					t.Fatalf("column %d: kind %s", c, v.Kind())
				}
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: row group %d: column %s: bloom filter (%d bytes) differs from its %d values' (%d bytes)",
					path, g, file.Schema().Columns()[c][0], len(got), cc.NumValues(), len(want))
			}
		}
	}
}
