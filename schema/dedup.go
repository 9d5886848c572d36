package schema

import (
	"cmp"
	"strings"
)

// OrderTerm is one term of a de-duplication order.
type OrderTerm struct {
	Column string
	Desc   bool
}

// Dedup is a rule that keeps one row of each group of duplicates: rows with
// equal PartitionBy columns are duplicates, and the first in OrderBy order
// wins. Column names are plain identifiers (the lake's own columns).
type Dedup struct {
	PartitionBy []string
	OrderBy     []OrderTerm
}

// EventsDedup is the events table's rule: one row per event_id within a
// partition, the latest _ingested_at, then the latest _load_id, then the
// smallest _object, then the smallest _line. Re-deliveries share their
// event_time, so their partition: the events view de-duplicates per
// partition, and compaction, which rewrites one partition at a time, keeps
// the same row (CompareEvents).
var EventsDedup = Dedup{
	PartitionBy: []string{"domain", "event_date", "event_id"},
	OrderBy: []OrderTerm{
		{Column: "_ingested_at", Desc: true},
		{Column: "_load_id", Desc: true},
		{Column: "_object"},
		{Column: "_line"},
	},
}

// By returns the rule with the same order over other groups; the typed
// views, which read one domain, group by event_id alone.
func (d Dedup) By(cols ...string) Dedup {
	return Dedup{PartitionBy: cols, OrderBy: d.OrderBy}
}

// Window renders the rule as the inside of an SQL window:
// "PARTITION BY domain, event_date, event_id ORDER BY _ingested_at DESC, …".
func (d Dedup) Window() string {
	var b strings.Builder
	b.WriteString("PARTITION BY ")
	b.WriteString(strings.Join(d.PartitionBy, ", "))
	b.WriteString(" ORDER BY ")
	for i, t := range d.OrderBy {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(t.Column)
		if t.Desc {
			b.WriteString(" DESC")
		}
	}
	return b.String()
}

// Qualify renders the clause that keeps each group's winner:
// "QUALIFY row_number() OVER (…) = 1".
func (d Dedup) Qualify() string {
	return "QUALIFY row_number() OVER (" + d.Window() + ") = 1"
}

// EventRank holds the columns of an events row that EventsDedup orders by.
type EventRank struct {
	IngestedAt int64  // _ingested_at, microseconds
	LoadID     string // _load_id
	Object     string // _object
	Line       int64  // _line
}

// rankColumns compare EventRanks by one column, ascending. Strings compare
// byte-wise, as SQL engines compare VARCHAR without a collation.
var rankColumns = map[string]func(a, b *EventRank) int{
	"_ingested_at": func(a, b *EventRank) int { return cmp.Compare(a.IngestedAt, b.IngestedAt) },
	"_load_id":     func(a, b *EventRank) int { return strings.Compare(a.LoadID, b.LoadID) },
	"_object":      func(a, b *EventRank) int { return strings.Compare(a.Object, b.Object) },
	"_line":        func(a, b *EventRank) int { return cmp.Compare(a.Line, b.Line) },
}

// eventsOrder is EventsDedup.OrderBy as Go comparisons, built from it.
var eventsOrder = rankOrder(EventsDedup.OrderBy)

func rankOrder(terms []OrderTerm) []func(a, b *EventRank) int {
	out := make([]func(a, b *EventRank) int, len(terms))
	for i, t := range terms {
		f := rankColumns[t.Column]
		if f == nil {
			panic("schema: EventRank has no column " + t.Column)
		}
		if t.Desc {
			asc := f
			f = func(a, b *EventRank) int { return asc(b, a) }
		}
		out[i] = f
	}
	return out
}

// CompareEvents orders two rows of one event_id as EventsDedup does: it is
// negative when a wins over b, positive when b wins, and zero when the rule
// cannot tell them apart.
func CompareEvents(a, b *EventRank) int {
	for _, f := range eventsOrder {
		if c := f(a, b); c != 0 {
			return c
		}
	}
	return 0
}
