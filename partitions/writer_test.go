package partitions

import (
	"bytes"
	"cmp"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/eventlake/eventlake/internal/native"
)

const day = int64(microsPerDay)

// day0 is 2024-02-28T00:00:00Z in micros, so test data crosses a leap day.
const day0 = int64(1709078400) * 1_000_000

func ptr[T any](v T) *T { return &v }

// pismoRow builds a Pismo-like event row.
func pismoRow(r *rand.Rand, i int, domain string, eventTime int64) EventRow {
	row := EventRow{
		EventID:    fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", r.Uint32(), r.IntN(1<<16), r.IntN(1<<12), r.IntN(1<<12), r.Int64N(1<<48)),
		EventType:  []string{"customer_creation", "account_status_change", "authorization_event"}[r.IntN(3)],
		EventTime:  eventTime,
		Object:     "s3://pismo-events-1234/main_stream/2024/02/28/10/batch-" + fmt.Sprint(i/500),
		Line:       int64(i + 1),
		Offset:     int64(i) * 700,
		LoadID:     "L",
		IngestedAt: day0 + 7*day,
		Domain:     domain,
	}
	if r.IntN(4) != 0 {
		row.SchemaVersion = ptr(int32(r.IntN(5)))
	}
	if r.IntN(3) != 0 {
		row.OrgID = ptr(fmt.Sprintf("TN-%d", r.IntN(4)))
	}
	if r.IntN(2) == 0 {
		row.CID = ptr(fmt.Sprintf("cid-%d", r.IntN(1000)))
	}
	// Raw JSON with unusual spacing and escapes: it must be stored verbatim.
	row.Data = fmt.Sprintf(`{"account_id": %d,  "status":"ACTIVE" , "name":"Jos\u00e9 %d", "tags":[ ], "limits":{"credit":%d.%02d,"currency":"BRL"},"note":%q}`,
		r.IntN(1e9), i, r.IntN(1e6), r.IntN(100), strings.Repeat("x", r.IntN(400)))
	return row
}

// rowBytes approximates the size of a row's data, for b.SetBytes.
func rowBytes(r *EventRow) int64 {
	n := len(r.EventID) + len(r.EventType) + len(r.Data) + len(r.Object) + len(r.LoadID) + 4*8
	if r.SchemaVersion != nil {
		n += 4
	}
	if r.OrgID != nil {
		n += len(*r.OrgID)
	}
	if r.CID != nil {
		n += len(*r.CID)
	}
	return int64(n)
}

// readParquet opens a staged file and returns its rows and metadata.
func readParquet[T any](t testing.TB, abs string) ([]T, *parquet.File) {
	t.Helper()
	rows, err := parquet.ReadFile[T](abs)
	if err != nil {
		t.Fatalf("read %s: %v", abs, err)
	}
	return rows, openParquet(t, abs)
}

// openParquet opens the Parquet file at path with parquet-go; it is closed
// when the test ends.
func openParquet(t testing.TB, path string) *parquet.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	return pf
}

// stagedFiles lists the regular files under root, relative and '/'-separated.
func stagedFiles(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// parseEventPartition splits "domain=<d>/event_date=<date>".
func parseEventPartition(t *testing.T, partition string) (domain, date string) {
	t.Helper()
	d, e, ok := strings.Cut(partition, "/")
	if !ok || !strings.HasPrefix(d, "domain=") || !strings.HasPrefix(e, "event_date=") {
		t.Fatalf("bad partition %q", partition)
	}
	domain, err := Unescape(strings.TrimPrefix(d, "domain="))
	if err != nil {
		t.Fatal(err)
	}
	return domain, strings.TrimPrefix(e, "event_date=")
}

func checkEventSchema(t *testing.T, name string, pf *parquet.File) {
	t.Helper()
	md := pf.Metadata()
	cols := map[string]format.SchemaElement{}
	for _, el := range md.Schema[1:] {
		cols[el.Name] = el
	}
	wantCols := []string{"event_id", "event_type", "schema_version", "org_id", "cid", "event_time", "data", "_object", "_line", "_offset", "_load_id", "_ingested_at"}
	if len(cols) != len(wantCols) {
		t.Errorf("%s: %d columns, want %d: %v", name, len(cols), len(wantCols), slices.Sorted(func(yield func(string) bool) {
			for k := range cols {
				if !yield(k) {
					return
				}
			}
		}))
	}
	for _, c := range wantCols {
		if _, ok := cols[c]; !ok {
			t.Errorf("%s: missing column %q", name, c)
		}
	}
	if _, ok := cols["domain"]; ok {
		t.Errorf("%s: partition column domain is stored in the file", name)
	}
	for _, c := range []string{"event_time", "_ingested_at"} {
		lt := cols[c].LogicalType
		ts, ok := lt.Value.(*format.TimestampType)
		if !ok {
			t.Errorf("%s: %s logical type = %v, want TIMESTAMP", name, c, &lt)
			continue
		}
		if !ts.IsAdjustedToUTC {
			t.Errorf("%s: %s is not UTC-adjusted", name, c)
		}
		if _, ok := ts.Unit.Value.(*format.MicroSeconds); !ok {
			t.Errorf("%s: %s unit = %v, want MICROS", name, c, &ts.Unit)
		}
	}
	if lt := cols["data"].LogicalType; !isJSON(lt) {
		t.Errorf("%s: data logical type = %v, want JSON", name, &lt)
	}
	for i, rg := range md.RowGroups {
		for _, cc := range rg.Columns {
			if cc.MetaData.Codec != format.Zstd {
				t.Errorf("%s: row group %d column %v codec = %v, want ZSTD", name, i, cc.MetaData.PathInSchema, cc.MetaData.Codec)
			}
		}
	}
	if v, ok := pf.Lookup("eventlake.load_id"); !ok || v != "L" {
		t.Errorf("%s: eventlake.load_id = %q, %v; want L", name, v, ok)
	}
	if !strings.HasPrefix(md.CreatedBy, "eventlake version ") {
		t.Errorf("%s: created_by = %q", name, md.CreatedBy)
	}
}

func isJSON(lt format.LogicalType) bool {
	_, ok := lt.Value.(*format.JsonType)
	return ok
}

func TestEventWriterRoundTrip(t *testing.T) {
	lake := t.TempDir()
	stage, err := NewStage(stagingDir(lake, "L"), "L")
	if err != nil {
		t.Fatal(err)
	}
	opts := WriterOptions{MaxOpenFiles: 2, RowGroupRows: 50, MaxFileRows: 120}
	w := NewEventWriter(stage, opts)

	r := rand.New(rand.NewPCG(1, 2))
	domains := []string{"account", "a/b", "", "..", "contá=日本", DefaultPartition}
	const nRows = 3000
	var want []EventRow
	d, dayN := domains[0], int64(0)
	for i := range nRows {
		// Mostly in runs (like real files), sometimes jumping around.
		if r.IntN(10) == 0 {
			d, dayN = domains[r.IntN(len(domains))], int64(r.IntN(3))
		}
		ts := day0 + dayN*day + r.Int64N(day)
		if i%97 == 0 {
			ts = day0 - 1 // the last microsecond of the previous day
		}
		want = append(want, pismoRow(r, i, d, ts))
	}

	// Write in batches through one reused buffer, scribbling over it after
	// every Write: the writer must have copied what it keeps.
	buf := make([]EventRow, 0, 37)
	for i := 0; i < nRows; i += 37 {
		buf = append(buf[:0], want[i:min(i+37, nRows)]...)
		if err := w.Write(buf); err != nil {
			t.Fatal(err)
		}
		for j := range buf {
			buf[j] = EventRow{EventID: "garbage", Domain: "garbage", Data: "{}"}
		}
	}
	files, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}

	if !slices.IsSortedFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) }) {
		t.Error("files are not sorted by Path")
	}
	// The staging area is flat: one file per part, under its own name.
	var paths []string
	for _, f := range files {
		paths = append(paths, path.Base(f.Path))
	}
	slices.Sort(paths)
	if got := stagedFiles(t, stage.Root()); !slices.Equal(got, paths) {
		t.Errorf("staged files = %v\nwant %v", got, paths)
	}

	// Rows per partition, in write order.
	wantByPart := map[string][]EventRow{}
	for _, row := range want {
		p := Dir("domain", row.Domain, "event_date", EventDate(row.EventTime))
		wantByPart[p] = append(wantByPart[p], row)
	}
	gotByPart := map[string][]EventRow{}
	filesPerPart := map[string]int{}
	for _, f := range files {
		if f.Table != "events" {
			t.Errorf("%s: Table = %q", f.Path, f.Table)
		}
		dir, name := path.Split(f.Path)
		if dir != "events/"+f.Partition+"/" {
			t.Errorf("%s: not under events/%s/", f.Path, f.Partition)
		}
		var n int
		if _, err := fmt.Sscanf(name, "part-L-%05d.parquet", &n); err != nil || name != fmt.Sprintf("part-L-%05d.parquet", n) {
			t.Errorf("%s: bad file name %q", f.Path, name)
		}
		domain, date := parseEventPartition(t, f.Partition)
		abs := stage.Staged(f.Path)
		rows, pf := readParquet[EventRow](t, abs)
		checkEventSchema(t, f.Path, pf)

		st, err := os.Stat(abs)
		if err != nil {
			t.Fatal(err)
		}
		if f.Bytes != st.Size() {
			t.Errorf("%s: Bytes = %d, file size %d", f.Path, f.Bytes, st.Size())
		}
		if extra := st.Mode().Perm() &^ 0o644; extra != 0 {
			t.Errorf("%s: mode %v, want at most 0644", f.Path, st.Mode().Perm())
		}
		if f.Rows != int64(len(rows)) || f.Rows != pf.NumRows() {
			t.Errorf("%s: Rows = %d, read %d rows, footer %d", f.Path, f.Rows, len(rows), pf.NumRows())
		}
		if f.Rows > opts.MaxFileRows || f.Rows == 0 {
			t.Errorf("%s: %d rows, want 1..%d", f.Path, f.Rows, opts.MaxFileRows)
		}
		for i, rg := range pf.Metadata().RowGroups {
			if rg.NumRows > opts.RowGroupRows {
				t.Errorf("%s: row group %d has %d rows, want <= %d", f.Path, i, rg.NumRows, opts.RowGroupRows)
			}
		}
		minT, maxT := rows[0].EventTime, rows[0].EventTime
		for i := range rows {
			if rows[i].Domain != "" {
				t.Fatalf("%s: Domain read back from the file", f.Path)
			}
			if got := EventDate(rows[i].EventTime); got != date {
				t.Errorf("%s: row event date %s in partition %s", f.Path, got, date)
			}
			rows[i].Domain = domain // from the directory
			minT, maxT = min(minT, rows[i].EventTime), max(maxT, rows[i].EventTime)
		}
		if f.MinTime != minT || f.MaxTime != maxT {
			t.Errorf("%s: MinTime/MaxTime = %d/%d, want %d/%d", f.Path, f.MinTime, f.MaxTime, minT, maxT)
		}
		// Files of one partition are created in name order, and Path sorts
		// by name within a partition, so appending keeps write order.
		gotByPart[f.Partition] = append(gotByPart[f.Partition], rows...)
		filesPerPart[f.Partition]++
	}

	if len(gotByPart) != len(wantByPart) {
		t.Errorf("%d partitions written, want %d", len(gotByPart), len(wantByPart))
	}
	multi := 0
	for p, wantRows := range wantByPart {
		gotRows := gotByPart[p]
		if len(gotRows) != len(wantRows) {
			t.Errorf("partition %s: %d rows, want %d", p, len(gotRows), len(wantRows))
			continue
		}
		for i := range wantRows {
			if !reflect.DeepEqual(gotRows[i], wantRows[i]) {
				t.Errorf("partition %s row %d:\n got %+v\nwant %+v", p, i, gotRows[i], wantRows[i])
				break
			}
		}
		if filesPerPart[p] > 1 {
			multi++
		}
	}
	// MaxOpenFiles=2 over 18 partitions and MaxFileRows=120: most partitions
	// must have been split over several part files.
	if multi < len(wantByPart)/2 {
		t.Errorf("only %d of %d partitions have several part files", multi, len(wantByPart))
	}
	if _, ok := wantByPart["domain=%2E%2E/event_date=2024-02-27"]; !ok {
		t.Error(`test data lacks the ".." domain on the day before day0`)
	}
}

func TestEventWriterRollsOverAtMaxFileRows(t *testing.T) {
	stage, err := NewStage(stagingDir(t.TempDir(), "L"), "L")
	if err != nil {
		t.Fatal(err)
	}
	w := NewEventWriter(stage, WriterOptions{MaxFileRows: 100, RowGroupRows: 30})
	r := rand.New(rand.NewPCG(3, 4))
	rows := make([]EventRow, 250)
	for i := range rows {
		rows[i] = pismoRow(r, i, "account", day0+int64(i))
	}
	if err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	files, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, f := range files {
		got = append(got, f.Rows)
		_, pf := readParquet[EventRow](t, stage.Staged(f.Path))
		var rgRows []int64
		for _, rg := range pf.Metadata().RowGroups {
			rgRows = append(rgRows, rg.NumRows)
		}
		wantRG := []int64{30, 30, 30, 10}
		if f.Rows == 50 {
			wantRG = []int64{30, 20}
		}
		if !slices.Equal(rgRows, wantRG) {
			t.Errorf("%s: row groups %v, want %v", f.Path, rgRows, wantRG)
		}
	}
	if want := []int64{100, 100, 50}; !slices.Equal(got, want) {
		t.Errorf("file rows = %v, want %v", got, want)
	}
	if files[0].MinTime != day0 || files[2].MaxTime != day0+249 {
		t.Errorf("times: first min %d, last max %d", files[0].MinTime, files[2].MaxTime)
	}
}

func TestEventWriterRowGroupBytes(t *testing.T) {
	stage, err := NewStage(stagingDir(t.TempDir(), "L"), "L")
	if err != nil {
		t.Fatal(err)
	}
	w := NewEventWriter(stage, WriterOptions{RowGroupBytes: 256 << 10})
	r := rand.New(rand.NewPCG(5, 6))
	rows := make([]EventRow, 400)
	for i := range rows {
		rows[i] = pismoRow(r, i, "account", day0)
		// ~16 KB of incompressible-ish JSON per row.
		var b strings.Builder
		b.WriteString(`{"blob":"`)
		for range 1000 {
			fmt.Fprintf(&b, "%016x", r.Uint64())
		}
		b.WriteString(`"}`)
		rows[i].Data = b.String()
	}
	if err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	files, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 {
		t.Fatalf("%d files, want 1", len(files))
	}
	got, pf := readParquet[EventRow](t, stage.Staged(files[0].Path))
	rgs := pf.Metadata().RowGroups
	// 400 rows × 16 KB = 6.4 MB with a 256 KiB budget checked every 64
	// rows: every row group but the last holds exactly 64 rows.
	if len(rgs) < 6 {
		t.Errorf("%d row groups, want the 256 KiB budget to split them (>= 6)", len(rgs))
	}
	for i, rg := range rgs[:len(rgs)-1] {
		if rg.NumRows > writeChunkRows {
			t.Errorf("row group %d: %d rows, want <= %d", i, rg.NumRows, writeChunkRows)
		}
	}
	if len(got) != len(rows) || got[399].Data != rows[399].Data {
		t.Errorf("read back %d rows, want %d with matching data", len(got), len(rows))
	}
}

func TestRejectWriter(t *testing.T) {
	stage, err := NewStage(stagingDir(t.TempDir(), "L"), "L")
	if err != nil {
		t.Fatal(err)
	}
	w := NewRejectWriter(stage, WriterOptions{MaxOpenFiles: 1})
	var want []RejectRow
	for i := range 30 {
		want = append(want, RejectRow{
			Object:     "gs://bucket/2024-02-28/export-1.ndjson.gz",
			Line:       int64(i + 1),
			Offset:     int64(i * 100),
			Reason:     "partition value is not valid UTF-8",
			Raw:        fmt.Sprintf(`{"id":%d,"domain":"\xff"}`, i),
			RawBytes:   int64(20 + i),
			Profile:    "fulfillmenttools",
			LoadID:     "L",
			IngestedAt: day0 + int64(i/10)*day,                                      // three load dates
			RawExact:   fmt.Appendf(nil, `{"id":%d,"domain":"\xff"}`+"\x00\xfe", i), // any bytes, kept as they are
		})
	}
	// Alternate days so the single open file is finished and reopened.
	order := []int{0, 10, 1, 20, 11, 2, 21, 12}
	for i := range want {
		if !slices.Contains(order, i) {
			order = append(order, i)
		}
	}
	for _, i := range order {
		if err := w.Write([]RejectRow{want[i]}); err != nil {
			t.Fatal(err)
		}
	}
	files, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]RejectRow{}
	for _, f := range files {
		if f.Table != "_rejects" || f.MinTime != 0 || f.MaxTime != 0 {
			t.Errorf("%s: Table %q MinTime %d MaxTime %d", f.Path, f.Table, f.MinTime, f.MaxTime)
		}
		if !strings.HasPrefix(f.Path, "_rejects/"+f.Partition+"/part-L-") {
			t.Errorf("bad path %s for partition %s", f.Path, f.Partition)
		}
		rows, pf := readParquet[RejectRow](t, stage.Staged(f.Path))
		if v, _ := pf.Lookup("eventlake.load_id"); v != "L" {
			t.Errorf("%s: load id metadata %q", f.Path, v)
		}
		got[f.Partition] = append(got[f.Partition], rows...)
	}
	for d := range 3 {
		p := "load_date=" + EventDate(day0+int64(d)*day)
		var wantRows []RejectRow
		for _, i := range order {
			if want[i].IngestedAt == day0+int64(d)*day {
				wantRows = append(wantRows, want[i])
			}
		}
		if !reflect.DeepEqual(got[p], wantRows) {
			t.Errorf("partition %s:\n got %+v\nwant %+v", p, got[p], wantRows)
		}
	}
	if len(got) != 3 {
		t.Errorf("%d partitions, want 3", len(got))
	}
}

func TestAbortRemovesFiles(t *testing.T) {
	for _, afterClose := range []bool{false, true} {
		t.Run(fmt.Sprintf("afterClose=%v", afterClose), func(t *testing.T) {
			stage, err := NewStage(stagingDir(t.TempDir(), "L"), "L")
			if err != nil {
				t.Fatal(err)
			}
			w := NewEventWriter(stage, WriterOptions{MaxOpenFiles: 2})
			r := rand.New(rand.NewPCG(7, 8))
			for i := range 5 {
				if err := w.Write([]EventRow{pismoRow(r, i, fmt.Sprint("d", i), day0)}); err != nil {
					t.Fatal(err)
				}
			}
			// 3 files finished by the LRU, 2 still open.
			if got := len(stagedFiles(t, stage.Root())); got != 5 {
				t.Fatalf("%d staged files before Abort, want 5", got)
			}
			if afterClose {
				if _, err := w.Close(); err != nil {
					t.Fatal(err)
				}
			}
			w.Abort()
			if got := stagedFiles(t, stage.Root()); len(got) != 0 {
				t.Errorf("files left after Abort: %v", got)
			}
			entries, err := os.ReadDir(stage.Root())
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 0 {
				t.Errorf("staging root not empty after Abort: %v", entries)
			}
			if err := w.Write([]EventRow{pismoRow(r, 9, "d", day0)}); err == nil {
				t.Error("Write after Abort succeeded")
			}
			if _, err := w.Close(); err == nil {
				t.Error("Close after Abort succeeded")
			}
		})
	}
}

func TestWriterCloseTwiceAndWriteAfterClose(t *testing.T) {
	stage, err := NewStage(stagingDir(t.TempDir(), "L"), "L")
	if err != nil {
		t.Fatal(err)
	}
	w := NewEventWriter(stage, WriterOptions{})
	files, err := w.Close()
	if err != nil || len(files) != 0 {
		t.Fatalf("Close of empty writer = %v, %v; want no files", files, err)
	}
	if _, err := w.Close(); err == nil {
		t.Error("second Close succeeded")
	}
	if err := w.Write([]EventRow{{Domain: "a"}}); err == nil {
		t.Error("Write after Close succeeded")
	}
	if err := w.Write(nil); err != nil {
		t.Errorf("empty Write after Close: %v (an empty write touches nothing)", err)
	}
}

func TestWriterErrorIsSticky(t *testing.T) {
	stage, err := NewStage(stagingDir(t.TempDir(), "L"), "L")
	if err != nil {
		t.Fatal(err)
	}
	// A directory where the first part file should be staged: creating it
	// fails, even as root.
	if err := os.Mkdir(filepath.Join(stage.Root(), "part-L-00000.parquet"), 0o755); err != nil {
		t.Fatal(err)
	}
	w := NewEventWriter(stage, WriterOptions{})
	r := rand.New(rand.NewPCG(9, 10))
	err = w.Write([]EventRow{pismoRow(r, 0, "account", day0)})
	if err == nil || !strings.Contains(err.Error(), "events/domain=account/event_date=2024-02-28/part-L-") {
		t.Fatalf("Write error = %v, want one naming the file", err)
	}
	if err2 := w.Write([]EventRow{pismoRow(r, 1, "other", day0)}); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("second Write error = %v, want the first error again", err2)
	}
	if files, err := w.Close(); err == nil || files != nil {
		t.Errorf("Close = %v, %v; want nil files and an error", files, err)
	}
	w.Abort()
}

func TestWriterOptionsDefaults(t *testing.T) {
	got := WriterOptions{ZstdLevel: 25}.withDefaults()
	want := WriterOptions{MaxOpenFiles: 128, RowGroupRows: 65536, MaxFileRows: 4_000_000, ZstdLevel: MaxZstdLevel, RowGroupBytes: 16 << 20, MemoryBytes: 24 << 20, SpillBytes: 8 << 20}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("withDefaults = %+v, want %+v", got, want)
	}
	if got := (WriterOptions{ZstdLevel: -1}).withDefaults().ZstdLevel; got != 1 {
		t.Errorf("ZstdLevel -1 → %d, want 1", got)
	}
}

// TestZstdLevels writes and reads back files at several zstd levels, with
// the system's libzstd (when it is there) and with the pure-Go encoder.
func TestZstdLevels(t *testing.T) {
	for _, useNative := range []bool{true, false} {
		if useNative && !native.HasZstd() {
			t.Log("libzstd not loaded: only the pure-Go encoder is tested")
			continue
		}
		restore := native.Use(true, useNative)
		testZstdLevels(t, useNative)
		restore()
	}
}

func testZstdLevels(t *testing.T, useNative bool) {
	for _, level := range []int{1, 3, 9, MaxZstdLevel} {
		stage, err := NewStage(stagingDir(t.TempDir(), "L"), "L")
		if err != nil {
			t.Fatal(err)
		}
		w := NewEventWriter(stage, WriterOptions{ZstdLevel: level})
		r := rand.New(rand.NewPCG(11, 12))
		want := []EventRow{pismoRow(r, 0, "account", day0), pismoRow(r, 1, "account", day0+1)}
		if err := w.Write(want); err != nil {
			t.Fatal(err)
		}
		files, err := w.Close()
		if err != nil {
			t.Fatal(err)
		}
		got, _ := readParquet[EventRow](t, stage.Staged(files[0].Path))
		for i := range got {
			got[i].Domain = "account"
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("level %d (native %v): rows differ after round trip", level, useNative)
		}
	}
}

// TestZstdCodecFrames checks that pages compressed by either encoder are
// standard zstd frames the other side decodes, and that higher levels
// compress repetitive JSON at least as well as level 1.
func TestZstdCodecFrames(t *testing.T) {
	page := []byte(strings.Repeat(`{"event_id":"a9f3","amount":{"value":1999,"currency":"BRL"},"status":"approved"}`+"\n", 2000))
	for _, useNative := range []bool{true, false} {
		restore := native.Use(true, useNative)
		var sizes []int
		for _, level := range []int{1, 3, 9} {
			c := zstdCodecs[level]
			enc, err := c.Encode(nil, page)
			if err != nil {
				t.Fatalf("native %v level %d: %v", useNative, level, err)
			}
			dec, err := c.Decode(nil, enc)
			if err != nil || !bytes.Equal(dec, page) {
				t.Fatalf("native %v level %d: round trip failed: %v", useNative, level, err)
			}
			sizes = append(sizes, len(enc))
		}
		if sizes[1] > sizes[0] || sizes[2] > sizes[0] {
			t.Errorf("native %v: sizes by level 1/3/9 = %v; higher levels should not be larger", useNative, sizes)
		}
		if empty, err := zstdCodecs[1].Encode(nil, nil); err != nil {
			t.Errorf("native %v: empty page: %v", useNative, err)
		} else if dec, err := zstdCodecs[1].Decode(nil, empty); err != nil || len(dec) != 0 {
			t.Errorf("native %v: empty page round trip = %q, %v", useNative, dec, err)
		}
		restore()
	}
}

// TestEventWriterPublishFlow stages files and publishes them into the lake.
func TestEventWriterPublishFlow(t *testing.T) {
	lake := t.TempDir()
	stage, err := NewStage(stagingDir(lake, "L"), "L")
	if err != nil {
		t.Fatal(err)
	}
	w := NewEventWriter(stage, WriterOptions{})
	r := rand.New(rand.NewPCG(13, 14))
	if err := w.Write([]EventRow{pismoRow(r, 0, "a/b", day0), pismoRow(r, 1, "c", day0+day)}); err != nil {
		t.Fatal(err)
	}
	files, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := Publish(lake, stagingDir(lake, "L"), f.Path); err != nil {
			t.Fatal(err)
		}
	}
	if err := stage.Remove(); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		rows, _ := readParquet[EventRow](t, filepath.Join(lake, filepath.FromSlash(f.Path)))
		if len(rows) != 1 {
			t.Errorf("%s: %d rows", f.Path, len(rows))
		}
	}
	if files[0].Path != "events/domain=a%2Fb/event_date=2024-02-28/part-L-00000.parquet" {
		t.Errorf("first file %s", files[0].Path)
	}
}

func TestEventWriterRejectsBadDomain(t *testing.T) {
	stage, err := NewStage(stagingDir(t.TempDir(), "L"), "L")
	if err != nil {
		t.Fatal(err)
	}
	w := NewEventWriter(stage, WriterOptions{})
	r := rand.New(rand.NewPCG(15, 16))
	good := pismoRow(r, 0, "account", day0)
	bad := pismoRow(r, 1, strings.Repeat("d", 300), day0)
	err = w.Write([]EventRow{good, bad})
	if err == nil || !strings.Contains(err.Error(), "line 2 of s3://") || !strings.Contains(err.Error(), "300 bytes") {
		t.Fatalf("Write error = %v, want one naming the line and the problem", err)
	}
	// The writer is still usable and kept the good row.
	if err := w.Write([]EventRow{good}); err != nil {
		t.Fatalf("Write after a bad domain: %v", err)
	}
	files, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Rows != 2 {
		t.Errorf("files = %+v, want one file with 2 rows", files)
	}
}

// TestMemoryBudgetFlushesInsteadOfClosing: many partitions under a small
// budget produce smaller row groups, never more files than partitions.
func TestMemoryBudgetFlushesInsteadOfClosing(t *testing.T) {
	lake := t.TempDir()
	st, err := NewStage(stagingDir(lake, "20240101T000000Z-budget"), "20240101T000000Z-budget")
	if err != nil {
		t.Fatal(err)
	}
	w := NewEventWriter(st, WriterOptions{MemoryBytes: 256 << 10})
	const parts = 40
	var rows []EventRow
	for i := 0; i < 20000; i++ {
		rows = append(rows, EventRow{
			EventID: fmt.Sprintf("e%06d", i), EventType: "t", Domain: fmt.Sprintf("d%02d", i%parts),
			EventTime: int64(i%3) * 86400e6, Data: fmt.Sprintf(`{"n":%d,"pad":"%0200d"}`, i, i), Object: "o", LoadID: "l",
		})
	}
	for i := 0; i < len(rows); i += 100 {
		if err := w.Write(rows[i : i+100]); err != nil {
			t.Fatal(err)
		}
		if w.set.pending > 256<<10+64<<10 {
			t.Fatalf("pending %d bytes, budget 256 KiB", w.set.pending)
		}
	}
	files, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != parts*3 {
		t.Errorf("%d files for %d partitions", len(files), parts*3)
	}
	var n int64
	groups := 0
	for _, f := range files {
		n += f.Rows
		pf, err := os.Open(st.Staged(f.Path))
		if err != nil {
			t.Fatal(err)
		}
		info, _ := pf.Stat()
		file, err := parquet.OpenFile(pf, info.Size())
		if err != nil {
			t.Fatal(err)
		}
		groups += len(file.RowGroups())
		pf.Close()
	}
	if n != int64(len(rows)) {
		t.Errorf("%d rows written, want %d", n, len(rows))
	}
	// The budget was enforced by flushing row groups early.
	if groups <= len(files) {
		t.Errorf("%d row groups in %d files: the budget never flushed", groups, len(files))
	}
}

// TestRowGroupCapRollsFiles: a file is rolled over after maxRowGroups row
// groups, so per-file metadata held in memory stays bounded.
func TestRowGroupCapRollsFiles(t *testing.T) {
	st, err := NewStage(stagingDir(t.TempDir(), "20240101T000000Z-rgcap"), "20240101T000000Z-rgcap")
	if err != nil {
		t.Fatal(err)
	}
	w := NewEventWriter(st, WriterOptions{RowGroupRows: 10})
	var rows []EventRow
	for i := 0; i < 10*maxRowGroups*2+5; i++ {
		rows = append(rows, EventRow{EventID: fmt.Sprint(i), Domain: "d", Data: "{}", Object: "o", LoadID: "l"})
	}
	if err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	files, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 || files[0].Rows != 10*maxRowGroups || files[2].Rows != 5 {
		t.Errorf("files = %+v, want 2 full files and one of 5 rows", files)
	}
}

func TestGroupByPartition(t *testing.T) {
	day := int64(86400e6)
	rows := []EventRow{
		{EventID: "1", Domain: "b", EventTime: 2 * day},
		{EventID: "2", Domain: "a", EventTime: 2 * day},
		{EventID: "3", Domain: "b", EventTime: 1 * day},
		{EventID: "4", Domain: "a", EventTime: 2*day + 5},
		{EventID: "5", Domain: "a", EventTime: -1},
	}
	var got string
	for _, r := range GroupByPartition(nil, rows) {
		got += r.EventID
	}
	if got != "52431" {
		t.Errorf("order %s, want 52431 (domain, then day, stable within)", got)
	}
	one := rows[1:2]
	if g := GroupByPartition(nil, one); &g[0] != &one[0] {
		t.Error("one partition: rows were copied")
	}
	// One partition of several event types: grouped by type, stable.
	typed := []EventRow{
		{EventID: "1", EventType: "b"}, {EventID: "2", EventType: "a"}, {EventID: "3", EventType: "b"},
		{EventID: "4", EventType: "c"}, {EventID: "5", EventType: "a"},
	}
	if g := GroupByPartition(nil, typed); !slices.Equal(eventIDs(g), []string{"2", "5", "1", "3", "4"}) {
		t.Errorf("one partition, three types: order %v, want [2 5 1 3 4]", eventIDs(g))
	}
	GroupInPlace(typed)
	if !slices.Equal(eventIDs(typed), []string{"2", "5", "1", "3", "4"}) {
		t.Errorf("GroupInPlace, one partition, three types: order %v, want [2 5 1 3 4]", eventIDs(typed))
	}
	// Many partitions and types (the index paths), checked against a
	// stable sort.
	for _, c := range []struct{ domains, days, types int }{{3, 2, 4}, {30, 40, 5}, {2, 3, 40}, {30, 40, 60}} {
		r := rand.New(rand.NewPCG(3, 4))
		var many []EventRow
		for i := range 5000 {
			many = append(many, EventRow{
				EventID:   fmt.Sprint(i),
				EventType: fmt.Sprint("t", r.IntN(c.types)),
				Domain:    fmt.Sprint("d", r.IntN(c.domains)),
				EventTime: r.Int64N(int64(c.days)) * day,
			})
		}
		want := slices.Clone(many)
		slices.SortStableFunc(want, func(x, y EventRow) int {
			if c := strings.Compare(x.Domain, y.Domain); c != 0 {
				return c
			}
			if c := cmp.Compare(dayOf(x.EventTime), dayOf(y.EventTime)); c != 0 {
				return c
			}
			return strings.Compare(x.EventType, y.EventType)
		})
		if g := GroupByPartition(make([]EventRow, 10), many); !slices.Equal(eventIDs(g), eventIDs(want)) {
			t.Errorf("%+v: order differs from a stable sort by (domain, day, event type)", c)
		}
		GroupInPlace(many)
		if !slices.Equal(eventIDs(many), eventIDs(want)) {
			t.Errorf("%+v: GroupInPlace: order differs from a stable sort by (domain, day, event type)", c)
		}
	}
}

func eventIDs(rows []EventRow) []string {
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.EventID)
	}
	return ids
}
