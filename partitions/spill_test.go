package partitions

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/internal/parquetcheck"
)

// TestSpillOneFilePerPartition: a load over thousands of partitions with few
// files open makes exactly one file per partition, holding exactly the
// partition's rows, read back by an independent Parquet reader.
func TestSpillOneFilePerPartition(t *testing.T) {
	stage, err := NewStage(filepath.Join(t.TempDir(), "stage"), "L")
	if err != nil {
		t.Fatal(err)
	}
	const domains, days = 3, 1700 // 5,100 partitions
	w := NewEventWriter(stage, WriterOptions{Spill: true, MaxOpenFiles: 8, SpillBytes: 256 << 10, RowGroupRows: 4})
	r := rand.New(rand.NewPCG(1, 2))
	want := map[string][]string{} // partition → event ids in write order
	total := 0
	// Objects of rows scattered over the whole span, as a backfill's are.
	for obj := range 40 {
		var rows []EventRow
		n := 400
		if obj == 0 {
			n = domains * days
		}
		for i := range n {
			d, dm := r.IntN(days), r.IntN(domains)
			if obj == 0 {
				d, dm = i/domains, i%domains
			}
			dom := fmt.Sprintf("dom%d", dm)
			row := pismoRow(r, obj*1000+i, dom, day0+int64(d)*day+r.Int64N(day))
			if r.IntN(4) == 0 {
				row.OrgID, row.CID, row.SchemaVersion = nil, nil, nil
			}
			rows = append(rows, row)
		}
		for len(rows) > 0 { // a few rows at a time: partitions interleave
			n := min(len(rows), 1+r.IntN(7))
			if err := w.Write(rows[:n]); err != nil {
				t.Fatal(err)
			}
			for _, row := range rows[:n] {
				p := Dir("domain", row.Domain, "event_date", EventDate(row.EventTime))
				want[p] = append(want[p], row.EventID)
				total++
			}
			rows = rows[n:]
		}
	}
	// Every (domain, day) is in the first object: thousands of partitions.
	if len(want) < 5000 {
		t.Fatalf("only %d partitions", len(want))
	}
	files, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	got := 0
	for _, f := range files {
		per[f.Partition]++
		ids, err := parquetcheck.Column[string](stage.Staged(f.Path), "event_id")
		if err != nil {
			t.Fatal(err)
		}
		n := int64(len(ids))
		if n != f.Rows || int64(len(ids)) != n {
			t.Fatalf("%s: %d rows read, %d ids, %d recorded", f.Path, n, len(ids), f.Rows)
		}
		if !slices.Equal(ids, want[f.Partition]) {
			t.Fatalf("%s: event ids %v, want %v", f.Partition, ids, want[f.Partition])
		}
		if err := VerifyFile(stage.Staged(f.Path), f.Bytes, f.Checksum); err != nil {
			t.Fatal(err)
		}
		got += int(n)
	}
	for p, n := range per {
		if n != 1 {
			t.Errorf("partition %s: %d files, want 1", p, n)
		}
	}
	if len(per) != len(want) || got != total {
		t.Fatalf("%d partitions, %d rows; want %d, %d", len(per), got, len(want), total)
	}
	// The run file is gone: only the Parquet files are staged.
	for _, name := range stagedFiles(t, stage.Root()) {
		if !strings.HasSuffix(name, ".parquet") {
			t.Errorf("left in the stage: %s", name)
		}
	}
}

// TestSpillAbortRemovesRun: an aborted writer leaves neither files nor its
// run behind.
func TestSpillAbortRemovesRun(t *testing.T) {
	stage, err := NewStage(filepath.Join(t.TempDir(), "stage"), "L")
	if err != nil {
		t.Fatal(err)
	}
	w := NewEventWriter(stage, WriterOptions{Spill: true, MaxOpenFiles: 1, SpillBytes: 1 << 10})
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 2000 {
		if err := w.Write([]EventRow{pismoRow(r, i, "d", day0+int64(i%50)*day)}); err != nil {
			t.Fatal(err)
		}
	}
	w.Abort()
	if left := stagedFiles(t, stage.Root()); len(left) != 0 {
		t.Fatalf("left after abort: %v", left)
	}
}

func TestSpillCodecRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	rows := []EventRow{pismoRow(r, 1, "d", day0), {EventID: "", Data: "", Domain: "x"}}
	rows[0].SchemaVersion = ptr(int32(-3))
	var buf []byte
	var err error
	for i := range rows {
		buf = encodeEventRow(buf, &rows[i])
	}
	for i := range rows {
		var got EventRow
		buf, err = decodeEventRow(buf, &got)
		if err != nil {
			t.Fatal(err)
		}
		if !sameEvent(got, rows[i]) {
			t.Fatalf("row %d: %+v, want %+v", i, got, rows[i])
		}
	}
	if len(buf) != 0 {
		t.Fatalf("%d bytes left", len(buf))
	}
	tr := TableRow{Fields: []string{"a", "", "ü"}, ReportTime: 7, Object: "o", Line: 3, Offset: -1, LoadID: "L", IngestedAt: 9}
	var got TableRow
	rest, err := decodeTableRow(encodeTableRow(nil, &tr), &got)
	if err != nil || len(rest) != 0 || !slices.Equal(got.Fields, tr.Fields) || got.ReportTime != 7 || got.Offset != -1 || got.Object != "o" || got.IngestedAt != 9 {
		t.Fatalf("table row: %+v (%v, %d left)", got, err, len(rest))
	}
	if _, err := decodeEventRow([]byte{0, 200}, &EventRow{}); err == nil {
		t.Fatal("a truncated row decoded")
	}
}

func sameEvent(a, b EventRow) bool {
	deref := func(p *string) string {
		if p == nil {
			return "<nil>"
		}
		return *p
	}
	v := func(p *int32) string {
		if p == nil {
			return "<nil>"
		}
		return fmt.Sprint(*p)
	}
	return a.EventID == b.EventID && a.EventType == b.EventType && v(a.SchemaVersion) == v(b.SchemaVersion) &&
		deref(a.OrgID) == deref(b.OrgID) && deref(a.CID) == deref(b.CID) && a.EventTime == b.EventTime &&
		a.Data == b.Data && a.Object == b.Object && a.Line == b.Line && a.Offset == b.Offset &&
		a.LoadID == b.LoadID && a.IngestedAt == b.IngestedAt && a.Domain == b.Domain
}
