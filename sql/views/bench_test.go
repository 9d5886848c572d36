package views_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/eventlake/eventlake/bench/corpus"
	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/loader"
	"github.com/eventlake/eventlake/sql/views"
)

// BenchmarkCreate300Types measures what the shell does at start on a lake
// with 300 event types in 10 domains (the benchmark harness's corpus): copy
// the catalog, create every view (the target for the whole start:
// 0.5 s).
func BenchmarkCreate300Types(b *testing.B) {
	src := b.TempDir()
	lake := b.TempDir()
	// The benchmark harness's shell corpus: realistic nested payloads.
	spec := corpus.Spec{Objects: 10, ObjectBytes: 100_000, Domains: 10, EventTypesPerDomain: 30, Orgs: 3, Days: 3, Seed: 1}
	if _, err := corpus.Generate(filepath.Join(src, "c"), spec); err != nil {
		b.Fatal(err)
	}
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
