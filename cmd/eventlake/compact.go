package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/config"
	"github.com/eventlake/eventlake/loader"
	"github.com/eventlake/eventlake/partitions"
	"github.com/eventlake/eventlake/partitions/compact"
	"github.com/eventlake/eventlake/sql/views"
)

// compactOptions are the flags of `eventlake compact`.
type compactOptions struct {
	icebergFlagValues
	Lake, Catalog, ConfigPath string
	Partitions                []string
	MinFiles                  int
	TargetSize, SortBuffer    string
	ZstdLevel                 int
	DryRun, JSON, Verbose     bool
	QueryCache                bool
	LockWait                  time.Duration
	changed                   func(name string) bool // whether a flag was given
}

func newCompactCmd(io streams) *cobra.Command {
	o := &compactOptions{}
	c := &cobra.Command{
		Use:   "compact --lake DIR [--partition domain=D/event_date=YYYY-MM-DD]... [flags]",
		Short: "Merge the small files of event partitions and drop duplicate event_ids, atomically",
		Long: `Compact rewrites each events partition that has --min-files live files or more
(or fewer files holding duplicate event_ids) into files of about --target-size,
keeping one row per event_id (the row the events view shows) and writing rows
in event_time order. The new files replace the old ones in one catalog
transaction: readers see either the old files or the new ones, never both or
neither. Like a load it takes the lake's writer lock, and a compaction that is
interrupted (even by kill -9) is finished or undone by the next compact or load.

A partition whose files were all written by one compaction is left alone.

On a lake in a bucket (--lake s3://… or gs://…) compact takes the writer lease,
downloads the files of the partitions it reads to a temporary folder, commits
the merged files through the bucket's log, and deletes the replaced objects
only after the commit; there is no query cache.

Afterwards the query cache (<lake>/_eventlake/query-cache.duckdb) is brought up
to date: a DuckDB copy of the compacted partitions, from which eventlake sql
reads them (faster than their Parquet files; partitions changed since are read
from Parquet). --query-cache=false removes it instead; external engines never
use it.

A partition with a live file that is missing, of the wrong size or whose
content no longer matches its checksum is left alone (rewriting it would lose
rows or copy the damage into a new file); the other partitions are compacted,
the damaged ones are listed on stderr, and the exit status is 1.

Exit status: 0 on success (also when there is nothing to compact), 1 when the
compaction failed or skipped a damaged partition, 2 for usage errors.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.changed = cmd.Flags().Changed
			o.Verbose, _ = cmd.Flags().GetBool("verbose")
			return runCompact(cmd.Context(), o, io)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Lake, "lake", "", "lake folder, or s3://BUCKET/PREFIX or gs://BUCKET/PREFIX")
	f.StringVar(&o.Catalog, "catalog", "", "catalog file (default <lake>/_eventlake/catalog.db)")
	f.StringVar(&o.ConfigPath, "config", "", "YAML config file (lake, catalog, lock_wait, zstd_level)")
	f.StringArrayVar(&o.Partitions, "partition", nil, "only this partition, e.g. 'domain=cards/event_date=2024-02-01' (repeatable)")
	f.IntVar(&o.MinFiles, "min-files", compact.DefaultMinFiles, "compact a partition with at least this many live files")
	f.StringVar(&o.TargetSize, "target-size", "128MiB", "size of the files written (KB/MB/GB or KiB/MiB/GiB)")
	f.StringVar(&o.SortBuffer, "sort-buffer", "256MiB", "memory for sorting a partition's rows by event_time")
	f.IntVar(&o.ZstdLevel, "zstd-level", 0, "Parquet zstd level, 1 (fastest) to 19 (smallest) (default 3)")
	f.BoolVar(&o.DryRun, "dry-run", false, "only print which partitions would be compacted")
	f.BoolVar(&o.JSON, "json", false, "print one JSON summary object on stdout")
	f.BoolVar(&o.QueryCache, "query-cache", true, "keep the shell's query cache of compacted partitions up to date")
	f.DurationVar(&o.LockWait, "lock-wait", 0, "how long to wait for a running load; 0: do not wait (default 10s)")
	icebergFlags(c, &o.icebergFlagValues)
	return c
}

// resolve checks the flags and merges the config file under them.
func (o *compactOptions) resolve() (compact.Options, error) {
	cfg := &config.Config{}
	if o.ConfigPath != "" {
		var err error
		if cfg, err = config.Load(o.ConfigPath); err != nil {
			return compact.Options{}, usageError{err}
		}
	}
	co := compact.Options{
		Lake: first(o.Lake, cfg.Lake), CatalogPath: first(o.Catalog, cfg.Catalog),
		MinFiles: o.MinFiles, ZstdLevel: firstInt(o.ZstdLevel, cfg.ZstdLevel), DryRun: o.DryRun,
	}
	changed := o.changed
	if changed == nil {
		changed = func(string) bool { return false }
	}
	var err error
	if co.LockWait, err = lockWait(changed("lock-wait"), o.LockWait, cfg.LockWait); err != nil {
		return co, err
	}
	if changed("zstd-level") && o.ZstdLevel == 0 {
		return co, usagef("--zstd-level 0: want 1 to %d", partitions.MaxZstdLevel)
	}
	if co.Lake == "" {
		return co, usagef("no lake: give --lake DIR (or lake: in the config file)")
	}
	if loc, err := parseLake(co.Lake); err != nil {
		return co, err
	} else if loc.IsBucket() && co.CatalogPath != "" {
		return co, usagef("--catalog: a lake in a bucket (%s) keeps its catalog in the bucket", co.Lake)
	}
	if co.MinFiles < 1 {
		return co, usagef("--min-files %d: want at least 1", co.MinFiles)
	}
	if co.ZstdLevel < 0 || co.ZstdLevel > partitions.MaxZstdLevel {
		return co, usagef("--zstd-level %d: want 1 to %d", co.ZstdLevel, partitions.MaxZstdLevel)
	}
	if co.TargetBytes, err = compact.ParseSize(o.TargetSize); err != nil || co.TargetBytes <= 0 {
		return co, usagef("--target-size %q: want a positive size such as 128MiB or 256MB", o.TargetSize)
	}
	if co.SortBufferBytes, err = compact.ParseSize(o.SortBuffer); err != nil || co.SortBufferBytes <= 0 {
		return co, usagef("--sort-buffer %q: want a positive size such as 256MiB", o.SortBuffer)
	}
	for _, p := range o.Partitions {
		n, err := compact.NormalizePartition(p)
		if err != nil {
			return co, usagef("--partition: %v", err)
		}
		co.Partitions = append(co.Partitions, n)
	}
	return co, nil
}

func runCompact(ctx context.Context, o *compactOptions, io streams) error {
	co, err := o.resolve()
	if err != nil {
		return err
	}
	co.Log = io.logger(o.Verbose)
	if !co.DryRun {
		if co.WriterOptions, err = icebergWriterOptions(ctx, co.Lake, o.Iceberg, o.IcebergRetention); err != nil {
			return err
		}
	}
	sum, err := compact.Run(ctx, co)
	if err != nil {
		return err
	}
	var cache *views.CacheStats
	if loc, _ := parseLake(co.Lake); !co.DryRun && !loc.IsBucket() {
		if cache, err = updateQueryCache(ctx, co, o.QueryCache); err != nil {
			return fmt.Errorf("compaction done; %w", err)
		}
	}
	if o.JSON {
		if err := writeCompactJSON(io.out, sum, cache); err != nil {
			return err
		}
	} else {
		printCompactSummary(io, sum)
		if cache != nil && cache.Built {
			fmt.Fprintf(io.out, "query cache: %d compacted partitions (%d rows) in %.2fs\n", cache.Partitions, cache.Rows, cache.Seconds)
		}
	}
	return damagedPartitions(io, co.Lake, sum.Damaged)
}

// damagedPartitions reports, on stderr, the partitions compaction left
// alone because of a damaged file, and then fails the command (so cron
// notices) after the others were compacted.
func damagedPartitions(io streams, lake string, damaged []compact.DamagedPartition) error {
	if len(damaged) == 0 {
		return nil
	}
	w := io.errOut
	fmt.Fprintf(w, "eventlake: compact left %d partitions alone because of missing or damaged files (the others were compacted):\n", len(damaged))
	for _, d := range damaged {
		for _, f := range d.Files {
			fmt.Fprintf(w, "  %s: %s: %s (%s)\n", d.Partition, f.Path, f.Problem, f.Detail)
		}
	}
	fmt.Fprintf(w, "Run eventlake check --lake %s for the full report; restore the files from a backup, then run compact again.\n", lake)
	return exitError{exitFailed}
}

// updateQueryCache rebuilds the query cache after a compaction, or removes
// it when it is not wanted.
func updateQueryCache(ctx context.Context, co compact.Options, want bool) (*views.CacheStats, error) {
	if !want {
		if err := os.Remove(views.CachePath(co.Lake)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("removing the query cache: %w", err)
		}
		return nil, nil
	}
	cat, err := catalog.Open(first(co.CatalogPath, loader.CatalogPath(co.Lake)), catalog.Options{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer cat.Close()
	st, err := views.BuildCache(ctx, co.Lake, cat)
	if err != nil {
		return nil, fmt.Errorf("updating the query cache: %w", err)
	}
	return &st, nil
}

func printCompactSummary(io streams, s *compact.Summary) {
	w := io.out
	if s.Recovered != "" {
		fmt.Fprintf(w, "recovered: %s\n", s.Recovered)
	}
	mb := func(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }
	switch {
	case s.DryRun && s.Partitions == 0:
		fmt.Fprintf(w, "dry run: nothing to compact (%d partitions need nothing)\n", s.Skipped)
		return
	case s.DryRun:
		fmt.Fprintf(w, "dry run: would compact %d partitions (%d files, %d rows, %s); %d partitions need nothing\n",
			s.Partitions, s.FilesBefore, s.RowsBefore, mb(s.BytesBefore), s.Skipped)
		for _, p := range s.Details {
			fmt.Fprintf(w, "  %s: %d files, %d rows, %s (%s)\n", p.Partition, p.FilesBefore, p.RowsBefore, mb(p.BytesBefore), p.Reason)
		}
		return
	case s.LoadID == "":
		fmt.Fprintf(w, "nothing to compact (%d partitions need nothing)\n", s.Skipped)
		return
	}
	fmt.Fprintf(w, "compact %s: %d partitions, %d files -> %d, %d rows -> %d (%d duplicates dropped), %s -> %s in %.2fs\n",
		s.LoadID, s.Partitions, s.FilesBefore, s.FilesAfter, s.RowsBefore, s.RowsAfter, s.Duplicates,
		mb(s.BytesBefore), mb(s.BytesAfter), s.Seconds)
	for _, p := range s.Details {
		fmt.Fprintf(w, "  %s: %d files -> %d, %d rows -> %d (%d duplicates), %s -> %s\n",
			p.Partition, p.FilesBefore, p.FilesAfter, p.RowsBefore, p.RowsAfter, p.Duplicates, mb(p.BytesBefore), mb(p.BytesAfter))
	}
}
