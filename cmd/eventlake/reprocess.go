package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventlake/eventlake/catalog"
	lk "github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/lake/icetable"
	"github.com/eventlake/eventlake/loader"
)

// selectOptions are the flags shared by reprocess and forget: which objects.
type selectOptions struct {
	Lake, Catalog        string
	Object, Status, Load string
	DryRun, JSON         bool
	LockWait             time.Duration
	changed              func(name string) bool
}

func (o *selectOptions) flags(c *cobra.Command, statuses string) {
	f := c.Flags()
	f.StringVar(&o.Lake, "lake", "", "lake folder, or s3://BUCKET/PREFIX or gs://BUCKET/PREFIX")
	f.StringVar(&o.Catalog, "catalog", "", "catalog file (default <lake>/_eventlake/catalog.db)")
	f.StringVar(&o.Object, "object", "", "objects whose key or URL matches this glob ('*' and '?' stop at '/', '**' does not)")
	f.StringVar(&o.Status, "status", "", "objects with this status: "+statuses)
	f.StringVar(&o.Load, "load", "", "objects recorded by this load ID")
	f.BoolVar(&o.DryRun, "dry-run", false, "only list the objects selected; change nothing")
	f.BoolVar(&o.JSON, "json", false, "print the objects selected as JSON")
	f.DurationVar(&o.LockWait, "lock-wait", 0, "how long to wait for a running load; 0: do not wait (default 10s)")
}

func (o *selectOptions) selection() (catalog.Selection, string, error) {
	sel := catalog.Selection{Object: o.Object, Status: o.Status, LoadID: o.Load}
	if sel.Empty() {
		return sel, "", usagef("select objects with --object GLOB, --status or --load ID")
	}
	switch catalog.ObjectStatus(o.Status) {
	case "", catalog.ObjectCommitted, catalog.ObjectQuarantined, catalog.ObjectDuplicate, catalog.ObjectFailed:
	default:
		return sel, "", usagef("--status %q: want committed, quarantined, duplicate or failed", o.Status)
	}
	if o.Lake == "" {
		return sel, "", usagef("no lake: give --lake DIR")
	}
	path, err := writerCatalog(o.Lake, o.Catalog)
	return sel, path, err
}

func (o *selectOptions) lockWait() (time.Duration, error) {
	return writerWait(o.changed != nil && o.changed("lock-wait"), o.LockWait, 0)
}

// dryRun lists the selected objects from a read-only catalog (no lock).
func (o *selectOptions) dryRun(ctx context.Context, io streams, sel catalog.Selection, path, verb string) error {
	cat, done, err := readCatalog(ctx, o.Lake, path)
	if err != nil {
		return err
	}
	defer done()
	objs, err := cat.SelectObjects(ctx, sel)
	if err != nil {
		return usageError{err}
	}
	return printSelected(io, o.JSON, objs, "would "+verb)
}

// selectedJSON is one selected object in --json output.
type selectedJSON struct {
	Object  string `json:"object"`
	Version string `json:"version"`
	Status  string `json:"status"`
	LoadID  string `json:"load_id"`
	Records int64  `json:"records"`
	Rejects int64  `json:"rejects"`
}

func printSelected(io streams, asJSON bool, objs []catalog.SelectedObject, verb string) error {
	if asJSON {
		out := selectionJSON{Format: jsonFormat, Action: verb, Objects: []selectedJSON{}}
		for _, ob := range objs {
			out.Objects = append(out.Objects, selectedJSON{ob.URL(), ob.Version, ob.Status, ob.LoadID, ob.Records, ob.Rejects})
		}
		enc := json.NewEncoder(io.out)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for _, ob := range objs {
		fmt.Fprintf(io.out, "%s %s (version %s, %s by load %s: %d records, %d rejects)\n", verb, ob.URL(), ob.Version, ob.Status, ob.LoadID, ob.Records, ob.Rejects)
	}
	fmt.Fprintf(io.out, "%d object version(s)\n", len(objs))
	return nil
}

// reprocessOptions are the flags of `eventlake reprocess`.
type reprocessOptions struct {
	selectOptions
	Profile, ConfigPath string
	Quiet               bool
	Settle              time.Duration
	Sources             []string
}

func newReprocessCmd(io streams) *cobra.Command {
	o := &reprocessOptions{}
	c := &cobra.Command{
		Use:   "reprocess --lake DIR (--object GLOB | --status S | --load ID) [--dry-run] [SOURCE... [--profile P]]",
		Short: "Mark objects to be read again; the load that does replaces their rows and rejects atomically",
		Long: `Reprocess marks the selected objects (every selector given must match) for
reprocessing: the next load that reaches one reads it again, even though its
version is already in the catalog, and in the same commit that adds its new
rows and rejects supersedes those its earlier load wrote. Readers of the shell
never see both, nor neither; the catalog keeps the history
(eventlake.supersedes). Use it after fixing a profile or a mapping: a
quarantined object is loaded with the right --profile, a committed one is
replaced without duplicate rows.

Given SOURCEs, reprocess loads them at once (as eventlake load with --profile
and --config would); otherwise the next load or watch does.

Superseded rows are hidden from eventlake sql at once; engines reading the
Parquet folders directly (eventlake ddl) see them until eventlake compact
rewrites their partitions.

Exit status: 0 on success, 1 when the load failed or an object failed or was
quarantined again, 2 for usage errors.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Sources = args
			o.changed = cmd.Flags().Changed
			return runReprocess(cmd.Context(), o, io)
		},
	}
	o.flags(c, "committed, quarantined, duplicate or failed")
	c.Flags().StringVar(&o.Profile, "profile", "", "profile of the load run with SOURCEs (see eventlake load)")
	c.Flags().StringVar(&o.ConfigPath, "config", "", "YAML config file of the load run with SOURCEs")
	c.Flags().BoolVarP(&o.Quiet, "quiet", "q", false, "no progress line")
	c.Flags().DurationVar(&o.Settle, "settle", loader.DefaultSettle, settleUsage+" (the load of SOURCEs)")
	return c
}

func runReprocess(ctx context.Context, o *reprocessOptions, io streams) error {
	if len(o.Sources) == 0 && (o.Profile != "" || o.ConfigPath != "") {
		return usagef("--profile and --config apply to the load of SOURCEs: give them, or pass --profile to the next eventlake load")
	}
	sel, path, err := o.selection()
	if err != nil {
		return err
	}
	if o.DryRun {
		return o.dryRun(ctx, io, sel, path, "reprocess")
	}
	wait, err := o.lockWait()
	if err != nil {
		return err
	}
	w, _, err := lk.OpenWriter(ctx, o.Lake, path, wait, catalog.ReprocessCommand)
	if err != nil {
		return err
	}
	objs, err := w.Catalog.SelectObjects(ctx, sel)
	if err != nil {
		w.Close()
		return usageError{err}
	}
	err = w.MarkReprocess(ctx, objs, nil)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	out := io
	if o.JSON && len(o.Sources) > 0 {
		out.out = io.errOut // stdout is the load's JSON summary
	}
	if err := printSelected(out, o.JSON, objs, "marked for reprocessing:"); err != nil {
		return err
	}
	if len(o.Sources) == 0 {
		if len(objs) > 0 && !o.JSON {
			fmt.Fprintln(io.out, "the next load of their source reads them again and replaces their rows and rejects")
		}
		return nil
	}
	lo := &loadOptions{Lake: o.Lake, Catalog: o.Catalog, Profile: o.Profile, ConfigPath: o.ConfigPath, JSON: o.JSON,
		Quiet: o.Quiet, LockWait: o.LockWait, Settle: o.Settle, Sources: o.Sources, changed: o.changed}
	return runLoad(ctx, lo, io)
}

func newForgetCmd(io streams) *cobra.Command {
	o := &selectOptions{}
	c := &cobra.Command{
		Use:   "forget --lake DIR (--object GLOB | --status S | --load ID) [--dry-run]",
		Short: "Drop objects from the lake: their rows and rejects are superseded atomically, nothing is reloaded",
		Long: `Forget removes the selected objects (every selector given must match) from the
lake in one atomic commit: their rows and rejects disappear from eventlake sql,
files left with no row are removed, and a later load reads the objects as new.
The catalog keeps their rows in eventlake.objects (superseded_by names the
forget) and the history in eventlake.supersedes.

Engines reading the Parquet folders directly (eventlake ddl) see the rows of
events files that also hold other objects' rows until eventlake compact
rewrites their partitions.

Exit status: 0 on success (also when nothing is selected), 1 when the commit
failed, 2 for usage errors.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.changed = cmd.Flags().Changed
			return runForget(cmd.Context(), o, io)
		},
	}
	o.flags(c, "committed, quarantined, duplicate or failed")
	return c
}

func runForget(ctx context.Context, o *selectOptions, io streams) error {
	sel, path, err := o.selection()
	if err != nil {
		return err
	}
	if o.DryRun {
		return o.dryRun(ctx, io, sel, path, "forget")
	}
	wait, err := o.lockWait()
	if err != nil {
		return err
	}
	// A lake keeping Iceberg tables gets the forget's snapshot too.
	opts, err := icebergWriterOptions(ctx, o.Lake, false, icetable.DefaultRetention)
	if err != nil {
		return err
	}
	w, _, err := lk.OpenWriter(ctx, o.Lake, path, wait, catalog.ForgetCommand, opts...)
	if err != nil {
		return err
	}
	defer w.Close()
	objs, err := w.Catalog.SelectObjects(ctx, sel)
	if err != nil {
		return usageError{err}
	}
	if len(objs) > 0 {
		ch := lk.Changes{}
		for _, ob := range objs {
			ch.Forget = append(ch.Forget, ob.ObjectVersion)
		}
		tx, err := w.Begin(ctx, lk.TxOptions{Command: catalog.ForgetCommand, StepPrefix: "forget-"})
		if err != nil {
			return err
		}
		if err := tx.Commit(ctx, ch); err != nil {
			return err
		}
	}
	return printSelected(io, o.JSON, objs, "forgot")
}
