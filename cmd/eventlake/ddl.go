package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/eventlake/eventlake/catalog"
	lk "github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/loader"
	"github.com/eventlake/eventlake/sql/ddl"
)

// ddlOptions are the flags of `eventlake ddl`.
type ddlOptions struct {
	Lake, Catalog, Engine, Location, Database, Format string
}

func newDDLCmd(io streams) *cobra.Command {
	o := &ddlOptions{}
	c := &cobra.Command{
		Use:   "ddl --lake DIR --engine athena|spark|trino --location URL | ddl --format iceberg --lake DIR|URL --engine ENGINE [--location URL]",
		Short: "Print the DDL that lets Athena, Spark or Trino read the lake as the shell does, or register its Iceberg table",
		Long: `With --format hive (the default), ddl prints the external tables and views that let Athena,
Spark or Trino read the lake's folders as the shell does.

With --format iceberg, it prints how to register the lake's Iceberg tables of events,
rejects and the CSV tables (see eventlake iceberg sync) with athena, spark, trino, snowflake
or bigquery from their current metadata files, and how to point the engine at newer metadata
files after later commits. For a lake in a bucket (--lake s3://… or gs://…) the metadata and
data files are named by their URLs in it and --location does not apply; Athena reads s3://
only, BigQuery gs:// only.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDDL(cmd.Context(), o, io)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Lake, "lake", "", "lake folder or s3://, gs:// URL (for the partitions and the CSV tables; required for athena)")
	f.StringVar(&o.Catalog, "catalog", "", "catalog file (default <lake>/_eventlake/catalog.db)")
	f.StringVar(&o.Engine, "engine", "", "athena, spark or trino (iceberg: also snowflake, bigquery)")
	f.StringVar(&o.Location, "location", "", "the lake's root as the engine sees it, e.g. s3://bucket/prefix/ (default: a bucket lake's URL)")
	f.StringVar(&o.Format, "format", "hive", "hive (external tables over the folders) or iceberg (register the Iceberg table)")
	f.StringVar(&o.Database, "database", "eventlake", "database / schema name")
	return c
}

func runDDL(ctx context.Context, o *ddlOptions, io streams) error {
	switch o.Format {
	case "hive":
	case "iceberg":
		return runIcebergDDL(ctx, o, io)
	default:
		return usagef("--format %q: want hive or iceberg", o.Format)
	}
	var loc lk.Location
	if o.Lake != "" {
		var err error
		if loc, err = parseLake(o.Lake); err != nil {
			return err
		}
		if err := bucketDDL(o, loc); err != nil {
			return err
		}
	}
	if o.Engine == "" || o.Location == "" && !loc.IsBucket() {
		return usagef("--engine (%s) and --location are required (--location: not for a lake in a bucket)", strings.Join(ddl.Engines, ", "))
	}
	opts := ddl.Options{Engine: o.Engine, Location: o.Location, Database: o.Database}
	var warnings []string
	var superseded int64
	if o.Lake != "" {
		var cat *catalog.Catalog
		if loc.IsBucket() {
			// The catalog is read from the bucket; the bucket's URL is the
			// tables' location unless --location names it otherwise.
			c, store, _, cleanup, err := lk.OpenBucketReader(ctx, loc)
			if err != nil {
				return err
			}
			defer cleanup()
			cat, opts.Location = c, first(o.Location, store.URL())
		} else {
			path := first(o.Catalog, loader.CatalogPath(o.Lake))
			if _, err := os.Stat(path); err != nil {
				return fmt.Errorf("no catalog at %s", path)
			}
			c, err := catalog.Open(path, catalog.Options{ReadOnly: true})
			if err != nil {
				return err
			}
			defer c.Close()
			cat = c
		}
		var err error
		if opts.Lake, warnings, err = ddl.ReadLake(ctx, cat); err != nil {
			return err
		}
		st, err := cat.Status(ctx)
		if err != nil {
			return err
		}
		superseded = st.SupersededRows
	}
	res, err := ddl.Generate(opts)
	if err != nil {
		if errors.Is(err, ddl.ErrNeedLake) {
			return usagef("%v", err)
		}
		return usageError{err}
	}
	for _, w := range append(warnings, res.Warnings...) {
		fmt.Fprintf(io.errOut, "warning: %s\n", w)
	}
	if superseded > 0 {
		// The engines read the folders: an exclusion list would have to be
		// regenerated after every reprocess or forget, so the files are
		// cleaned by compaction instead.
		note := fmt.Sprintf("%d rows of reprocessed or forgotten objects are still stored in the lake's files: eventlake sql hides them, "+
			"but these tables show them until `eventlake compact` rewrites their events partitions", superseded)
		fmt.Fprintf(io.errOut, "note: %s\n", note)
		fmt.Fprintf(io.out, "-- note: %s\n", note)
	}
	fmt.Fprint(io.out, res.Text)
	return nil
}

// bucketDDL checks the flags of ddl (Hive) on a lake in a bucket: its
// catalog is in the bucket, and Athena cannot read a lake in GCS.
func bucketDDL(o *ddlOptions, loc lk.Location) error {
	if !loc.IsBucket() {
		return nil
	}
	if o.Catalog != "" {
		return usagef("--catalog: a lake in a bucket (%s) keeps its catalog in the bucket", loc)
	}
	if o.Engine == "athena" && loc.URL.Scheme == "gs" && !strings.HasPrefix(o.Location, "s3://") {
		return usagef("--engine athena: the lake %s is in Google Cloud Storage, and Athena reads S3 only (spark and trino read gs://; "+
			"for a copy of the lake in S3 give its --location s3://…)", loc)
	}
	return nil
}

// runIcebergDDL prints the registration of the lake's Iceberg table.
func runIcebergDDL(ctx context.Context, o *ddlOptions, io streams) error {
	if o.Engine == "" || o.Lake == "" {
		return usagef("--format iceberg needs --engine (%s) and --lake", strings.Join(ddl.IcebergEngines, ", "))
	}
	loc, err := parseLake(o.Lake)
	if err != nil {
		return err
	}
	root, bucket := o.Lake, ""
	if loc.IsBucket() {
		st, err := icebergStore(ctx, loc)
		if err != nil {
			return err
		}
		bucket = st.URL()
	} else if root, err = filepath.Abs(o.Lake); err != nil {
		return err
	}
	var tables []ddl.IcebergTable
	ts, err := registeredIcebergTables(ctx, root)
	if err != nil {
		return err
	}
	for _, t := range ts {
		meta, err := t.MetadataLocation(ctx)
		if err != nil {
			return err
		}
		if meta == "" && tables == nil {
			return usagef("the lake %s has no Iceberg table: create it with `eventlake iceberg sync --lake %s` (or load with --iceberg)", o.Lake, o.Lake)
		}
		if meta != "" {
			tables = append(tables, ddl.IcebergTable{Name: strings.TrimPrefix(t.Name(), "_"), MetadataFile: meta})
		}
	}
	res, err := ddl.GenerateIceberg(ddl.IcebergOptions{Engine: o.Engine, Location: o.Location, Database: o.Database,
		LakeDir: root, Bucket: bucket, Tables: tables})
	if err != nil {
		return usageError{err}
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(io.errOut, "warning: %s\n", w)
	}
	fmt.Fprint(io.out, res.Text)
	return nil
}
