package main

import (
	"encoding/json"
	"io"

	"github.com/eventlake/eventlake/catalog"
	lk "github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/loader"
	"github.com/eventlake/eventlake/partitions/compact"
	"github.com/eventlake/eventlake/partitions/expire"
	"github.com/eventlake/eventlake/sql/views"
)

// jsonFormat is the version of the layout of every --json output, printed
// as its "format" key. It changes when a key is removed or changes meaning;
// keys may be added within a version. Every documented key is always
// present: empty lists are [], absent values null or zero.
const jsonFormat = 1

// loadOutput is what load --json prints (README: Command-line conventions).
type loadOutput struct {
	Format int `json:"format"`
	*loader.Summary
}

func writeLoadJSON(w io.Writer, s *loader.Summary) error {
	if s.Errors == nil {
		s.Errors = []loader.ObjectError{}
	}
	return json.NewEncoder(w).Encode(loadOutput{Format: jsonFormat, Summary: s})
}

// statusOutput is what status --json prints.
type statusOutput struct {
	Format int `json:"format"`
	statusReport
}

// selectionJSON is what reprocess --json and forget --json print.
type selectionJSON struct {
	Format  int            `json:"format"`
	Action  string         `json:"action"`
	Objects []selectedJSON `json:"objects"`
}

// rebuildJSON is what catalog rebuild --json prints; Error is why the
// rebuild stopped ("" when it did not).
type rebuildJSON struct {
	Format int `json:"format"`
	*lk.RebuildReport
	Error string `json:"error"`
}

func writeRebuildJSON(w io.Writer, rep *lk.RebuildReport, rerr error) error {
	out := rebuildJSON{Format: jsonFormat, RebuildReport: rep}
	if rerr != nil {
		out.Error = rerr.Error()
	}
	if rep.Objects == nil {
		rep.Objects = map[string]int64{}
	}
	for _, l := range []*[]string{&rep.Missing, &rep.Untracked, &rep.Uncommitted} {
		if *l == nil {
			*l = []string{}
		}
	}
	return json.NewEncoder(w).Encode(out)
}

// objectStatuses are the outcomes status counts, shown even when zero.
var objectStatuses = []catalog.ObjectStatus{catalog.ObjectCommitted, catalog.ObjectDuplicate, catalog.ObjectQuarantined, catalog.ObjectFailed}

// compactOutput is what compact --json prints; QueryCache is null when the
// cache was not updated (--dry-run, --query-cache=false).
type compactOutput struct {
	Format int `json:"format"`
	*compact.Summary
	QueryCache *views.CacheStats `json:"query_cache"`
}

// expireOutput is what expire --json prints.
type expireOutput struct {
	Format int `json:"format"`
	*expire.Summary
}

func writeCompactJSON(w io.Writer, s *compact.Summary, cache *views.CacheStats) error {
	if s.Details == nil {
		s.Details = []compact.Partition{}
	}
	if s.Damaged == nil {
		s.Damaged = []compact.DamagedPartition{}
	}
	return json.NewEncoder(w).Encode(compactOutput{Format: jsonFormat, Summary: s, QueryCache: cache})
}

func writeExpireJSON(w io.Writer, s *expire.Summary) error {
	if s.Details == nil {
		s.Details = []expire.Partition{}
	}
	if s.Absent == nil {
		s.Absent = []string{}
	}
	return json.NewEncoder(w).Encode(expireOutput{Format: jsonFormat, Summary: s})
}
