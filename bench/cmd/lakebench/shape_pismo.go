package main

import "github.com/eventlake/eventlake/bench/corpus"

const (
	shapePismoRaw = "pismo-raw"
	shapePismoGz  = "pismo-gz"
)

// pismoRawShape: Pismo's main_stream as delivered (seed 000): objects of raw
// NDJSON envelopes, no file extension; DuckDB reads them with read_json
// (newline_delimited).
func pismoRawShape() shape {
	return shape{
		Name:  shapePismoRaw,
		Title: "Pismo main_stream, raw NDJSON without extension",
		Spec: func(cfg *config) corpus.Spec {
			s := cfg.spec
			s.Gzip = false
			s.Objects = scaled(cfg, s.Objects)
			return s
		},
		Duck:  "pismo",
		Table: "events",
	}
}

// pismoGzShape: the same deliveries gzipped — the corpus the corpus flags
// describe, and the one the -rss, -noop and -query sub-benchmarks use.
func pismoGzShape() shape {
	return shape{
		Name:  shapePismoGz,
		Title: "Pismo main_stream, gzipped NDJSON without extension",
		Spec: func(cfg *config) corpus.Spec {
			s := cfg.spec
			s.Objects = scaled(cfg, s.Objects)
			return s
		},
		Duck:  "pismo",
		Table: "events",
	}
}
