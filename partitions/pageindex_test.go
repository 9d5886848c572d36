package partitions

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"

	"github.com/eventlake/eventlake/internal/parquetcheck"
)

// edgeValue returns hard values for page bounds: long ones, multibyte
// UTF-8 straddling the truncation point, runs of 0xFF (not UTF-8, but a
// byte column must bound them too), and ordinary short ids.
func edgeValue(r *rand.Rand, i int) string {
	switch i % 9 {
	case 0:
		return strings.Repeat("\xff", 40+i%90) // all 0xFF: a truncated max cannot be incremented
	case 1:
		return strings.Repeat("a", 63) + "é" + fmt.Sprint(i) // 'é' straddles byte 64
		// (a truncation at 64 bytes cuts it in half)
	case 2:
		return strings.Repeat("日本", 10+i%20) + fmt.Sprint(i) // 3-byte runes
	case 3:
		return strings.Repeat("z", 64) + "\xff\xff" + fmt.Sprint(i)
	case 4:
		return strings.Repeat("\U0010FFFF", 20) + fmt.Sprint(i) // the largest code point
	case 5:
		return "" // the empty string is a value, not a null
	case 6:
		return strings.Repeat("x", 200+r.IntN(3000)) + fmt.Sprint(i)
	default:
		return fmt.Sprintf("%08x-%04x-%d", r.Uint32(), r.IntN(1<<16), i)
	}
}

// writeEdgeLake writes events, rejects and a table with edge values
// (small row groups, so files have several) and returns the lake.
func writeEdgeLake(t *testing.T) string {
	t.Helper()
	lake := t.TempDir()
	stage, err := NewStage(stagingDir(lake, "L"), "L")
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	o := WriterOptions{RowGroupRows: 5000}
	ew := NewEventWriter(stage, o)
	rw := NewRejectWriter(stage, o)
	var rows []EventRow
	var rejects []RejectRow
	for i := range 12000 {
		row := pismoRow(r, i, []string{"account", "cards"}[i%2], day0+int64(i)*1e6)
		row.EventID = edgeValue(r, i)
		if i%3 != 0 {
			row.CID = ptr(edgeValue(r, i+4))
		} else {
			row.CID = nil
		}
		if i%5 == 0 {
			row.Data = edgeValue(r, i+1)
		}
		rows = append(rows, row)
		rejects = append(rejects, RejectRow{Object: "o", Line: int64(i), Reason: "bad", Raw: edgeValue(r, i+2), RawBytes: 9, Profile: "p", LoadID: "L", IngestedAt: day0})
	}
	// All-null cid pages: a run of rows without cid.
	for i := range 1500 {
		row := pismoRow(r, 5000+i, "account", day0)
		row.CID = nil
		rows = append(rows, row)
	}
	if err := ew.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := rw.Write(rejects); err != nil {
		t.Fatal(err)
	}
	var files []File
	for _, w := range []interface{ Close() ([]File, error) }{ew, rw} {
		fs, err := w.Close()
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, fs...)
	}
	var trows []TableRow
	for i := range 2000 {
		f := []string{edgeValue(r, i), edgeValue(r, i+3)}
		if i%7 == 0 {
			f = f[:1] // a missing field is NULL
		}
		trows = append(trows, TableRow{Fields: f, Object: "o", Line: int64(i), LoadID: "L", IngestedAt: day0})
	}
	f, err := WriteTable(stage, "orders", "report_date=2024-06-05", []string{"order_id", "note"}, trows, WriterOptions{BloomColumns: []string{"order_id"}})
	if err != nil {
		t.Fatal(err)
	}
	var rels []string
	for _, f := range append(files, f) {
		rels = append(rels, f.Path)
	}
	if _, err := PublishAll(lake, stagingDir(lake, "L"), rels, nil); err != nil {
		t.Fatal(err)
	}
	return lake
}

// TestPageIndexIsValid reads every file back with Arrow's Parquet reader
// and checks each page's column-index bounds against its values, point
// lookups through the column index, and the bloom filters.
func TestPageIndexIsValid(t *testing.T) {
	lake := writeEdgeLake(t)
	rep, err := parquetcheck.CheckLake(lake, parquetcheck.Options{Bloom: map[string][]string{
		EventsTable: {"event_id", "cid"},
		"orders":    {"order_id"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v, false-positive rate %.3f", rep, rep.FalsePositiveRate())
	if rep.Files < 4 || rep.Pages < rep.Chunks+20 || rep.Lookups < 12000 {
		t.Errorf("checked too little: %+v", rep)
	}
	if rep.NoColumnIndex != 0 {
		t.Errorf("%d column chunks have no column index", rep.NoColumnIndex)
	}
	if fp := rep.FalsePositiveRate(); fp > 0.05 {
		t.Errorf("bloom false-positive rate %.3f, want <= 0.05", fp)
	}
}

// TestTruncatedBounds checks the truncation itself: the min never sorts
// after the value, the max never before it, both are short unless no short
// max exists, and valid UTF-8 stays valid.
func TestTruncatedBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	vals := []string{"", "a", strings.Repeat("\xff", 64), strings.Repeat("\xff", 65), strings.Repeat("\xff", 64) + "a",
		strings.Repeat("a", 63) + "é", strings.Repeat("a", 62) + "€x", strings.Repeat("\U0010FFFF", 17), "a" + strings.Repeat("\U0010FFFF", 17),
		strings.Repeat("\uD7FF", 30), strings.Repeat("b", 63) + "\xff\xffc"}
	for i := range 2000 {
		vals = append(vals, edgeValue(r, i))
	}
	for _, v := range vals {
		lo, hi := truncateMin([]byte(v)), truncateMax([]byte(v))
		if string(lo) > v || string(hi) < v {
			t.Errorf("%q: bounds %q, %q do not hold it", v, lo, hi)
		}
		if len(lo) > pageBoundBytes || len(hi) > pageBoundBytes && !strings.HasPrefix(v, strings.Repeat("\xff", pageBoundBytes)) && !strings.HasPrefix(v, strings.Repeat("\U0010FFFF", pageBoundBytes/4)) {
			t.Errorf("%q: bounds %d and %d bytes long", v, len(lo), len(hi))
		}
		if utf8.ValidString(v) && (!utf8.Valid(lo) || !utf8.Valid(hi)) {
			t.Errorf("%q: bounds %q, %q are not UTF-8", v, lo, hi)
		}
	}
}

// TestBoundedPageBoundsOnce checks that a bounded page computes its bounds
// once and reports, every time it is asked, the truncated bounds of its
// values, as an uncached computation does; a slice of it has its own.
func TestBoundedPageBoundsOnce(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	typ := boundedType{parquet.String().Type()}
	for n := range 40 {
		col := typ.NewColumnBuffer(0, 0)
		var vals []parquet.Value
		for i := range 1 + n*7 {
			vals = append(vals, parquet.ByteArrayValue([]byte(edgeValue(r, i+n))))
		}
		if _, err := col.WriteValues(vals); err != nil {
			t.Fatal(err)
		}
		page := col.Page()
		for _, p := range []parquet.Page{page, page.Slice(0, page.NumValues()/2+1)} {
			lo0, hi0, ok0 := p.(*boundedPage).Page.Bounds()
			want := []string{string(truncateMin(lo0.ByteArray())), string(truncateMax(hi0.ByteArray()))}
			for range 3 {
				lo, hi, ok := p.Bounds()
				if ok != ok0 || string(lo.ByteArray()) != want[0] || string(hi.ByteArray()) != want[1] {
					t.Fatalf("page of %d values: bounds %q %q %v, want %q %v", p.NumValues(), lo.ByteArray(), hi.ByteArray(), ok, want, ok0)
				}
			}
		}
	}
}
