package views_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/loader"
	"github.com/eventlake/eventlake/sql/views"
)

// BenchmarkCreate300Types measures what the shell does at start on a lake
// with 300 event types in 10 domains: copy the catalog, create every view
// (the target: well under 0.5 s).
func BenchmarkCreate300Types(b *testing.B) {
	src := b.TempDir()
	lake := b.TempDir()
	var sb strings.Builder
	for i := 0; i < 300; i++ {
		for j := 0; j < 3; j++ {
			fmt.Fprintf(&sb, `{"event_id":"e%d-%d","domain":"domain%d","event_type":"type-%d-1","timestamp":"2024-01-0%dT00:00:00Z","data":{"id":%d,"name":"n","nested":{"a":[1,2],"b":"x"},"f%d":true}}`+"\n", i, j, i%10, i, 1+j, i, i%7)
		}
	}
	writeFileB(b, src, "events.ndjson", sb.String())
	if _, err := loader.Run(context.Background(), loader.Options{Lake: lake}, []loader.SourceSpec{{URL: src}}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cat, err := catalog.Open(loader.CatalogPath(lake), catalog.Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		db, err := sql.Open("duckdb", "")
		if err != nil {
			b.Fatal(err)
		}
		conn, err := db.Conn(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		res, err := views.Create(context.Background(), conn, views.Options{Lake: lake, Catalog: cat})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Views) != 300 {
			b.Fatalf("%d views", len(res.Views))
		}
		conn.Close()
		db.Close()
		cat.Close()
	}
}
