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
	lk "github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/partitions/expire"
	"github.com/eventlake/eventlake/sql/views"
)

// expireOptions are the flags of `eventlake expire`.
type expireOptions struct {
	icebergFlagValues
	Lake, Catalog, Before, Table, Domain string
	DryRun, JSON, Verbose                bool
	LockWait                             time.Duration
	changed                              func(name string) bool
}

func newExpireCmd(io streams) *cobra.Command {
	o := &expireOptions{}
	c := &cobra.Command{
		Use:   "expire --lake DIR --before YYYY-MM-DD [--table T] [--domain D] [--dry-run] [--json]",
		Short: "Remove the partitions older than a date from the lake, atomically",
		Long: `Expire removes from the lake every partition dated before --before: events
partitions by event_date, a CSV table's by its partition column, _rejects by
load_date. --table restricts it to one table, --domain to the events of one
domain. The partitions leave the catalog in one transaction (the shell sees
the lake with them or without them, never half of it), and their files are
then deleted (an Iceberg table keeps a snapshot's files for
--iceberg-retention). Like a load it takes the lake's writer lock, and an
expiry interrupted (even by kill -9) is finished by the next writer.

The objects the expired rows came from stay recorded as loaded: a later load
does not load them again (that would bring the expired rows back). To load
such an object again, use eventlake reprocess.

retention: in the config file makes load and watch expire partitions by
themselves.

Exit status: 0 on success (also when nothing is old enough), 1 when the
expiry failed, 2 for usage errors.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.changed = cmd.Flags().Changed
			return runExpire(cmd.Context(), o, io)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Lake, "lake", "", "lake folder, or s3://BUCKET/PREFIX or gs://BUCKET/PREFIX")
	f.StringVar(&o.Catalog, "catalog", "", "catalog file (default <lake>/_eventlake/catalog.db)")
	f.StringVar(&o.Before, "before", "", "expire the partitions dated before this day (YYYY-MM-DD, UTC)")
	f.StringVar(&o.Table, "table", "", "only this table (events, a CSV table, _rejects)")
	f.StringVar(&o.Domain, "domain", "", "only the events partitions of this domain")
	f.BoolVar(&o.DryRun, "dry-run", false, "only list the partitions that would expire; change nothing")
	f.BoolVar(&o.JSON, "json", false, "print one JSON summary object on stdout")
	f.BoolVarP(&o.Verbose, "verbose", "v", false, "log every partition")
	f.DurationVar(&o.LockWait, "lock-wait", 0, "how long to wait for a running load; 0: do not wait (default 10s)")
	icebergFlags(c, &o.icebergFlagValues)
	return c
}

// resolve checks the flags: the selection and the catalog's path.
func (o *expireOptions) resolve() (expire.Selection, string, time.Duration, error) {
	var sel expire.Selection
	if o.Lake == "" {
		return sel, "", 0, usagef("no lake: give --lake DIR")
	}
	if o.Before == "" {
		return sel, "", 0, usagef("give --before YYYY-MM-DD: the partitions dated before it expire")
	}
	before, err := config.ParseDate(o.Before)
	if err != nil {
		return sel, "", 0, usagef("--before: %v", err)
	}
	if o.Domain != "" && o.Table != "" && o.Table != "events" {
		return sel, "", 0, usagef("--domain selects events partitions; it cannot go with --table %s", o.Table)
	}
	wait, err := writerWait(o.changed != nil && o.changed("lock-wait"), o.LockWait, 0)
	if err != nil {
		return sel, "", 0, err
	}
	path, err := writerCatalog(o.Lake, o.Catalog)
	if err != nil {
		return sel, "", 0, err
	}
	sel = expire.Selection{Before: map[string]time.Time{o.Table: before}, Domain: o.Domain}
	return sel, path, wait, nil
}

func runExpire(ctx context.Context, o *expireOptions, io streams) error {
	sel, path, wait, err := o.resolve()
	if err != nil {
		return err
	}
	log := io.logger(o.Verbose)
	var sum *expire.Summary
	if o.DryRun {
		cat, done, err := readCatalog(ctx, o.Lake, path)
		if err != nil {
			return err
		}
		defer done()
		if sum, err = expire.Plan(ctx, cat, sel); err != nil {
			return err
		}
		sum.DryRun = true
	} else {
		opts, err := icebergWriterOptions(ctx, o.Lake, o.Iceberg, o.IcebergRetention)
		if err != nil {
			return err
		}
		w, rep, err := lk.OpenWriter(ctx, o.Lake, path, wait, catalog.ExpireCommand, opts...)
		if err != nil {
			return err
		}
		sum, err = expire.Apply(ctx, w, sel, expire.Options{Log: log})
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if rep.Aborted+rep.Completed+rep.StrayDirs+rep.ReplacedDeleted > 0 {
			sum.Recovered = fmt.Sprintf("%d interrupted load(s) discarded, %d committed load(s) published, %d replaced file(s) deleted",
				rep.Aborted, rep.Completed, rep.ReplacedDeleted)
		}
		if sum.Files > 0 && path != "" {
			if err := refreshQueryCache(ctx, o.Lake, path); err != nil {
				return fmt.Errorf("expiry done; %w", err)
			}
		}
	}
	for _, table := range sum.Absent {
		fmt.Fprintf(io.errOut, "eventlake: expire: the lake has no live files of table %q (see eventlake status)\n", table)
	}
	if o.JSON {
		return writeExpireJSON(io.out, sum)
	}
	printExpireSummary(io, sum, o.Before)
	return nil
}

// refreshQueryCache brings the shell's query cache, when the lake has one,
// up to date after partitions left the lake (it must not keep a copy of
// expired rows).
func refreshQueryCache(ctx context.Context, lake, catPath string) error {
	if _, err := os.Stat(views.CachePath(lake)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	cat, err := catalog.Open(catPath, catalog.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer cat.Close()
	if _, err := views.BuildCache(ctx, lake, cat); err != nil {
		return fmt.Errorf("updating the query cache: %w", err)
	}
	return nil
}

func printExpireSummary(io streams, s *expire.Summary, before string) {
	w := io.out
	if s.Recovered != "" {
		fmt.Fprintf(w, "recovered: %s\n", s.Recovered)
	}
	verb := "expired"
	if s.DryRun {
		verb = "dry run: would expire"
	}
	if s.Files == 0 {
		fmt.Fprintf(w, "nothing to expire before %s\n", before)
		return
	}
	load := ""
	if s.LoadID != "" {
		load = " (load " + s.LoadID + ")"
	}
	fmt.Fprintf(w, "%s %d partitions before %s%s: %d files, %d rows, %.1f MB\n", verb, s.Partitions, before, load,
		s.Files, s.Rows, float64(s.Bytes)/1e6)
	for _, p := range s.Details {
		fmt.Fprintf(w, "  %s/%s: %d files, %d rows\n", p.Table, p.Partition, p.Files, p.Rows)
	}
}
