package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventlake/eventlake/config"
	lk "github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/loader"
)

// rebuildOptions are the flags of `eventlake catalog rebuild`.
type rebuildOptions struct {
	Lake, Catalog, ConfigPath string
	DryRun, JSON              bool
	LockWait                  time.Duration
	changed                   func(name string) bool
}

func newCatalogCmd(io streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "catalog",
		Short: "Maintain the lake's catalog",
		Args:  cobra.NoArgs,
	}
	o := &rebuildOptions{}
	rb := &cobra.Command{
		Use:   "rebuild --lake DIR [--catalog FILE] [--dry-run] [--json]",
		Short: "Rebuild a lost catalog from the lake's load manifests",
		Long: `Rebuild reconstructs the catalog of a lake whose catalog was lost (deleted,
moved away, or restored from a backup older than the lake and moved aside)
from the manifests every load and compaction leaves in <lake>/_eventlake/loads/:
loads, objects (with their versions, so a re-run skips what is loaded),
files, the files compactions replaced, and schemas, replayed in commit order.

A load that committed but was interrupted while publishing its files is
published. Files a compaction replaced that are still on disk are deleted.
It never overwrites a catalog that records loads, and refuses a lake holding
Parquet files that no manifest names.

--dry-run builds the catalog in a temporary folder, prints what it would
hold, and changes nothing.

Exit status: 0 on success, 1 when the catalog could not be rebuilt, 2 for
usage errors.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.changed = cmd.Flags().Changed
			return runRebuild(cmd.Context(), o, io)
		},
	}
	f := rb.Flags()
	f.StringVar(&o.Lake, "lake", "", "lake folder, or s3://BUCKET/PREFIX or gs://BUCKET/PREFIX")
	f.StringVar(&o.Catalog, "catalog", "", "catalog file to create (default <lake>/_eventlake/catalog.db)")
	f.StringVar(&o.ConfigPath, "config", "", "YAML config file (lake, catalog, lock_wait)")
	f.BoolVar(&o.DryRun, "dry-run", false, "only report what the rebuilt catalog would hold")
	f.BoolVar(&o.JSON, "json", false, "print one JSON report object on stdout")
	f.DurationVar(&o.LockWait, "lock-wait", 0, "how long to wait for a running load; 0: do not wait (default 10s)")
	c.AddCommand(rb)
	return c
}

func runRebuild(ctx context.Context, o *rebuildOptions, io streams) error {
	cfg := &config.Config{}
	if o.ConfigPath != "" {
		var err error
		if cfg, err = config.Load(o.ConfigPath); err != nil {
			return usageError{err}
		}
	}
	ro := lk.RebuildOptions{Lake: first(o.Lake, cfg.Lake), CatalogPath: first(o.Catalog, cfg.Catalog), DryRun: o.DryRun}
	if ro.Lake == "" {
		return usagef("no lake: give --lake DIR (or lake: in the config file)")
	}
	loc, err := parseLake(ro.Lake)
	if err != nil {
		return err
	}
	if ro.CatalogPath == "" && !loc.IsBucket() {
		ro.CatalogPath = loader.CatalogPath(ro.Lake)
	}
	changed := o.changed
	if changed == nil {
		changed = func(string) bool { return false }
	}
	if ro.LockWait, err = lockWait(changed("lock-wait"), o.LockWait, cfg.LockWait); err != nil {
		return err
	}
	rep, rerr := lk.Rebuild(ctx, ro)
	if rep == nil {
		return rerr
	}
	if o.JSON {
		if err := writeRebuildJSON(io.out, rep, rerr); err != nil {
			return err
		}
		return rerr
	}
	if rerr != nil {
		return rerr
	}
	w := io.out
	verb := "rebuilt"
	if rep.DryRun {
		verb = "dry run: would rebuild"
	}
	var objs []string
	for k, v := range rep.Objects {
		objs = append(objs, fmt.Sprintf("%d %s", v, k))
	}
	sort.Strings(objs)
	fmt.Fprintf(w, "%s %s: %d loads, objects: %s; %d live files, %d rows, %d rejects\n",
		verb, rep.Catalog, rep.Loads, first(strings.Join(objs, ", "), "none"), rep.Files, rep.Rows, rep.Rejects)
	if rep.Published > 0 {
		fmt.Fprintf(w, "  %d file(s) of a load interrupted while publishing published\n", rep.Published)
	}
	if rep.ReplacedDeleted > 0 {
		fmt.Fprintf(w, "  %d file(s) a compaction had replaced deleted\n", rep.ReplacedDeleted)
	}
	for _, id := range rep.Uncommitted {
		fmt.Fprintf(w, "  load %s never committed: not recovered (its objects load again)\n", id)
	}
	if len(rep.Missing) > 0 {
		fmt.Fprintf(io.errOut, "warning: %d file(s) the manifests name are missing from the lake (their rows are lost; restore them and rebuild again):\n", len(rep.Missing))
		for _, p := range rep.Missing[:min(len(rep.Missing), 10)] {
			fmt.Fprintf(io.errOut, "  %s\n", p)
		}
	}
	return nil
}
