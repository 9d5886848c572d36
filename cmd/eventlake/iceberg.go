package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/lake/icetable"
	"github.com/eventlake/eventlake/partitions"
)

// icebergFlagValues are the Iceberg flags of the writing commands.
type icebergFlagValues struct {
	Iceberg          bool
	IcebergRetention time.Duration
}

func icebergFlags(c *cobra.Command, v *icebergFlagValues) {
	c.Flags().BoolVar(&v.Iceberg, "iceberg", false,
		"keep an Apache Iceberg table of events over the lake's files (on by itself once the lake has one)")
	c.Flags().DurationVar(&v.IcebergRetention, "iceberg-retention", icetable.DefaultRetention,
		"how long replaced Iceberg snapshots, and the files only they list, are kept for readers")
}

// icebergWriterOptions returns the writer options that keep the lake's
// Iceberg table in step: when asked to (--iceberg), or when the lake
// already has the table.
func icebergWriterOptions(ctx context.Context, root string, on bool, retention time.Duration) ([]lake.Option, error) {
	if root == "" {
		return nil, nil
	}
	t := icetable.Events(lake.At(root), icetable.Options{Retention: retention})
	if !on {
		ok, err := t.Exists(ctx)
		if err != nil {
			return nil, fmt.Errorf("iceberg table: %w", err)
		}
		if !ok {
			return nil, nil
		}
	}
	return t.WriterOptions(), nil
}

func newIcebergCmd(io streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "iceberg",
		Short: "Keep the lake's Apache Iceberg table (events) in step with the catalog",
	}
	var lakeDir, catalogPath string
	var retention, lockWait time.Duration
	sync := &cobra.Command{
		Use:   "sync --lake DIR",
		Short: "Create or bring up to date the Iceberg table of events, then expire old snapshots",
		Long: `Sync commits an Iceberg snapshot whose data files are exactly the catalog's live
files of events (creating the table in <lake>/events/_iceberg/ if the lake has
none), then drops the snapshots replaced longer than --iceberg-retention ago and
deletes the replaced files no retained snapshot lists. Once the table exists,
every load and compaction commits its own snapshot. It prints the current
metadata file, to register the table with (see the README's Apache Iceberg
table section).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if lakeDir == "" {
				return usagef("no lake given (--lake DIR)")
			}
			if err := folderOnly("iceberg sync", lakeDir); err != nil {
				return err
			}
			ctx := cmd.Context()
			t := icetable.Events(lake.At(lakeDir), icetable.Options{Retention: retention})
			w, _, err := lake.OpenWriter(ctx, lakeDir, catalogPath, lockWait, "iceberg sync", t.WriterOptions()...)
			if err != nil {
				return err
			}
			defer w.Close()
			files, err := w.Catalog.FilesAfter(ctx, partitions.EventsTable, "")
			if err != nil {
				return err
			}
			res, err := t.Sync(ctx, files, "", false, nil)
			if err != nil {
				return err
			}
			p := &lake.Publication{Layout: w.Layout, Catalog: w.Catalog}
			deleted, err := t.Expire(ctx, p, time.Now())
			if err != nil {
				return err
			}
			loc, err := t.MetadataLocation(ctx)
			if err != nil {
				return err
			}
			if res.Operation == "" {
				fmt.Fprintf(io.out, "iceberg table events is up to date (%d files)\n", len(files))
			} else {
				fmt.Fprintf(io.out, "iceberg table events: %s snapshot %d (%d files added, %d removed)\n",
					res.Operation, res.SnapshotID, res.Added, res.Removed)
			}
			if deleted > 0 {
				fmt.Fprintf(io.out, "%d replaced file(s) past the retention window deleted\n", deleted)
			}
			fmt.Fprintf(io.out, "metadata: %s\n", loc)
			return nil
		},
	}
	f := sync.Flags()
	f.StringVar(&lakeDir, "lake", "", "lake folder")
	f.StringVar(&catalogPath, "catalog", "", "catalog file (default <lake>/_eventlake/catalog.db)")
	f.DurationVar(&retention, "iceberg-retention", icetable.DefaultRetention,
		"how long replaced snapshots, and the files only they list, are kept for readers")
	f.DurationVar(&lockWait, "lock-wait", 10*time.Second, "how long to wait for a running load")
	c.AddCommand(sync)
	return c
}
