package partitions

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
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
// event date) order — and, within a partition, by event type (types in
// byte order, rows in their original order within a type), so that Write
// gets one run per partition instead of interleaved ones (each run costs a
// file switch), and events of one type, whose data has one shape, lie next
// to each other in the pages: zstd then finds longer matches, faster (on
// the benchmark's Pismo corpus 9 % smaller files and less CPU). The result is
// rows itself when they are one partition of one type, else dst (grown as
// needed) holding a copy: rows are counted and placed by two counting sorts
// of their indexes, then each row is moved once, instead of a comparison
// sort's many moves of a large struct.
func GroupByPartition(dst, rows []EventRow) []EventRow {
	sc := groupScratchPool.Get().(*groupScratch)
	defer groupScratchPool.Put(sc)
	perm := groupOrder(rows, sc)
	if perm == nil {
		return rows
	}
	if cap(dst) < len(rows) {
		dst = make([]EventRow, len(rows))
	}
	dst = dst[:len(rows)]
	for k, i := range perm {
		dst[k] = rows[i]
	}
	return dst
}

// GroupInPlace puts rows in GroupByPartition's order where they are, for a
// batch too large to copy (a spilled object's): each row is moved once,
// plus one move per cycle of the permutation.
func GroupInPlace(rows []EventRow) {
	sc := groupScratchPool.Get().(*groupScratch)
	defer groupScratchPool.Put(sc)
	perm := groupOrder(rows, sc)
	for k := range perm {
		if perm[k] == int32(k) {
			continue
		}
		tmp := rows[k]
		for j := k; ; {
			src := int(perm[j])
			perm[j] = int32(j) // placed
			if src == k {
				rows[j] = tmp
				break
			}
			rows[j] = rows[src]
			j = src
		}
	}
}

// groupOrder returns the indexes of rows in GroupByPartition's order
// (valid until sc is reused), or nil when rows are in it already: one
// partition of one event type.
func groupOrder(rows []EventRow, sc *groupScratch) []int32 {
	n := len(rows)
	sc.grow(n)
	gid, tid, perm, out := sc.gid[:n], sc.tid[:n], sc.perm[:n], sc.out[:n]
	var parts smallIndex[eventKey]
	var types smallIndex[string]
	for i := range rows {
		r := &rows[i]
		gid[i] = parts.id(eventKey{r.Domain, dayOf(r.EventTime)})
		tid[i] = types.id(r.EventType)
	}
	groups := parts.keys
	if len(groups) <= 1 && len(types.keys) <= 1 {
		return nil
	}

	// The rank of each type in byte order, then a stable counting sort of
	// the row indexes by it: perm.
	for i := range perm {
		perm[i] = int32(i)
	}
	if k := types.keys; len(k) > 1 {
		rank := rankOf(len(k), func(a, b int) int { return strings.Compare(k[a], k[b]) })
		countingSort(out, perm, len(k), func(i int32) int32 { return rank[tid[i]] })
		perm, out = out, perm
	}
	// Then by partition, stable: the type order stays within each one.
	if len(groups) > 1 {
		rank := rankOf(len(groups), func(a, b int) int {
			if c := strings.Compare(groups[a].domain, groups[b].domain); c != 0 {
				return c
			}
			return cmp.Compare(groups[a].day, groups[b].day)
		})
		countingSort(out, perm, len(groups), func(i int32) int32 { return rank[gid[i]] })
		perm = out
	}
	return perm
}

// smallIndex numbers the distinct keys it is given in the order they first
// come: by a scan while they are few (an object spans a few partitions and
// event types), by a map past smallIndexScan; a run of one key costs one
// comparison.
type smallIndex[K comparable] struct {
	keys  []K
	index map[K]int32
	last  int32 // the id returned last
}

const smallIndexScan = 16

func (x *smallIndex[K]) id(k K) int32 {
	if len(x.keys) > 0 && x.keys[x.last] == k {
		return x.last
	}
	id, ok := int32(0), false
	if x.index != nil {
		id, ok = x.index[k]
	} else {
		for i, have := range x.keys {
			if have == k {
				id, ok = int32(i), true
				break
			}
		}
	}
	if !ok {
		id = int32(len(x.keys))
		x.keys = append(x.keys, k)
		if x.index != nil {
			x.index[k] = id
		} else if len(x.keys) > smallIndexScan {
			x.index = make(map[K]int32, 4*len(x.keys))
			for i, have := range x.keys {
				x.index[have] = int32(i)
			}
		}
	}
	x.last = id
	return id
}

// groupScratch holds GroupByPartition's per-row indexes between calls.
type groupScratch struct{ gid, tid, perm, out []int32 }

var groupScratchPool = sync.Pool{New: func() any { return new(groupScratch) }}

func (s *groupScratch) grow(n int) {
	if cap(s.gid) < n {
		s.gid, s.tid, s.perm, s.out = make([]int32, n), make([]int32, n), make([]int32, n), make([]int32, n)
	}
}

// rankOf returns, for each of n items, its position when sorted by compare.
func rankOf(n int, compare func(a, b int) int) []int32 {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, compare)
	rank := make([]int32, n)
	for r, i := range order {
		rank[i] = int32(r)
	}
	return rank
}

// countingSort places the indexes of src into dst in ascending order of
// key (0 ≤ key < keys), stably.
func countingSort(dst, src []int32, keys int, key func(int32) int32) {
	next := make([]int32, keys+1)
	for _, i := range src {
		next[key(i)+1]++
	}
	for k := 1; k <= keys; k++ {
		next[k] += next[k-1]
	}
	for _, i := range src {
		k := key(i)
		dst[next[k]] = i
		next[k]++
	}
}
