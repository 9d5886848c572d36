package partitions

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

const (
	// EventsTable is the table directory of envelope events.
	EventsTable = "events"
	// RejectsTable is the table directory of quarantined records.
	RejectsTable = "_rejects"

	// maxCachedKeys bounds the partition-key cache of an EventWriter; the
	// cache is simply cleared when full.
	maxCachedKeys = 4096
)

// The schemas of the events and _rejects files (see bounds.go).
var (
	eventSchema  = boundedSchema(EventRow{})
	rejectSchema = boundedSchema(RejectRow{})
)

// eventKey identifies an events partition before escaping.
type eventKey struct {
	domain string
	day    int64
}

// EventWriter routes EventRows to one Parquet file per (domain, event_date)
// partition of table "events", under the load's staging root. The partition
// columns are not stored in the files. Not safe for concurrent use (each
// loader worker owns one). Memory is bounded by MaxOpenFiles × (row-group
// buffer) and does not grow with the number of partitions or rows written
// (apart from the list of finished files Close returns).
type EventWriter struct {
	set  *set[EventRow]
	keys map[eventKey]string // partition dir by (domain, day)
}

// NewEventWriter returns a writer of the events table staging into s.
func NewEventWriter(s *Stage, o WriterOptions) *EventWriter {
	return &EventWriter{
		set:  newSet(s, EventsTable, o, eventSchema, []string{"event_id", "cid"}, structWriter[EventRow], func(r *EventRow) int64 { return r.EventTime }, &eventSpillCodec),
		keys: make(map[eventKey]string),
	}
}

// Write routes each row by (row.Domain, EventDate(row.EventTime)). The caller
// has already checked the domain with CheckValue; a domain that fails it
// anyway makes Write return an error (rows before it are written, the writer
// stays usable). The row slice may be reused by the caller after Write
// returns. Runs of consecutive rows of the same partition are written as one
// batch. After an I/O or encoding error the writer is unusable: later calls
// and Close return that error and the caller should Abort.
func (w *EventWriter) Write(rows []EventRow) error {
	for i := 0; i < len(rows); {
		domain, day := rows[i].Domain, dayOf(rows[i].EventTime)
		j := i + 1
		for j < len(rows) && rows[j].Domain == domain && dayOf(rows[j].EventTime) == day {
			j++
		}
		dir, err := w.partition(domain, day, rows[i].EventTime)
		if err != nil {
			return fmt.Errorf("partitions: event at line %d of %s: domain: %w", rows[i].Line, rows[i].Object, err)
		}
		if err := w.set.write(dir, rows[i:j]); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// partition returns the escaped partition directory of (domain, day). As
// defence in depth it re-checks the domain with CheckValue (once per cached
// key), so an unchecked bad value fails only its own Write call instead of
// breaking the writer with a file-system error.
func (w *EventWriter) partition(domain string, day, micros int64) (string, error) {
	k := eventKey{domain, day}
	if dir, ok := w.keys[k]; ok {
		return dir, nil
	}
	if err := CheckValue(domain); err != nil {
		return "", err
	}
	if len(w.keys) >= maxCachedKeys {
		clear(w.keys)
	}
	dir := Dir("domain", domain, "event_date", EventDate(micros))
	// Clone: the caller's string may share memory with a large input buffer.
	w.keys[eventKey{strings.Clone(domain), day}] = dir
	return dir, nil
}

// EndRowGroups ends the current row group of every open file: rows written
// afterwards go to new row groups. A writer with SortingColumns calls it
// between runs of rows that are each in order.
func (w *EventWriter) EndRowGroups() error { return w.set.endRowGroups() }

// Close finishes every open file and returns all files written, sorted by
// Path. On error it returns nil and the error; the caller should then Abort
// to delete the files written so far.
func (w *EventWriter) Close() ([]File, error) { return w.set.close() }

// Abort closes and deletes every file this writer created (open or already
// finished, even after Close). The writer cannot be used afterwards.
func (w *EventWriter) Abort() { w.set.abort() }

// RejectWriter writes RejectRows to
// _rejects/load_date=<UTC date of IngestedAt>/part-….parquet with the same
// semantics as EventWriter (File.MinTime/MaxTime are 0).
type RejectWriter struct {
	set     *set[RejectRow]
	lastDay int64
	lastDir string
}

// NewRejectWriter returns a writer of the _rejects table staging into s.
func NewRejectWriter(s *Stage, o WriterOptions) *RejectWriter {
	return &RejectWriter{set: newSet(s, RejectsTable, o, rejectSchema, nil, structWriter[RejectRow], nil, nil)}
}

// Write routes each row by the UTC date of row.IngestedAt. The row slice may
// be reused by the caller after Write returns.
func (w *RejectWriter) Write(rows []RejectRow) error {
	for i := 0; i < len(rows); {
		day := dayOf(rows[i].IngestedAt)
		j := i + 1
		for j < len(rows) && dayOf(rows[j].IngestedAt) == day {
			j++
		}
		if w.lastDir == "" || w.lastDay != day {
			w.lastDay, w.lastDir = day, Dir("load_date", EventDate(rows[i].IngestedAt))
		}
		if err := w.set.write(w.lastDir, rows[i:j]); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// Close finishes every open file and returns all files written, sorted by
// Path. On error it returns nil and the error; the caller should then Abort.
func (w *RejectWriter) Close() ([]File, error) { return w.set.close() }

// Abort closes and deletes every file this writer created.
func (w *RejectWriter) Abort() { w.set.abort() }

// GroupByPartition returns rows grouped by partition — groups in (domain,
// event date) order, rows in their original order within a group — so that
// Write gets one run per partition instead of interleaved ones (each run
// costs a file switch). The result is rows itself when they are one
// partition, else dst (grown as needed) holding a copy: one pass to count
// and one to place each row, instead of a stable sort's many moves of a
// large struct.
func GroupByPartition(dst, rows []EventRow) []EventRow {
	type group struct {
		domain  string
		day     int64
		n, next int
	}
	var small [16]group
	groups := small[:0]
	var index map[eventKey]int // when an object spans many partitions
	last := -1
	find := func(r *EventRow) int {
		day := dayOf(r.EventTime)
		if last >= 0 && groups[last].day == day && groups[last].domain == r.Domain {
			return last
		}
		if index != nil {
			if g, ok := index[eventKey{r.Domain, day}]; ok {
				return g
			}
		} else {
			for g := range groups {
				if groups[g].day == day && groups[g].domain == r.Domain {
					return g
				}
			}
		}
		groups = append(groups, group{domain: r.Domain, day: day})
		g := len(groups) - 1
		if index == nil && len(groups) > 32 {
			index = make(map[eventKey]int, 64)
			for j, gr := range groups {
				index[eventKey{gr.domain, gr.day}] = j
			}
		} else if index != nil {
			index[eventKey{r.Domain, day}] = g
		}
		return g
	}
	for i := range rows {
		last = find(&rows[i])
		groups[last].n++
	}
	if len(groups) <= 1 {
		return rows
	}
	order := make([]int, len(groups))
	for g := range order {
		order[g] = g
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := strings.Compare(groups[a].domain, groups[b].domain); c != 0 {
			return c
		}
		return cmp.Compare(groups[a].day, groups[b].day)
	})
	at := 0
	for _, g := range order {
		groups[g].next = at
		at += groups[g].n
	}
	if cap(dst) < len(rows) {
		dst = make([]EventRow, len(rows))
	}
	dst = dst[:len(rows)]
	last = -1
	for i := range rows {
		last = find(&rows[i])
		dst[groups[last].next] = rows[i]
		groups[last].next++
	}
	return dst
}
