package main

import "github.com/eventlake/eventlake/bench/corpus"

// jwoShape: Amazon JWO intra-day order reports (seed 003): a CSV file every
// 15 minutes, Order/<date>/<hour>/ALL<minute>.csv000, loaded with
// --profile jwo-orders into the orders table (partitioned by the report
// date of the key, every field kept as text); DuckDB reads them with
// read_csv (all_varchar) and partitions by the date in the file name.
func jwoShape() shape {
	return shape{
		Name:  "jwo-orders",
		Title: "Amazon JWO order reports, CSV, 96 files a day (--profile jwo-orders)",
		Spec: func(cfg *config) corpus.Spec {
			return corpus.Spec{
				Objects:             scaled(cfg, 384), // 4 days of 15-minute reports
				ObjectBytes:         400_000,
				Domains:             4,
				EventTypesPerDomain: 1,
				Orgs:                cfg.spec.Orgs,
				Days:                4,
				DuplicateRate:       cfg.spec.DuplicateRate,
				Seed:                cfg.spec.Seed,
				Layout:              corpus.LayoutJWO,
			}
		},
		Profile: "jwo-orders",
		Duck:    "jwo-orders",
		Table:   "orders",
	}
}
