package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/loader"
	"github.com/eventlake/eventlake/sql/ddl"
)

// ddlOptions are the flags of `eventlake ddl`.
type ddlOptions struct {
	Lake, Catalog, Engine, Location, Database string
}

func newDDLCmd(io streams) *cobra.Command {
	o := &ddlOptions{}
	c := &cobra.Command{
		Use:   "ddl --lake DIR --engine athena|spark|trino --location URL",
		Short: "Print the DDL that lets Athena, Spark or Trino read the lake as the shell does",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDDL(cmd.Context(), o, io)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Lake, "lake", "", "lake folder (for the partitions and the CSV tables; required for athena)")
	f.StringVar(&o.Catalog, "catalog", "", "catalog file (default <lake>/_eventlake/catalog.db)")
	f.StringVar(&o.Engine, "engine", "", "athena, spark or trino")
	f.StringVar(&o.Location, "location", "", "the lake's root as the engine sees it, e.g. s3://bucket/prefix/")
	f.StringVar(&o.Database, "database", "eventlake", "database / schema name")
	return c
}

func runDDL(ctx context.Context, o *ddlOptions, io streams) error {
	if o.Engine == "" || o.Location == "" {
		return usagef("--engine (%s) and --location are required", strings.Join(ddl.Engines, ", "))
	}
	opts := ddl.Options{Engine: o.Engine, Location: o.Location, Database: o.Database}
	var warnings []string
	var superseded int64
	if o.Lake != "" {
		if loc, err := parseLake(o.Lake); err != nil {
			return err
		} else if loc.IsBucket() {
			return usagef("ddl: --lake in a bucket is not supported yet; give --location and no --lake")
		}
		path := first(o.Catalog, loader.CatalogPath(o.Lake))
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("no catalog at %s", path)
		}
		cat, err := catalog.Open(path, catalog.Options{ReadOnly: true})
		if err != nil {
			return err
		}
		defer cat.Close()
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
