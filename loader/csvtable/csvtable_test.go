package csvtable

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/config"
	"github.com/eventlake/eventlake/loader/format"
	"github.com/eventlake/eventlake/partitions"
)

func TestReportTime(t *testing.T) {
	date, us := reportTime("Order/2024-06-05/22/ALL01.csv000")
	want := time.Date(2024, 6, 5, 22, 1, 0, 0, time.UTC).UnixMicro()
	if date != "2024-06-05" || us != want {
		t.Fatalf("got %s %d, want 2024-06-05 %d", date, us, want)
	}
	if date, _ := reportTime("report.csv"); date != "" {
		t.Fatalf("no date in the key: got %q", date)
	}
}

func TestTableColumns(t *testing.T) {
	got := tableColumns([]string{"id", "", "_x", "ID", " name "})
	want := []string{"id", "column_2", "col_x", "ID_2", "name"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

type sink struct {
	rows, rejects int
	reasons       []string
}

func (s *sink) Keep(p string) string { return strings.Clone(p) }
func (s *sink) Str(p string) string  { return strings.Clone(p) }
func (s *sink) Row(int, bool)        { s.rows++ }
func (s *sink) Reject(_, _, _ int64, reason string, _ []byte) {
	s.rejects++
	s.reasons = append(s.reasons, reason)
}

func TestOpenAndRead(t *testing.T) {
	profiles := Profiles(&config.Config{})
	data := "order_id,updated_at,total\n1,2024-06-05T10:00:00Z,3.5\n2,2024-06-05T11:00:00Z\n"
	tbl, q, err := Open(format.NewReaderBytes([]byte(data), format.Options{}), profiles, "auto", "", strings.NewReader(""))
	if err != nil || q != "" {
		t.Fatalf("open: %q %v", q, err)
	}
	if tbl.Profile.Name != "jwo-orders" {
		t.Fatalf("auto chose %s", tbl.Profile.Name)
	}
	s := &sink{}
	if err := tbl.Read(Object{Key: "Order/2024-06-05/10/ALL00.csv000", URL: "file:///x"}, s); err != nil {
		t.Fatal(err)
	}
	if s.rows != 1 || s.rejects != 1 || !strings.HasPrefix(s.reasons[0], "ragged row") {
		t.Fatalf("rows %d rejects %d %v", s.rows, s.rejects, s.reasons)
	}
	got, err := Schemas(profiles, nil, []Typed{{URL: "file:///x", Profile: "jwo-orders", Types: tbl.Types}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Table != "orders" || got[0].ChangedByObject != "file:///x" {
		t.Fatalf("schemas %+v", got)
	}
	// Stored as it is: nothing changed.
	again, err := Schemas(profiles, []catalog.SchemaRecord{got[0]}, []Typed{{URL: "file:///y", Profile: "jwo-orders", Types: tbl.Types}})
	if err != nil || len(again) != 0 {
		t.Fatalf("again %+v %v", again, err)
	}
}

func TestOpenWithoutProfile(t *testing.T) {
	_, q, err := Open(format.NewReaderBytes([]byte("sku,name\na,b\n"), format.Options{}), Profiles(&config.Config{}), "auto", "", strings.NewReader(""))
	if err != nil || !strings.HasPrefix(q, "CSV content with header sku,name") {
		t.Fatalf("got %q %v", q, err)
	}
}

// copyDest records the runs it is handed, copied (as the table writers copy
// or encode what they take: the rows' slices are recycled afterwards).
type copyDest struct{ runs []run }

type run struct {
	partition string
	rows      []partitions.TableRow
}

func (d *copyDest) WriteTable(_ string, _, _ []string, partition string, rows []partitions.TableRow) error {
	r := run{partition: partition}
	for _, row := range rows {
		row.Fields = slices.Clone(row.Fields)
		r.rows = append(r.rows, row)
	}
	d.runs = append(d.runs, r)
	return nil
}

// TestWriteRuns: an object's rows go out as one run per partition, in the
// order of the partition values, each run in the rows' order, with every
// field and lineage value its row's own — also when the row slices of one
// object are recycled for the next.
func TestWriteRuns(t *testing.T) {
	p := &Profile{Name: "by-day", Table: "t", Key: []string{"id"}, Partition: "day"}
	profiles := map[string]*Profile{"by-day": p}
	objects := []struct{ data, want string }{
		// One partition: the rows are handed over as they are.
		{"id,day\n1,2024-06-05\n2,2024-06-05x\n3,2024-06-05\n", "day=2024-06-05:1,2,3"},
		// Mixed: grouped stably, partitions sorted.
		{"id,day\n1,2024-06-06\n2,2024-06-04\n3,2024-06-06\n4,2024-06-05\n5,2024-06-04\n", "day=2024-06-04:2,5 day=2024-06-05:4 day=2024-06-06:1,3"},
		{"id,day\n9,2024-06-07\n", "day=2024-06-07:9"},
	}
	for k, o := range objects {
		tbl, q, err := Open(format.NewReaderBytes([]byte(o.data), format.Options{}), profiles, "by-day", "", strings.NewReader(""))
		if err != nil || q != "" {
			t.Fatalf("open: %q %v", q, err)
		}
		url := fmt.Sprintf("file:///o%d", k)
		if err := tbl.Read(Object{Key: "x.csv", URL: url, LoadID: "L"}, &sink{}); err != nil {
			t.Fatal(err)
		}
		d := &copyDest{}
		if err := tbl.Write(d); err != nil {
			t.Fatal(err)
		}
		var got []string
		lines := strings.Split(o.data, "\n")
		for _, r := range d.runs {
			var ids []string
			for _, row := range r.rows {
				ids = append(ids, row.Fields[0])
				if row.Object != url || row.LoadID != "L" || strings.Join(row.Fields, ",") != lines[row.Line-1] {
					t.Fatalf("object %d: row %+v is not line %d (%q)", k, row, row.Line, lines[row.Line-1])
				}
			}
			got = append(got, r.partition+":"+strings.Join(ids, ","))
		}
		if g := strings.Join(got, " "); g != o.want {
			t.Fatalf("object %d: runs %s, want %s", k, g, o.want)
		}
	}
}

// TestPartitionValueChecked reads rows whose partition values repeat,
// alternate, and are bad in between (checked once per value that passed,
// a bad one every time): the same rows and rejects as checking each row.
func TestPartitionValueChecked(t *testing.T) {
	p := &Profile{Name: "p", Table: "t", Key: []string{"id"}, Partition: "day"}
	bad := "2024-06-\xff5"
	days := []string{"2024-06-05", "2024-06-05", bad, "2024-06-05", bad, "2024-06-06", "2024-06-05", "2024-06-\x005", "2024-06-06"}
	var b strings.Builder
	b.WriteString("id,day\n")
	for i, d := range days {
		fmt.Fprintf(&b, "%d,%s\n", i, d)
	}
	tbl, q, err := Open(format.NewReaderBytes([]byte(b.String()), format.Options{}), map[string]*Profile{"p": p}, "p", "", strings.NewReader(""))
	if err != nil || q != "" {
		t.Fatalf("open: %q %v", q, err)
	}
	s := &sink{}
	if err := tbl.Read(Object{Key: "x.csv", URL: "file:///x"}, s); err != nil {
		t.Fatal(err)
	}
	var want []string
	rows := 0
	for _, d := range days {
		if d == bad {
			want = append(want, "invalid UTF-8 in a field")
		} else if err := partitions.CheckValue(d); err != nil {
			want = append(want, "partition value: "+err.Error())
		} else {
			rows++
		}
	}
	if s.rows != rows || fmt.Sprint(s.reasons) != fmt.Sprint(want) {
		t.Fatalf("rows %d, rejects %q; want %d, %q", s.rows, s.reasons, rows, want)
	}
}
