package main

import (
	"context"
	"fmt"
	"sync"
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
	ts, err := icebergTables(ctx, root, retention)
	if err != nil {
		return nil, err
	}
	if !on {
		ok, err := ts[0].Exists(ctx)
		if err != nil {
			return nil, fmt.Errorf("iceberg table: %w", err)
		}
		if !ok {
			return nil, nil
		}
	}
	o, err := icebergOptions(ctx, root, retention)
	if err != nil {
		return nil, err
	}
	return icebergHooks(root, o, ts), nil
}

// icebergHooks are the writer options that keep ts and an Iceberg table
// of every CSV table, in the lake's folder or bucket.
func icebergHooks(root string, o icetable.Options, ts []*icetable.Table) []lake.Option {
	return icetable.CSVWriterOptions(lake.At(root), o, ts...)
}

// icebergOptions are the options of the lake's Iceberg tables: a lake in a
// bucket keeps them in the bucket, through a store opened once per
// process.
func icebergOptions(ctx context.Context, root string, retention time.Duration) (icetable.Options, error) {
	o := icetable.Options{Retention: retention}
	loc, err := parseLake(root)
	if err != nil {
		return o, err
	}
	if loc.IsBucket() {
		if o.Bucket, err = icebergStore(ctx, loc); err != nil {
			return o, err
		}
	}
	return o, nil
}

// icebergTables are the lake's Iceberg tables: events first, then _rejects.
func icebergTables(ctx context.Context, root string, retention time.Duration) ([]*icetable.Table, error) {
	o, err := icebergOptions(ctx, root, retention)
	if err != nil {
		return nil, err
	}
	l := lake.At(root)
	return []*icetable.Table{icetable.Events(l, o), icetable.Rejects(l, o)}, nil
}

var (
	icebergStoresMu sync.Mutex
	icebergStores   = map[string]lake.ObjectStore{}
)

// icebergStore returns the store the Iceberg tables of a bucket lake use,
// opened on first use and kept for the process (watch asks every round).
func icebergStore(ctx context.Context, loc lake.Location) (lake.ObjectStore, error) {
	icebergStoresMu.Lock()
	defer icebergStoresMu.Unlock()
	key := loc.URL.String()
	if st, ok := icebergStores[key]; ok {
		return st, nil
	}
	st, err := lake.OpenStore(ctx, loc)
	if err != nil {
		return nil, err
	}
	icebergStores[key] = st
	return st, nil
}

// registeredIcebergTables are the Iceberg tables ddl registers: events,
// _rejects, then the CSV tables (those without metadata register nothing).
// A lake in a bucket names its CSV tables in its catalog (the bucket is not
// listed whole).
func registeredIcebergTables(ctx context.Context, root string) ([]*icetable.Table, error) {
	o, err := icebergOptions(ctx, root, 0)
	if err != nil {
		return nil, err
	}
	ts, err := icebergTables(ctx, root, 0)
	if err != nil {
		return nil, err
	}
	if loc, err := lake.ParseLocation(root); err == nil && loc.IsBucket() {
		cat, _, _, done, err := lake.OpenBucketReader(ctx, loc)
		if err != nil {
			return nil, err
		}
		defer done()
		names, err := cat.TablesEver(ctx)
		if err != nil {
			return nil, err
		}
		return append(ts, icetable.CSVTablesOf(lake.At(root), o, names)...), nil
	}
	return append(ts, icetable.ExistingCSVTables(lake.At(root), icetable.Options{})...), nil
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
		Use:   "sync --lake DIR|URL",
		Short: "Create or bring up to date the Iceberg tables of events, _rejects and the CSV tables, then expire old snapshots",
		Long: `Sync commits, for events, _rejects and each CSV table, an Iceberg snapshot whose data files
are exactly the catalog's live files of the table (creating the table in
<lake>/<table>/_iceberg/ if the lake has none; in the bucket for a lake in
one, s3:// or gs://), then drops the snapshots replaced
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
			ctx := cmd.Context()
			ts, err := icebergTables(ctx, lakeDir, retention)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("metadata-versions") && versions < 1 {
				return usagef("--metadata-versions must be at least 1, not %d", versions)
			}
			o, err := icebergOptions(ctx, lakeDir, retention)
			if err != nil {
				return err
			}
			w, _, err := lake.OpenWriter(ctx, lakeDir, catalogPath, lockWait, "iceberg sync", icebergHooks(lakeDir, o, ts)...)
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
	f.StringVar(&lakeDir, "lake", "", "lake folder, or s3://… or gs://… URL")
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
