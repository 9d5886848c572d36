package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/lake/icetable"
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
// Iceberg tables (events and _rejects) in step: when asked to (--iceberg),
// or when the lake already has the events table.
func icebergWriterOptions(ctx context.Context, root string, on bool, retention time.Duration) ([]lake.Option, error) {
	if root == "" {
		return nil, nil
	}
	ts := icebergTables(root, retention)
	if !on {
		ok, err := ts[0].Exists(ctx)
		if err != nil {
			return nil, fmt.Errorf("iceberg table: %w", err)
		}
		if !ok {
			return nil, nil
		}
	}
	return icetable.CSVWriterOptions(lake.At(root), icetable.Options{Retention: retention}, ts...), nil
}

// icebergTables are the lake's Iceberg tables: events first, then _rejects.
func icebergTables(root string, retention time.Duration) []*icetable.Table {
	l, o := lake.At(root), icetable.Options{Retention: retention}
	return []*icetable.Table{icetable.Events(l, o), icetable.Rejects(l, o)}
}

// registeredIcebergTables are the Iceberg tables ddl registers: events,
// _rejects, then the CSV tables that have one.
func registeredIcebergTables(root string) []*icetable.Table {
	return append(icebergTables(root, 0), icetable.ExistingCSVTables(lake.At(root), icetable.Options{})...)
}

func newIcebergCmd(io streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "iceberg",
		Short: "Keep the lake's Apache Iceberg tables (events, _rejects, the CSV tables) in step with the catalog",
	}
	var lakeDir, catalogPath string
	var retention, lockWait time.Duration
	var versions int
	sync := &cobra.Command{
		Use:   "sync --lake DIR",
		Short: "Create or bring up to date the Iceberg tables of events, _rejects and the CSV tables, then expire old snapshots",
		Long: `Sync commits, for events, _rejects and each CSV table, an Iceberg snapshot whose data files
are exactly the catalog's live files of the table (creating the table in
<lake>/<table>/_iceberg/ if the lake has none), then drops the snapshots replaced
longer than --iceberg-retention ago and deletes the replaced files no retained
snapshot lists, with the manifests and delete files only expired snapshots
referred to, and metadata versions older than the last --metadata-versions
(write.metadata.previous-versions-max; default 100 for a new table; given, it
is set on both tables and every later commit keeps it). Once the events table exists, every load, watch round and
compaction commits their snapshots. It prints each table's current metadata
file, to register the table with (eventlake ddl --format iceberg).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if lakeDir == "" {
				return usagef("no lake given (--lake DIR)")
			}
			if err := folderOnly("iceberg sync", lakeDir); err != nil {
				return err
			}
			if cmd.Flags().Changed("metadata-versions") && versions < 1 {
				return usagef("--metadata-versions must be at least 1, not %d", versions)
			}
			ctx := cmd.Context()
			ts := icebergTables(lakeDir, retention)
			o := icetable.Options{Retention: retention}
			w, _, err := lake.OpenWriter(ctx, lakeDir, catalogPath, lockWait, "iceberg sync", icetable.CSVWriterOptions(lake.At(lakeDir), o, ts...)...)
			if err != nil {
				return err
			}
			defer w.Close()
			csv, err := icetable.CSVTables(ctx, w.Layout, o, &lake.Publication{Layout: w.Layout, Catalog: w.Catalog})
			if err != nil {
				return err
			}
			ts = append(ts, csv...)
			for _, t := range ts {
				if versions > 0 {
					if _, err := t.SetMetadataVersions(ctx, versions); err != nil {
						return err
					}
				}
				if err := syncIcebergTable(ctx, io, w, t); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f := sync.Flags()
	f.StringVar(&lakeDir, "lake", "", "lake folder")
	f.StringVar(&catalogPath, "catalog", "", "catalog file (default <lake>/_eventlake/catalog.db)")
	f.DurationVar(&retention, "iceberg-retention", icetable.DefaultRetention,
		"how long replaced snapshots, and the files only they list, are kept for readers")
	f.IntVar(&versions, "metadata-versions", 0, "earlier metadata versions each table keeps (write.metadata.previous-versions-max); 0 leaves it as it is")
	f.DurationVar(&lockWait, "lock-wait", 10*time.Second, "how long to wait for a running load")
	c.AddCommand(sync)
	return c
}

// syncIcebergTable brings one Iceberg table up to date with the catalog,
// expires its old snapshots and prints its metadata file.
func syncIcebergTable(ctx context.Context, io streams, w *lake.Writer, t *icetable.Table) error {
	files, err := w.Catalog.FilesAfter(ctx, t.Name(), "")
	if err != nil {
		return err
	}
	sup, err := icetable.SupersededOf(ctx, w.Catalog, t.Name())
	if err != nil {
		return err
	}
	res, err := t.Sync(ctx, files, sup, "", false, nil)
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
		fmt.Fprintf(io.out, "iceberg table %s is up to date (%d files)\n", t.Name(), len(files))
	} else {
		fmt.Fprintf(io.out, "iceberg table %s: %s snapshot %d (%d files added, %d removed)\n",
			t.Name(), res.Operation, res.SnapshotID, res.Added, res.Removed)
	}
	if deleted > 0 {
		fmt.Fprintf(io.out, "%d replaced file(s) past the retention window deleted\n", deleted)
	}
	fmt.Fprintf(io.out, "metadata: %s\n", loc)
	return nil
}
