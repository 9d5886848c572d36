package loader_test

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eventlake/eventlake/internal/parquetcheck"
	"github.com/eventlake/eventlake/loader"
)

// arrowColumn reads a column of a lake file with Apache Arrow's Parquet
// reader (not the library eventlake writes with, nor DuckDB).
func arrowColumn(t *testing.T, path, column string) []string {
	t.Helper()
	v, err := parquetcheck.Column[string](path, column)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// arrowInts reads an int64 column of a Parquet file with arrow-go.
func arrowInts(t *testing.T, path, column string) []int64 {
	t.Helper()
	v, err := parquetcheck.Column[int64](path, column)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// lakeFiles maps each partition folder of table (relative to the table) to
// its Parquet files.
func lakeFiles(t *testing.T, lake, table string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	root := filepath.Join(lake, table)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			rel, _ := filepath.Rel(root, filepath.Dir(p))
			out[filepath.ToSlash(rel)] = append(out[filepath.ToSlash(rel)], p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// writeOld writes a source object with an mtime well in the past.
func writeOld(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
}

func runLoad(t *testing.T, lake string, spec loader.SourceSpec) *loader.Summary {
	t.Helper()
	sum, err := loader.Run(context.Background(), loader.Options{Lake: lake, Workers: 2, Settle: 0}, []loader.SourceSpec{spec})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if !sum.OK() || sum.Rejects != 0 {
		t.Fatalf("summary: %+v", sum)
	}
	return sum
}

// TestLoadWideBackfillOneFilePerPartition: a backfill over 5,100 day
// partitions, every object scattered over all of them, makes exactly one
// file per partition, holding exactly the partition's events.
func TestLoadWideBackfillOneFilePerPartition(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 5,100 partitions")
	}
	src, lake := t.TempDir(), t.TempDir()
	const domains, days, objects = 3, 1700, 6
	start := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(7, 8))
	want := map[string][]string{} // partition → event ids
	n := 0
	for o := range objects {
		var b strings.Builder
		for i := range domains * days {
			d, dm := i/domains, i%domains // every object touches every partition, in turn
			if o > 0 {
				d, dm = r.IntN(days), r.IntN(domains)
			}
			ts := start.Add(time.Duration(d)*24*time.Hour + time.Duration(r.Int64N(int64(24*time.Hour)))).Truncate(time.Millisecond)
			id := fmt.Sprintf("e-%d-%d", o, i)
			dom := fmt.Sprintf("dom%d", dm)
			fmt.Fprintf(&b, `{"event_id":%q,"domain":%q,"event_type":"thing-happened-1","schema_version":1,"org_id":"org-1","cid":"c-%d","timestamp":%q,"data":{"n":%d,"note":"backfill"}}`+"\n",
				id, dom, i, ts.Format("2006-01-02T15:04:05.000Z"), i)
			p := "domain=" + dom + "/event_date=" + ts.Format("2006-01-02")
			want[p] = append(want[p], id)
			n++
		}
		writeOld(t, filepath.Join(src, "main_stream", fmt.Sprintf("batch-%02d.json", o)), []byte(b.String()))
	}
	sum := runLoad(t, lake, loader.SourceSpec{URL: src})
	if sum.Records != int64(n) {
		t.Fatalf("%d records loaded, want %d", sum.Records, n)
	}
	files := lakeFiles(t, lake, "events")
	if len(files) != len(want) || len(want) != domains*days {
		t.Fatalf("%d partitions written, want %d (%d generated)", len(files), len(want), domains*days)
	}
	got := 0
	for p, fs := range files {
		if len(fs) != 1 {
			t.Fatalf("partition %s: %d files, want 1", p, len(fs))
		}
		ids := arrowColumn(t, fs[0], "event_id")
		slices.Sort(ids)
		w := slices.Clone(want[p])
		slices.Sort(w)
		if !slices.Equal(ids, w) {
			t.Fatalf("partition %s: %d events %v…, want %d", p, len(ids), ids[:min(3, len(ids))], len(w))
		}
		got += len(ids)
	}
	if got != n {
		t.Fatalf("%d rows read back, want %d", got, n)
	}
}

// TestLoadCSVOneFilePerPartition: a CSV load of many objects per report
// date (JWO writes one every 15 minutes) makes one file per partition, not
// one per object.
func TestLoadCSVOneFilePerPartition(t *testing.T) {
	loadCSVOneFilePerPartition(t, []string{"2024-06-04", "2024-06-05", "2024-06-06"})
}

// TestLoadCSVMorePartitionsThanOpenFiles: with more report dates in one
// load than a table writer keeps files open (16), the workers build row
// groups for the partitions whose files are open and the others spill, and
// still every partition gets exactly one file with exactly its rows.
func TestLoadCSVMorePartitionsThanOpenFiles(t *testing.T) {
	var dates []string
	for d := range 21 {
		dates = append(dates, time.Date(2024, 6, 1+d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly))
	}
	loadCSVOneFilePerPartition(t, dates)
}

func loadCSVOneFilePerPartition(t *testing.T, dates []string) {
	t.Helper()
	src, lake := t.TempDir(), t.TempDir()
	want := map[string][]string{} // partition → order ids
	rowOf := map[string]string{}  // order id → its row: fields, _line, _offset
	n := 0
	for _, date := range dates {
		for h := range 8 {
			for q := range 4 {
				var b strings.Builder
				b.WriteString("order_id,store_id,order_status,order_total,currency,item_count,is_refund,order_date,updated_at\n")
				for i := range 25 {
					id := fmt.Sprintf("%s-%02d-%d-%02d", date, h, q, i)
					off := b.Len()
					fmt.Fprintf(&b, "%s,STORE-%d,OPEN,%d.50,USD,%d,false,%s,%sT%02d:%02d:00Z", id, i%7, i, i%5+1, date, date, h, q*15)
					rowOf[id] = fmt.Sprintf("%s|%d|%d", b.String()[off:], i+2, off)
					b.WriteString("\n")
					want["report_date="+date] = append(want["report_date="+date], id)
					n++
				}
				writeOld(t, filepath.Join(src, "Order", date, fmt.Sprintf("%02d", h), fmt.Sprintf("ALL%02d.csv000", q*15)), []byte(b.String()))
			}
		}
	}
	sum := runLoad(t, lake, loader.SourceSpec{URL: filepath.Join(src, "Order"), Profile: "jwo-orders"})
	if sum.Records != int64(n) || sum.Committed != int64(len(dates)*32) {
		t.Fatalf("summary %+v, want %d records of %d objects", sum, n, len(dates)*32)
	}
	files := lakeFiles(t, lake, "orders")
	if len(files) != len(dates) {
		t.Fatalf("partitions %v, want %d", files, len(dates))
	}
	for p, fs := range files {
		if len(fs) != 1 {
			t.Fatalf("partition %s: %d files, want 1", p, len(fs))
		}
		ids := arrowColumn(t, fs[0], "order_id")
		objs := arrowColumn(t, fs[0], "_object")
		stamps := arrowColumn(t, fs[0], "updated_at")
		// Every column of every row reads back as the input's.
		cols := strings.Split("order_id,store_id,order_status,order_total,currency,item_count,is_refund,order_date,updated_at", ",")
		text := make([][]string, len(cols))
		for j, c := range cols {
			text[j] = arrowColumn(t, fs[0], c)
		}
		lines, offsets := arrowInts(t, fs[0], "_line"), arrowInts(t, fs[0], "_offset")
		for i, id := range ids {
			var fields []string
			for j := range cols {
				fields = append(fields, text[j][i])
			}
			if got := fmt.Sprintf("%s|%d|%d", strings.Join(fields, ","), lines[i], offsets[i]); got != rowOf[id] {
				t.Fatalf("order %s: read back %q, want %q", id, got, rowOf[id])
			}
		}
		// Every field and lineage value is its row's own, though the
		// objects' text was recycled between them.
		perObject := map[string]int{}
		for i, id := range ids {
			parts := strings.Split(id, "-") // date-HH-Q-NN
			var h, q int
			if len(parts) != 6 {
				t.Fatalf("order id %q", id)
			}
			fmt.Sscan(parts[3], &h)
			fmt.Sscan(parts[4], &q)
			date := strings.Join(parts[:3], "-")
			wantObj := filepath.ToSlash(filepath.Join(date, fmt.Sprintf("%02d", h), fmt.Sprintf("ALL%02d.csv000", q*15)))
			if !strings.HasSuffix(objs[i], wantObj) {
				t.Fatalf("order %s: _object %q, want …%s", id, objs[i], wantObj)
			}
			if want := fmt.Sprintf("%sT%02d:%02d:00Z", date, h, q*15); stamps[i] != want {
				t.Fatalf("order %s: updated_at %q, want %q", id, stamps[i], want)
			}
			perObject[objs[i]]++
		}
		if len(perObject) != 32 {
			t.Fatalf("partition %s: rows of %d objects, want 32", p, len(perObject))
		}
		slices.Sort(ids)
		w := slices.Clone(want[p])
		slices.Sort(w)
		if !slices.Equal(ids, w) {
			t.Fatalf("partition %s: %d orders, want %d", p, len(ids), len(w))
		}
	}
}
