package format

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/eventlake/eventlake/internal/cputime"
)

// pismoEvent is shaped like a Pismo envelope with a modest data payload.
func pismoEvent(i int) map[string]any {
	return map[string]any{
		"event_id":       fmt.Sprintf("%08x-cde2-43f9-b28f-33ea2b452b32", i),
		"domain":         "account",
		"event_type":     "customer_creation",
		"schema_version": 1,
		"org_id":         "TN-a1db4e4e-315f-4a67-9036-ecacd370b561",
		"cid":            "8a3f650b-c80c-451f-993d-7368dba4c715",
		"timestamp":      "2019-07-20T19:03:00.000Z",
		"data": map[string]any{
			"account_id": i,
			"name":       "Jane \"JD\" Doe {x}",
			"tags":       []string{"a", "b", "c"},
			"address":    map[string]any{"street": "Rua X, 123", "city": "São Paulo", "zip": "01000-000"},
			"limits":     []map[string]any{{"type": "credit", "amount": 1000.5}, {"type": "pix", "amount": 200}},
		},
	}
}

var benchData struct {
	once               sync.Once
	ndjson, pretty, gz []byte
	records            int
}

// benchStreams generates ~10 MB streams once: NDJSON, seed-002-style pretty-printed objects, and gzipped NDJSON.
func benchStreams(b testing.TB) (ndjson, pretty, gzipped []byte, records int) {
	benchData.once.Do(func() {
		var nd, pr bytes.Buffer
		for i := 0; nd.Len() < 10<<20; i++ {
			ev := pismoEvent(i)
			line, _ := json.Marshal(ev)
			nd.Write(line)
			nd.WriteByte('\n')
			p, _ := json.MarshalIndent(ev, "", "")
			pr.Write(p)
			pr.WriteByte('\n')
			benchData.records++
		}
		var g bytes.Buffer
		w := gzip.NewWriter(&g)
		w.Write(nd.Bytes())
		w.Close()
		benchData.ndjson, benchData.pretty, benchData.gz = nd.Bytes(), pr.Bytes(), g.Bytes()
	})
	return benchData.ndjson, benchData.pretty, benchData.gz, benchData.records
}

func benchSplit(b *testing.B, data []byte, shape Shape, records int) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	defer cputime.Bench(b)()
	for b.Loop() {
		rd, err := NewReader(bytes.NewReader(data), Options{})
		if err != nil {
			b.Fatal(err)
		}
		if rd.Shape() != shape {
			b.Fatalf("shape %v", rd.Shape())
		}
		n := 0
		for {
			rec, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil || rec.Err != nil {
				b.Fatal(err, rec.Err)
			}
			n++
		}
		if n != records {
			b.Fatalf("%d records, want %d", n, records)
		}
	}
}

func BenchmarkNDJSON(b *testing.B) {
	nd, _, _, n := benchStreams(b)
	benchSplit(b, nd, NDJSON, n)
}

func BenchmarkConcatenated(b *testing.B) {
	_, pretty, _, n := benchStreams(b)
	benchSplit(b, pretty, Concatenated, n)
}

// BenchmarkGunzip measures decompression of the gzipped NDJSON stream (bytes are uncompressed bytes).
func BenchmarkGunzip(b *testing.B) {
	nd, _, gz, _ := benchStreams(b)
	b.SetBytes(int64(len(nd)))
	b.ReportAllocs()
	for b.Loop() {
		rc, _, err := Decompress(bytes.NewReader(gz))
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, rc); err != nil || n != int64(len(nd)) {
			b.Fatal(n, err)
		}
		rc.Close()
	}
}

// BenchmarkSniffGzipNDJSON is the whole path for a fulfillmenttools-style object: gunzip + split.
func BenchmarkSniffGzipNDJSON(b *testing.B) {
	nd, _, gz, records := benchStreams(b)
	b.SetBytes(int64(len(nd)))
	b.ReportAllocs()
	for b.Loop() {
		rd, _, closer, err := Sniff(bytes.NewReader(gz), Options{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			if _, err := rd.Next(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
			n++
		}
		closer.Close()
		if n != records {
			b.Fatalf("%d records, want %d", n, records)
		}
	}
}

// BenchmarkCSV reads a JWO-like order CSV (17 columns), with a quoted
// field in every row or none, with Next and with NextShared.
func BenchmarkCSV(b *testing.B) {
	for _, quoted := range []bool{true, false} {
		var buf bytes.Buffer
		buf.WriteString("order_id,store_id,order_date,order_time,status,sku,description,quantity,unit_price,amount,currency,payment,card_type,customer_id,region,updated_at,note\n")
		desc := "\"Item, size %d\""
		if !quoted {
			desc = "Item size %d"
		}
		for i := 0; buf.Len() < 8<<20; i++ {
			fmt.Fprintf(&buf, "%d,S%03d,2024-06-%02d,2024-06-%02dT10:%02d:00Z,COMPLETED,%08d,"+desc+",%d,%d.99,%d.50,USD,CARD,VISA,C%07d,us-east-1,2024-06-%02d 10:%02d:00,\n",
				1000000+i, i%50, i%28+1, i%28+1, i%60, i*7, i%5, i%9+1, i%100, i%1000, i%99991, i%28+1, i%60)
		}
		data := buf.Bytes()
		for _, shared := range []bool{false, true} {
			name := map[bool]string{false: "plain/", true: "quoted/"}[quoted] + map[bool]string{false: "Next", true: "NextShared"}[shared]
			b.Run(name, func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				defer cputime.Bench(b)()
				for b.Loop() {
					cr, err := NewCSVReader(bytes.NewReader(data), Options{})
					if err != nil {
						b.Fatal(err)
					}
					next := cr.Next
					if shared {
						next = cr.NextShared
					}
					for {
						row, err := next()
						if err == io.EOF {
							break
						}
						if err != nil || row.Err != nil {
							b.Fatal(err, row.Err)
						}
					}
				}
			})
		}
	}
}
