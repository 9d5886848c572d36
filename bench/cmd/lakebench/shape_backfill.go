package main

import "github.com/eventlake/eventlake/bench/corpus"

// backfillShape: a wide backfill — five years of gzipped Pismo deliveries
// (≈ 150,000 events) in one load, 3 domains × 1,826 days ≈ 5,400 day
// partitions. Judged by throughput ≥ 1× DuckDB's and at most one file per
// partition.
func backfillShape() shape {
	return shape{
		Name:  "backfill",
		Title: "wide backfill: 5 years of gzipped Pismo NDJSON in one load, ≈ 5,400 partitions",
		Spec: func(cfg *config) corpus.Spec {
			s := cfg.spec
			s.Objects = scaled(cfg, 20)
			s.ObjectBytes = 8_250_000
			s.Domains, s.Days, s.Gzip = 3, 1826, true
			return s
		},
		Duck:     "pismo",
		Table:    "events",
		Backfill: true,
	}
}
