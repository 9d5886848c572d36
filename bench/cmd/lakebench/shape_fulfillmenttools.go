package main

import "github.com/eventlake/eventlake/bench/corpus"

// fulfillmenttoolsShape: the fulfillmenttools public event export (seed
// 004): one YYYY-MM-DD/ folder a day of gzipped NDJSON files
// ({"id", "eventName", "payload", "created"}), loaded with
// --profile fulfillmenttools; DuckDB maps the same columns in SQL.
func fulfillmenttoolsShape() shape {
	return shape{
		Name:  "fulfillmenttools",
		Title: "fulfillmenttools export, gzipped NDJSON day folders (--profile fulfillmenttools)",
		Spec: func(cfg *config) corpus.Spec {
			s := cfg.spec
			s.Layout, s.Gzip = corpus.LayoutFulfillmenttools, true
			s.Objects = scaled(cfg, s.Objects)
			return s
		},
		Profile: "fulfillmenttools",
		Duck:    "fulfillmenttools",
		Table:   "events",
	}
}
