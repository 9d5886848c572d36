package main

import "github.com/eventlake/eventlake/bench/corpus"

// subscriberShape: an additional subscriber's Pismo files (seed 002): the
// envelopes pretty-printed, every value on its own line, one object after
// another, raw. DuckDB reads them with read_json (format unstructured).
func subscriberShape() shape {
	return shape{
		Name:  "pismo-subscriber",
		Title: "Pismo additional subscriber, pretty-printed concatenated objects, raw",
		Spec: func(cfg *config) corpus.Spec {
			s := cfg.spec
			s.Layout, s.Gzip = corpus.LayoutSubscriber, false
			s.Objects = scaled(cfg, s.Objects)
			return s
		},
		Duck:  "pismo-subscriber",
		Table: "events",
	}
}
