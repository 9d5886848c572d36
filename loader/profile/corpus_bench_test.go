package profile

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/eventlake/eventlake/internal/cputime"
	"github.com/eventlake/eventlake/loader/format"
	"github.com/eventlake/eventlake/schema"
)

// corpusRecords reads the records of the export file named by
// EVENTLAKE_BENCH_RECORDS (NDJSON or pretty-printed concatenated JSON, as
// the loader splits them), copied out of the reader's buffer.
func corpusRecords(b *testing.B) [][]byte {
	path := os.Getenv("EVENTLAKE_BENCH_RECORDS")
	if path == "" {
		b.Skip("EVENTLAKE_BENCH_RECORDS names no export file")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	rd := format.NewReaderBytes(raw, format.Options{})
	var recs [][]byte
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		if rec.Err == nil {
			recs = append(recs, bytes.Clone(rec.Data))
		}
	}
	if len(recs) == 0 {
		b.Fatal("no records")
	}
	return recs
}

// BenchmarkPismoCorpus maps every record of a real export file as the
// loader does (MapObserving: validation, envelope and the data's type in
// one walk); ns/op is per record.
func BenchmarkPismoCorpus(b *testing.B) {
	recs := corpusRecords(b)
	size := 0
	defer cputime.Bench(b)()
	for _, r := range recs {
		size += len(r)
	}
	obs := &benchObserver{strs: map[string]string{}, types: map[[2]string]*schema.Type{}}
	var ev Event
	b.SetBytes(int64(size / len(recs)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := (Pismo{}).MapObserving(recs[i%len(recs)], &ev, obs); err != nil {
			b.Fatal(err)
		}
	}
}

// benchObserver types data like the loader's workers: interned domain and
// event type, one type per pair.
type benchObserver struct {
	strs  map[string]string
	types map[[2]string]*schema.Type
}

func (o *benchObserver) str(p []byte) string {
	if s, ok := o.strs[string(p)]; ok {
		return s
	}
	s := string(p)
	o.strs[s] = s
	return s
}

func (o *benchObserver) ObserveData(domain, eventType, b []byte, i int) (int, error) {
	k := [2]string{o.str(domain), o.str(eventType)}
	t := o.types[k]
	if t == nil {
		t = &schema.Type{}
		o.types[k] = t
	}
	end, _, err := t.ObserveStrictAt(b, i, schema.MaxDepth-1)
	return end, err
}
