package partitions

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/eventlake/eventlake/internal/cputime"
)

// manyPartitions writes rowsPer rows to each of nParts partitions in turn
// through a writer with MaxOpenFiles 32, calling sample after every
// partition. It returns the number of files written.
func manyPartitions(tb testing.TB, lake string, nParts, rowsPer int, sample func(part int)) int {
	tb.Helper()
	stage, err := NewStage(stagingDir(lake, "L"), "L")
	if err != nil {
		tb.Fatal(err)
	}
	defer stage.Remove()
	w := NewEventWriter(stage, WriterOptions{MaxOpenFiles: 32})
	r := rand.New(rand.NewPCG(21, 22))
	batch := make([]EventRow, rowsPer)
	for p := range nParts {
		domain := fmt.Sprintf("domain-%04d", p)
		for i := range batch {
			batch[i] = pismoRow(r, p*rowsPer+i, domain, day0+int64(i))
		}
		if err := w.Write(batch); err != nil {
			tb.Fatal(err)
		}
		sample(p)
	}
	files, err := w.Close()
	if err != nil {
		tb.Fatal(err)
	}
	return len(files)
}

// TestEventWriterMemoryBounded writes to 2,000 partitions with MaxOpenFiles
// 32 and checks the live heap stays flat: it must not grow with the number of
// partitions (beyond the small File list Close returns).
func TestEventWriterMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 2,000 fsynced files")
	}
	const nParts, rowsPer = 2000, 5
	live := liveHeap
	base := live()
	var atWarm, peak int64
	n := manyPartitions(t, t.TempDir(), nParts, rowsPer, func(p int) {
		if p%100 != 99 {
			return
		}
		h := live() - base
		peak = max(peak, h)
		if p == 199 {
			atWarm = h
		}
	})
	if n != nParts {
		t.Errorf("%d files, want %d", n, nParts)
	}
	t.Logf("live heap above baseline: after 200 partitions %.1f MiB, peak %.1f MiB", float64(atWarm)/(1<<20), float64(peak)/(1<<20))
	// Generous bounds: 32 open files with small row groups need a few MiB;
	// growth from 200 to 2,000 partitions is only the finished-file list
	// (~1,800 File values, well under 1 MiB).
	const limit = 64 << 20
	if peak > limit {
		t.Errorf("peak live heap %d MiB above baseline, want < %d MiB", peak>>20, limit>>20)
	}
	if growth := peak - atWarm; growth > 8<<20 {
		t.Errorf("live heap grew %.1f MiB between 200 and 2,000 partitions, want < 8 MiB", float64(growth)/(1<<20))
	}
}

// BenchmarkEventWriterManyPartitions writes 2,000 partitions with
// MaxOpenFiles 32 and reports the peak heap in use (sampled after every
// partition, without forcing GC) as peak-heap-MiB.
func BenchmarkEventWriterManyPartitions(b *testing.B) {
	var peak uint64
	var ms runtime.MemStats
	for b.Loop() {
		manyPartitions(b, b.TempDir(), 2000, 20, func(int) {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		})
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}

// BenchmarkEventWriter writes ~100k Pismo-like rows over 20 partitions
// (4 domains × 5 days) in batches of 1,000, with default options. It
// reports the CPU time of the writing thread as cpu-ns/op.
func BenchmarkEventWriter(b *testing.B) {
	const nRows, batchSize = 100_000, 1000
	r := rand.New(rand.NewPCG(31, 32))
	domains := []string{"account", "authorization", "customer", "transaction"}
	rows := make([]EventRow, nRows)
	var size int64
	d, dayN := 0, int64(0)
	for i := range rows {
		if r.IntN(20) == 0 {
			d, dayN = r.IntN(len(domains)), int64(r.IntN(5))
		}
		rows[i] = pismoRow(r, i, domains[d], day0+dayN*day+r.Int64N(day))
		size += rowBytes(&rows[i])
	}
	b.SetBytes(size)
	b.ReportAllocs()
	lake := b.TempDir()
	n := 0
	defer cputime.Bench(b)()
	for b.Loop() {
		stage, err := NewStage(stagingDir(lake, fmt.Sprint("L", n)), fmt.Sprint("L", n))
		if err != nil {
			b.Fatal(err)
		}
		n++
		w := NewEventWriter(stage, WriterOptions{})
		for i := 0; i < nRows; i += batchSize {
			if err := w.Write(rows[i : i+batchSize]); err != nil {
				b.Fatal(err)
			}
		}
		files, err := w.Close()
		if err != nil {
			b.Fatal(err)
		}
		if len(files) != 20 {
			b.Fatalf("%d files, want 20", len(files))
		}
		if err := stage.Remove(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTableWriter writes ~100k JWO-like CSV rows (9 text columns) over
// 4 partitions through one TableWriter, as a load of CSV objects does. It
// reports the CPU time of the writing thread as cpu-ns/op.
func BenchmarkTableWriter(b *testing.B) {
	const nRows, perObject = 100_000, 2600
	cols := []string{"order_id", "store_id", "order_status", "order_total", "currency", "item_count", "is_refund", "order_date", "updated_at"}
	rows := make([]TableRow, nRows)
	var size int64
	for i := range rows {
		date := fmt.Sprintf("2024-06-%02d", 4+i/(nRows/4))
		rows[i] = TableRow{
			Fields: []string{fmt.Sprintf("%s-%08d", date, i), fmt.Sprintf("STORE-%d", i%97), "OPEN", fmt.Sprintf("%d.%02d", i%500, i%100), "USD",
				fmt.Sprint(i%9 + 1), "false", date, fmt.Sprintf("%sT%02d:%02d:%02dZ", date, i%24, i%60, i%60)},
			ReportTime: day0, Object: fmt.Sprintf("s3://b/Order/%s/ALL%04d.csv000", date, i/perObject), Line: int64(i%perObject + 2),
			Offset: int64(i%perObject) * 140, LoadID: "L", IngestedAt: day0,
		}
		for _, f := range rows[i].Fields {
			size += int64(len(f))
		}
	}
	b.SetBytes(size)
	b.ReportAllocs()
	lake := b.TempDir()
	n := 0
	defer cputime.Bench(b)()
	for b.Loop() {
		stage, err := NewStage(stagingDir(lake, fmt.Sprint("L", n)), fmt.Sprint("L", n))
		if err != nil {
			b.Fatal(err)
		}
		n++
		w, err := NewTableWriter(stage, "orders", cols, WriterOptions{BloomColumns: []string{"order_id"}, Spill: true, MaxOpenFiles: 16, MemoryBytes: 16 << 20})
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < nRows; i += perObject {
			part := "report_date=" + rows[i].Fields[7]
			if err := w.Write(part, rows[i:min(i+perObject, nRows)]); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := w.Close(); err != nil {
			b.Fatal(err)
		}
		stage.Remove()
	}
}

// TestOpenFilesHoldOnlyWhatIsWritten: a file open for a partition holds
// buffers for the values written to it, not a whole page's worth per column
// (256 KiB: a load keeps one file open per partition, most of them far from
// a full page; 64 open files held ≈ 90 MiB of buffers never written).
func TestOpenFilesHoldOnlyWhatIsWritten(t *testing.T) {
	const nParts, rowsPer = 64, 50
	live := liveHeap
	lake := t.TempDir()
	stage, err := NewStage(stagingDir(lake, "L"), "L")
	if err != nil {
		t.Fatal(err)
	}
	defer stage.Remove()
	r := rand.New(rand.NewPCG(7, 8))
	rows := make([]EventRow, 0, nParts*rowsPer)
	for p := range nParts {
		for i := range rowsPer {
			rows = append(rows, pismoRow(r, p*rowsPer+i, fmt.Sprint("d", p), day0+r.Int64N(day)))
		}
	}
	base := live()
	w := NewEventWriter(stage, WriterOptions{MaxOpenFiles: nParts})
	for p := range nParts {
		if err := w.Write(rows[p*rowsPer : (p+1)*rowsPer]); err != nil {
			t.Fatal(err)
		}
	}
	held := live() - base
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d open files of %d rows hold %.1f MiB", nParts, rowsPer, float64(held)/(1<<20))
	if held > 16<<20 {
		t.Errorf("%d open files of %d rows hold %d MiB of live heap, want < 16 MiB", nParts, rowsPer, held>>20)
	}
}

// liveHeap returns the bytes of live heap after two collections: what
// writers return to parquet-go's sync.Pools on Reset survives one (the
// pools' victim cache).
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
