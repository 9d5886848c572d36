package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventlake/eventlake/config"
	"github.com/eventlake/eventlake/internal/termtext"
	"github.com/eventlake/eventlake/loader"
	"github.com/eventlake/eventlake/partitions"
)

// loadOptions are the flags of `eventlake load`.
type loadOptions struct {
	icebergFlagValues
	Lake, Catalog, Profile, ConfigPath string
	JSON, Verbose, Quiet               bool
	Workers, ZstdLevel, MaxRecordBytes int
	OnChange                           string
	LockWait, Deadline, Settle         time.Duration
	Since, Until                       string
	Sources                            []string
	// changed reports whether a flag was given (a given 0 is not a default).
	changed func(name string) bool
}

const profileUsage = "record profile: auto, pismo, fulfillmenttools, generic, jwo-orders, or a name from the config (default auto)"

const settleUsage = "local and SFTP files modified more recently than this are still being written: they wait for a later run (0: load at once)"

// lockWait checks a --lock-wait value and the config's lock_wait, and
// returns the option's value: 0 for the default, negative for no wait.
func lockWait(changed bool, flag time.Duration, cfg config.Duration) (time.Duration, error) {
	switch {
	case changed && flag < 0:
		return 0, usagef("--lock-wait %s: want 0 (do not wait) or more", flag)
	case changed && flag == 0:
		return -1, nil
	case changed:
		return flag, nil
	case cfg < 0:
		return 0, usagef("lock_wait %s in the config file: want 0 or more", time.Duration(cfg))
	}
	return time.Duration(cfg), nil
}

// defaultLockWait is how long a writer waits for the lake's lock when
// neither --lock-wait nor lock_wait says.
const defaultLockWait = 10 * time.Second

// writerWait is lockWait for the commands that open the lake's writer
// themselves (lake.OpenWriter, where 0 means "do not wait"): a given 0
// does not wait, nothing given waits defaultLockWait.
func writerWait(changed bool, flag time.Duration, cfg config.Duration) (time.Duration, error) {
	w, err := lockWait(changed, flag, cfg)
	switch {
	case err != nil:
		return 0, err
	case w < 0:
		return 0, nil
	case w == 0:
		return defaultLockWait, nil
	}
	return w, nil
}

func newLoadCmd(io streams) *cobra.Command {
	o := &loadOptions{}
	c := &cobra.Command{
		Use:   "load --lake DIR [flags] SOURCE...",
		Short: "Load new objects from sources into the lake (incremental, atomic)",
		Long: `Load lists each SOURCE, skips every object the catalog already holds, and
loads the rest into event-time partitioned Parquet in one atomic commit.

A SOURCE is a local file or folder, or a URL: s3://bucket/prefix/?…,
gs://bucket/prefix/?…, sftp://user@host:22/path/?… (see README). With
--config and no SOURCE, the config file's sources: are loaded.

Exit status: 0 when every object committed, 1 when an object failed or was
quarantined whole (or the load itself failed), 2 for usage errors, 130 when
stopped by SIGINT/SIGTERM or --deadline: the first signal stops reading new
objects and commits those read to their end; a second one aborts at once.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Sources = args
			o.changed = cmd.Flags().Changed
			o.Verbose, _ = cmd.Flags().GetBool("verbose")
			return runLoad(cmd.Context(), o, io)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Lake, "lake", "", "lake folder (created if missing), or s3://BUCKET/PREFIX or gs://BUCKET/PREFIX")
	f.StringVar(&o.Catalog, "catalog", "", "catalog file (default <lake>/_eventlake/catalog.db)")
	f.StringVar(&o.Profile, "profile", "", profileUsage)
	f.StringVar(&o.ConfigPath, "config", "", "YAML config file")
	f.BoolVar(&o.JSON, "json", false, "print one JSON summary object on stdout")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "no progress line")
	f.IntVar(&o.Workers, "workers", 0, "objects processed in parallel, 1 to 64 (default: number of CPUs)")
	f.IntVar(&o.ZstdLevel, "zstd-level", 0, "Parquet zstd level, 1 (fastest) to 19 (smallest) (default 1)")
	f.IntVar(&o.MaxRecordBytes, "max-record-bytes", 0, "records longer than this are quarantined (default 16777216)")
	f.StringVar(&o.OnChange, "on-change", "", "a committed object whose version changed: reload or skip (default reload)")
	f.DurationVar(&o.LockWait, "lock-wait", 0, "how long to wait for another load to finish; 0: do not wait (default 10s)")
	f.DurationVar(&o.Settle, "settle", loader.DefaultSettle, settleUsage)
	f.DurationVar(&o.Deadline, "deadline", 0, "stop reading new objects after this long and commit what was read (e.g. 50m; default none)")
	f.StringVar(&o.Since, "since", "", "only objects whose key dates are on or after YYYY-MM-DD")
	f.StringVar(&o.Until, "until", "", "only objects whose key dates are on or before YYYY-MM-DD")
	icebergFlags(c, &o.icebergFlagValues)
	return c
}

// resolve merges the config file under the flags and returns the load's
// options and sources.
func (o *loadOptions) resolve(io streams) (loader.Options, []loader.SourceSpec, error) {
	cfg := &config.Config{}
	if o.ConfigPath != "" {
		var err error
		if cfg, err = config.Load(o.ConfigPath); err != nil {
			return loader.Options{}, nil, usageError{err}
		}
	}
	lo := loader.Options{
		Lake: first(o.Lake, cfg.Lake), CatalogPath: first(o.Catalog, cfg.Catalog), Profile: first(o.Profile, cfg.Profile),
		Config: cfg, Workers: firstInt(o.Workers, cfg.Workers), ZstdLevel: firstInt(o.ZstdLevel, cfg.ZstdLevel),
		MaxRecordBytes: firstInt(o.MaxRecordBytes, cfg.MaxRecordBytes), OnChange: first(o.OnChange, cfg.OnChange),
		Command: "load",
	}
	changed := o.changed
	if changed == nil {
		changed = func(string) bool { return false }
	}
	var err error
	if lo.LockWait, err = lockWait(changed("lock-wait"), o.LockWait, cfg.LockWait); err != nil {
		return lo, nil, err
	}
	switch {
	case changed("settle") && o.Settle < 0:
		return lo, nil, usagef("--settle %s: want 0 (no wait) or more", o.Settle)
	case changed("settle"):
		lo.Settle = o.Settle
	case cfg.Settle != nil:
		lo.Settle = time.Duration(*cfg.Settle)
	default:
		lo.Settle = loader.DefaultSettle
	}
	// A flag given 0 is not the default: it is checked like any value.
	switch {
	case changed("workers") && (o.Workers < 1 || o.Workers > loader.MaxWorkers):
		return lo, nil, usagef("--workers %d: want 1 to %d", o.Workers, loader.MaxWorkers)
	case cfg.Workers < 0 || cfg.Workers > loader.MaxWorkers:
		return lo, nil, usagef("workers %d in the config file: want 1 to %d", cfg.Workers, loader.MaxWorkers)
	case changed("zstd-level") && (o.ZstdLevel < 1 || o.ZstdLevel > partitions.MaxZstdLevel):
		return lo, nil, usagef("--zstd-level %d: want 1 to %d", o.ZstdLevel, partitions.MaxZstdLevel)
	case changed("max-record-bytes") && (o.MaxRecordBytes < minRecordBytes || o.MaxRecordBytes > maxRecordBytes):
		return lo, nil, usagef("--max-record-bytes %d: want %d to %d", o.MaxRecordBytes, minRecordBytes, maxRecordBytes)
	case cfg.MaxRecordBytes != 0 && (cfg.MaxRecordBytes < minRecordBytes || cfg.MaxRecordBytes > maxRecordBytes):
		return lo, nil, usagef("max_record_bytes %d in the config file: want %d to %d", cfg.MaxRecordBytes, minRecordBytes, maxRecordBytes)
	}
	if lo.Lake == "" {
		return lo, nil, usagef("no lake: give --lake DIR (or lake: in the config file)")
	}
	if err := loader.CheckLake(lo.Lake); err != nil {
		return lo, nil, usageError{err}
	}
	switch lo.OnChange {
	case "", "reload", "skip":
	default:
		return lo, nil, usagef("--on-change %q: want reload or skip", lo.OnChange)
	}
	if lo.ZstdLevel < 0 || lo.ZstdLevel > partitions.MaxZstdLevel {
		return lo, nil, usagef("zstd_level %d in the config file: want 1 to %d", lo.ZstdLevel, partitions.MaxZstdLevel)
	}
	since, until, err := dateRange(o.Since, o.Until)
	if err != nil {
		return lo, nil, err
	}
	var specs []loader.SourceSpec
	for _, s := range o.Sources {
		specs = append(specs, loader.SourceSpec{URL: s, Since: since, Until: until})
	}
	if len(specs) == 0 {
		for _, s := range cfg.Sources {
			sp := loader.SourceSpec{URL: s.URL, Profile: s.Profile, Since: since, Until: until}
			if s.Since != "" && since.IsZero() {
				sp.Since, _ = config.ParseDate(s.Since)
			}
			if s.Until != "" && until.IsZero() {
				sp.Until, _ = config.ParseDate(s.Until)
			}
			specs = append(specs, sp)
		}
	}
	if len(specs) == 0 {
		return lo, nil, usagef("no source: give SOURCE arguments (or sources: in the config file)")
	}
	// An unknown profile is a usage error now, not a failure of every
	// load watch runs.
	names := []string{lo.Profile}
	for _, sp := range specs {
		names = append(names, sp.Profile)
	}
	if err := loader.CheckProfiles(cfg, names...); err != nil {
		if errors.Is(err, loader.ErrUnknownProfile) {
			return lo, nil, usageError{err}
		}
		return lo, nil, err
	}
	return lo, specs, nil
}

// A record limit below a kilobyte rejects ordinary events; above 1 GiB one
// record per worker would not fit the load's memory.
const (
	minRecordBytes = 1 << 10
	maxRecordBytes = 1 << 30
)

func dateRange(since, until string) (s, u time.Time, err error) {
	if since != "" {
		if s, err = config.ParseDate(since); err != nil {
			return s, u, usagef("--since: %v", err)
		}
	}
	if until != "" {
		if u, err = config.ParseDate(until); err != nil {
			return s, u, usagef("--until: %v", err)
		}
	}
	if !s.IsZero() && !u.IsZero() && u.Before(s) {
		return s, u, usagef("--until %s is before --since %s", until, since)
	}
	return s, u, nil
}

func runLoad(ctx context.Context, o *loadOptions, io streams) error {
	err := loadOnce(ctx, o, io)
	if err != nil && o.JSON {
		// --json prints its summary whatever happens: a failed load's
		// says why, with no counts.
		var ee exitError
		if !errors.As(err, &ee) {
			if e := writeLoadJSON(io.out, &loader.Summary{Error: err.Error()}); e != nil {
				return errors.Join(err, e)
			}
		}
	}
	return err
}

func loadOnce(ctx context.Context, o *loadOptions, io streams) error {
	trimBinary()
	lo, specs, err := o.resolve(io)
	if err != nil {
		return err
	}
	lo.Log = io.logger(o.Verbose)
	if lo.WriterOptions, err = icebergWriterOptions(ctx, lo.Lake, o.Iceberg, o.IcebergRetention); err != nil {
		return err
	}
	if !o.Quiet {
		lo.Progress = io.errOut
		lo.ProgressTTY = io.isTerminal(io.errOut)
	}
	lo.Deadline = o.Deadline
	// The first SIGINT/SIGTERM (which ends ctx) stops the load cleanly:
	// nothing new is read, what was read is committed. A second one takes
	// the default action; the next start recovers.
	lo.Stop = ctx.Done()
	stop := context.AfterFunc(ctx, func() {
		signal.Reset(os.Interrupt, syscall.SIGTERM)
		lo.Log.Warn("stopping: committing the objects read so far (a second signal aborts)")
	})
	defer stop()
	sum, err := loader.Run(context.WithoutCancel(ctx), lo, specs)
	if errors.Is(err, loader.ErrStopped) {
		fmt.Fprintf(io.errOut, "eventlake: %v\n", err)
		if o.JSON {
			_ = writeLoadJSON(io.out, &loader.Summary{Stopped: true, Error: err.Error()})
		}
		return exitError{exitSignals}
	}
	if errors.Is(err, loader.ErrPlacement) || errors.Is(err, loader.ErrUnknownProfile) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	if sum.ExpiredFiles > 0 {
		if err := refreshQueryCache(ctx, lo.Lake, first(lo.CatalogPath, loader.CatalogPath(lo.Lake))); err != nil {
			return fmt.Errorf("load done; %w", err)
		}
	}
	if o.JSON {
		if err := writeLoadJSON(io.out, sum); err != nil {
			return err
		}
	} else {
		printSummary(io, sum)
	}
	if sum.Stopped {
		return exitError{exitSignals}
	}
	if !sum.OK() {
		return exitError{exitFailed}
	}
	return nil
}

func printSummary(io streams, s *loader.Summary) {
	if s.Recovered != "" {
		fmt.Fprintf(io.out, "recovered: %s\n", termtext.Escape(s.Recovered))
	}
	defer func() {
		if s.ExpiredFiles > 0 {
			fmt.Fprintf(io.out, "  retention: expired %d partition(s), %d files, %d rows (load %s)\n",
				s.ExpiredPartitions, s.ExpiredFiles, s.ExpiredRows, s.ExpireLoadID)
		}
	}()
	if s.LoadID == "" {
		fmt.Fprintf(io.out, "nothing new to load (%d objects already loaded)\n", s.Skipped)
		printWaits(io, s)
		for _, e := range s.Errors {
			fmt.Fprintf(io.out, "  %s %s: %s\n", e.Status, termtext.Escape(e.Object), termtext.Escape(e.Error))
		}
		return
	}
	// The rate counts the bytes read from the sources as stored
	// (compressed), as the progress line does.
	mbps := 0.0
	if s.Seconds > 0 {
		mbps = float64(s.Bytes) / 1e6 / s.Seconds
	}
	fmt.Fprintf(io.out, "load %s: %d objects (%d committed, %d duplicates, %d failed, %d quarantined), %d skipped\n",
		s.LoadID, s.Objects, s.Committed, s.Duplicates, s.Failed, s.Quarantined, s.Skipped)
	printWaits(io, s)
	fmt.Fprintf(io.out, "  %d records, %d rejects, %d files, %s read (%s uncompressed) in %.2fs (%.1f MB/s read)\n",
		s.Records, s.Rejects, s.Files, humanBytes(s.Bytes), humanBytes(s.UncompressedBytes), s.Seconds, mbps)
	for _, e := range s.Errors {
		fmt.Fprintf(io.out, "  %s %s: %s\n", e.Status, termtext.Escape(e.Object), termtext.Escape(e.Error))
	}
	if s.Stopped {
		fmt.Fprintf(io.out, "  stopped early: %d object(s) not started, left for the next run\n", s.NotStarted)
	}
	if s.Failed > 0 {
		fmt.Fprintln(io.out, "  failed objects are retried by the next run")
	}
	if s.Rejects > 0 {
		fmt.Fprintln(io.out, "  rejected records are in <lake>/_rejects/ (eventlake sql: select * from eventlake.rejects)")
	}
	if s.LenientQuotes > 0 {
		fmt.Fprintf(io.out, "  %d CSV row(s) loaded with a '\"' inside an unquoted field, read as text (per object: eventlake.objects.lenient_quotes)\n", s.LenientQuotes)
	}
}

// printWaits tells about the objects left for a later run.
func printWaits(io streams, s *loader.Summary) {
	if s.Deferred > 0 {
		fmt.Fprintf(io.out, "  %d object(s) still being written (modified within --settle): deferred to the next run\n", s.Deferred)
	}
	if s.Waiting > 0 {
		fmt.Fprintf(io.out, "  %d failed object(s) wait for their retry time\n", s.Waiting)
	}
}

// humanBytes formats a byte count in decimal units (kB, MB, GB).
func humanBytes(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1_000_000:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1_000_000_000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f GB", float64(n)/1e9)
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func firstInt(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}
