// Package expire implements `eventlake expire` and the retention that load
// and watch apply: the partitions older than a date leave the lake.
//
// An expiry is a transaction of the lake (lake.Tx) like a load or a
// compaction, begun with catalog.ExpireCommand: its commit claims the
// expired partitions' files (Changes.Replaces, with no new files), its
// publication marks them 'removed' in the same instant (readers switch from
// the old file set to the smaller one at once), and the lake's finishing
// hook then deletes them from disk (unless an Iceberg snapshot still lists
// them). A kill -9 at any step followed by another run of any writer leaves
// the lake as one clean expiry would. For crash tests, EVENTLAKE_CRASH_AT
// names the steps with the prefix "expire-" (expire-after-begin,
// expire-before-commit, expire-after-commit, expire-after-publish,
// expire-after-swap, expire-during-delete, expire-after-delete).
//
// A partition's date is the value of its last key: event_date for events
// (domain=…/event_date=YYYY-MM-DD), the partition column of a CSV table,
// load_date for _rejects. A partition whose value is not a date (a missing
// value, __HIVE_DEFAULT_PARTITION__) never expires.
//
// Expiry never touches the objects table: an object whose every row has
// expired stays recorded as loaded, so a later load does not load it again
// (which would bring the expired rows back).
package expire

import (
	"context"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/partitions"
)

// StepPrefix prefixes the crash points of an expiry's transaction.
const StepPrefix = "expire-"

// Selection says which partitions expire.
type Selection struct {
	// Before maps a table to the date before which its partitions expire
	// (a partition expires when its date is before the day of Before, in
	// UTC). The key "" applies to every table not named.
	Before map[string]time.Time
	// Domain, when set, restricts the expiry to the events partitions of
	// that domain (other tables are left alone).
	Domain string
}

// cutoff returns the first date (UTC midnight) that table keeps.
func (s Selection) cutoff(table string) (time.Time, bool) {
	t, ok := s.Before[table]
	if !ok {
		t, ok = s.Before[""]
	}
	if !ok {
		return time.Time{}, false
	}
	if s.Domain != "" && table != partitions.EventsTable {
		return time.Time{}, false
	}
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), true
}

// Partition is one expired (or, in a dry run, expiring) partition.
type Partition struct {
	Table     string `json:"table"`
	Partition string `json:"partition"`
	Date      string `json:"date"`
	Files     int    `json:"files"`
	// Rows counts the rows readers saw (superseded rows excluded).
	Rows  int64 `json:"rows"`
	Bytes int64 `json:"bytes"`
}

// Summary is what an expiry did (or, in a dry run, would do).
type Summary struct {
	LoadID     string      `json:"load_id"`
	DryRun     bool        `json:"dry_run"`
	Recovered  string      `json:"recovered"`
	Partitions int         `json:"partitions"`
	Files      int         `json:"files"`
	Rows       int64       `json:"rows"`
	Bytes      int64       `json:"bytes"`
	Details    []Partition `json:"details"`
	// Absent lists the tables the selection names that have no live files
	// (a typo, or a table whose partitions have all expired).
	Absent  []string `json:"absent_tables"`
	Seconds float64  `json:"seconds"`

	paths []string
}

// Plan lists the live files of the partitions sel expires, by table and
// partition.
func Plan(ctx context.Context, cat *catalog.Catalog, sel Selection) (*Summary, error) {
	sum := &Summary{Details: []Partition{}}
	tables, err := cat.LiveTables(ctx)
	if err != nil {
		return nil, err
	}
	for table := range sel.Before {
		if table != "" && !slices.Contains(tables, table) {
			sum.Absent = append(sum.Absent, table)
		}
	}
	sort.Strings(sum.Absent)
	for _, table := range tables {
		cut, ok := sel.cutoff(table)
		if !ok {
			continue
		}
		files, err := cat.LiveFilesWithLoads(ctx, table)
		if err != nil {
			return nil, err
		}
		var cur *Partition
		for _, f := range files {
			date, ok := partitionDate(f.Partition)
			if !ok || !date.Before(cut) || (sel.Domain != "" && !inDomain(f.Partition, sel.Domain)) {
				continue
			}
			if cur == nil || cur.Table != table || cur.Partition != f.Partition {
				sum.Details = append(sum.Details, Partition{Table: table, Partition: f.Partition, Date: date.Format(time.DateOnly)})
				cur = &sum.Details[len(sum.Details)-1]
				sum.Partitions++
			}
			cur.Files++
			cur.Rows += f.Rows - f.Superseded
			cur.Bytes += f.Bytes
			sum.Files++
			sum.Rows += f.Rows - f.Superseded
			sum.Bytes += f.Bytes
			sum.paths = append(sum.paths, f.Path)
		}
	}
	sort.Strings(sum.paths)
	return sum, nil
}

// partitionDate parses the date of a partition: the value of its last
// key=value segment.
func partitionDate(partition string) (time.Time, bool) {
	last := partition[strings.LastIndexByte(partition, '/')+1:]
	_, v, ok := strings.Cut(last, "=")
	if !ok {
		return time.Time{}, false
	}
	v, err := partitions.Unescape(v)
	if err != nil {
		return time.Time{}, false
	}
	d, err := time.Parse(time.DateOnly, v)
	return d, err == nil
}

// inDomain reports whether an events partition belongs to domain.
func inDomain(partition, domain string) bool {
	first, _, _ := strings.Cut(partition, "/")
	v, ok := strings.CutPrefix(first, "domain=")
	if !ok {
		return false
	}
	d, err := partitions.Unescape(v)
	return err == nil && d == domain
}

// Options of Apply.
type Options struct {
	Log *slog.Logger
	// Now is the clock (tests); the expiry's load is stamped with it.
	Now func() time.Time
	// Hook, when set (tests), runs at each step of the transaction with the
	// step's name (without StepPrefix).
	Hook func(step string)
}

// Apply expires the partitions sel selects in one transaction of w. With
// nothing to expire it begins no transaction and returns an empty summary.
func Apply(ctx context.Context, w *lake.Writer, sel Selection, o Options) (*Summary, error) {
	start := time.Now()
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	sum, err := Plan(ctx, w.Catalog, sel)
	if err != nil {
		return nil, err
	}
	if sum.Files == 0 {
		sum.Seconds = time.Since(start).Seconds()
		return sum, nil
	}
	tx, err := w.Begin(ctx, lake.TxOptions{Command: catalog.ExpireCommand, StartedAt: o.Now(), StepPrefix: StepPrefix, Hook: o.Hook})
	if err != nil {
		return nil, err
	}
	sum.LoadID = tx.ID()
	if err := tx.Commit(ctx, lake.Changes{Replaces: sum.paths, FinishedAt: o.Now()}); err != nil {
		return nil, err
	}
	for _, p := range sum.Details {
		o.Log.Debug("partition expired", "table", p.Table, "partition", p.Partition, "files", p.Files, "rows", p.Rows)
	}
	o.Log.Info("partitions expired", "load", sum.LoadID, "partitions", sum.Partitions, "files", sum.Files, "rows", sum.Rows)
	sum.Seconds = time.Since(start).Seconds()
	return sum, nil
}

// Cutoffs turns retention periods (by table) into the Selection of the
// partitions past them at now.
func Cutoffs(periods map[string]time.Duration, now time.Time) Selection {
	sel := Selection{Before: make(map[string]time.Time, len(periods))}
	for table, p := range periods {
		sel.Before[table] = now.Add(-p)
	}
	return sel
}
