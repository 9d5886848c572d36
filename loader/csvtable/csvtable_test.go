package csvtable

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/config"
	"github.com/eventlake/eventlake/loader/format"
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

func (s *sink) Reserve(int)         {}
func (s *sink) Str(p string) string { return strings.Clone(p) }
func (s *sink) Row(int, bool)       { s.rows++ }
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
