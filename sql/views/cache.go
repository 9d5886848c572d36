package views

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/fsync"
	"github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/partitions"
)

// The query cache is a DuckDB database next to the catalog holding the rows
// of every compacted partition in a native table. DuckDB reads a native
// table faster than the partition's Parquet file (a query over many day
// partitions otherwise pays for opening each file), so the shell reads
// compacted partitions from it. It is only a cache: `eventlake compact`
// rebuilds it, the shell checks each cached partition against the catalog's
// live files and reads any partition whose files changed since (a load into
// it, another compaction) from Parquet, and a missing, damaged or locked
// cache is simply not used. External engines never see it.

// cacheAlias is the name the cache database is attached under.
const cacheAlias = "query_cache"

// CachePath is the query cache of a lake.
func CachePath(root string) string { return lake.At(root).QueryCachePath() }

// CacheStats describes a cache build.
type CacheStats struct {
	Built      bool    `json:"built"` // false: the cache was up to date, or there is nothing to cache
	Partitions int     `json:"partitions"`
	Files      int     `json:"files"`
	Rows       int64   `json:"rows"`
	Bytes      int64   `json:"bytes"`
	Seconds    float64 `json:"seconds"`
}

// compactedPartitions returns the live files of the partitions whose files
// all come from one compaction and were not added to since: they hold no
// duplicate event_ids.
func compactedPartitions(live []catalog.LiveFile) (clean map[string]bool) {
	loadOf := map[string]string{}
	clean = map[string]bool{}
	for _, f := range live {
		first, seen := loadOf[f.Partition]
		if !seen {
			loadOf[f.Partition] = f.LoadID
			clean[f.Partition] = f.Command == catalog.CompactCommand
			continue
		}
		if f.LoadID != first || f.Command != catalog.CompactCommand {
			clean[f.Partition] = false
		}
	}
	return clean
}

// absPath is a live file's absolute path, as the views name it.
func absPath(lake, rel string) string {
	return filepath.ToSlash(filepath.Join(abs(lake), filepath.FromSlash(rel)))
}

// BuildCache makes the query cache hold exactly the compacted partitions of
// the catalog: it is rebuilt (in a new file, renamed into place, so a shell
// reading the old one is not disturbed) when the compacted files differ from
// the cached ones, and removed when nothing is compacted.
func BuildCache(ctx context.Context, lake string, cat *catalog.Catalog) (CacheStats, error) {
	start := time.Now()
	var st CacheStats
	live, err := cat.LiveFilesWithLoads(ctx, "events")
	if err != nil {
		return st, err
	}
	clean := compactedPartitions(live)
	// A partition with a file missing on disk (or of another size) is not
	// cached: the shell reads its remaining files (see unavailable).
	for _, f := range live {
		if clean[f.Partition] && partitions.StatFile(absPath(lake, f.Path), f.Bytes) != nil {
			clean[f.Partition] = false
		}
	}
	var files []string
	parts := map[string]bool{}
	for _, f := range live {
		if clean[f.Partition] {
			files = append(files, absPath(lake, f.Path))
			parts[f.Partition] = true
			st.Bytes += f.Bytes
			st.Rows += f.Rows
		}
	}
	slices.Sort(files)
	st.Partitions, st.Files = len(parts), len(files)
	path := CachePath(lake)
	if len(files) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return st, err
		}
		return st, nil
	}
	if cached, err := cachedFiles(ctx, path); err == nil && slices.Equal(cached, files) {
		return st, nil // up to date
	}
	removeAbandoned(path)
	tmp := fmt.Sprintf("%s.tmp-%d", path, os.Getpid())
	_ = os.Remove(tmp)
	_ = os.Remove(tmp + ".wal")
	defer os.Remove(tmp)
	defer os.Remove(tmp + ".wal")
	db, err := sql.Open("duckdb", tmp)
	if err != nil {
		return st, err
	}
	list := make([]catalog.FileRecord, len(files))
	for i, f := range files {
		list[i].Path = f
	}
	stmts := []string{
		"SET TimeZone = 'UTC'",
		// Sorted by partition and time: a filter on domain or event_date
		// skips whole row groups of the table (zone maps).
		"CREATE TABLE events AS SELECT * FROM read_parquet(" + literalList(files) +
			", hive_partitioning = true, hive_types = {'domain': VARCHAR, 'event_date': DATE}, filename = true) ORDER BY domain, event_date, event_time",
		"CREATE TABLE files AS SELECT unnest(" + literalList(files) + ") AS filename",
		"CHECKPOINT",
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			db.Close()
			return st, fmt.Errorf("query cache: %w", err)
		}
	}
	if err := db.Close(); err != nil {
		return st, fmt.Errorf("query cache: %w", err)
	}
	if err := fsync.File(tmp); err != nil {
		return st, fmt.Errorf("query cache: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return st, fmt.Errorf("query cache: %w", err)
	}
	if err := fsync.Dir(filepath.Dir(path)); err != nil {
		return st, fmt.Errorf("query cache: %w", err)
	}
	st.Built, st.Seconds = true, time.Since(start).Seconds()
	return st, nil
}

// removeAbandoned deletes the temporary files of cache builds whose process
// is gone (killed while building).
func removeAbandoned(path string) {
	matches, _ := filepath.Glob(path + ".tmp-*")
	for _, m := range matches {
		rest := strings.TrimPrefix(m, path+".tmp-")
		pid, err := strconv.Atoi(strings.TrimSuffix(rest, ".wal"))
		if err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		_ = os.Remove(m)
	}
}

func literalList(items []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, s := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(Literal(s))
	}
	b.WriteByte(']')
	return b.String()
}

// cachedFiles lists the files a cache holds, sorted (opening it read-only
// in a throw-away DuckDB instance).
func cachedFiles(ctx context.Context, path string) ([]string, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return queryFiles(ctx, db, "SELECT filename FROM files ORDER BY filename")
}

func queryFiles(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string) ([]string, error) {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// attachCache attaches the lake's query cache read-only (again, when a
// compaction replaced it) and returns the files it holds; nil when there is
// no usable cache.
func attachCache(ctx context.Context, conn *sql.Conn, lake string) ([]string, error) {
	_, _ = conn.ExecContext(ctx, "DETACH DATABASE IF EXISTS "+cacheAlias)
	path := CachePath(lake)
	if _, err := os.Stat(path); err != nil {
		return nil, nil
	}
	if _, err := conn.ExecContext(ctx, "ATTACH "+Literal(path)+" AS "+cacheAlias+" (READ_ONLY)"); err != nil {
		return nil, fmt.Errorf("query cache %s not used: %w", path, err)
	}
	files, err := queryFiles(ctx, conn, "SELECT filename FROM "+cacheAlias+".files")
	if err != nil {
		_, _ = conn.ExecContext(ctx, "DETACH DATABASE IF EXISTS "+cacheAlias)
		return nil, fmt.Errorf("query cache %s not used: %w", path, err)
	}
	return files, nil
}
