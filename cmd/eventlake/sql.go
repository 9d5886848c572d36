package main

import (
	"context"
	dbsql "database/sql"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" database/sql driver

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/config"
	"github.com/eventlake/eventlake/loader"
	"github.com/eventlake/eventlake/sql/shell"
	"github.com/eventlake/eventlake/sql/views"
)

func init() { extraCommands = append(extraCommands, newSQLCmd) }

// sqlOptions are the flags of `eventlake sql`.
type sqlOptions struct {
	Lake, Catalog, ConfigPath, SchemasDir string
	Command, File                         string
	Format, Output                        string
	History                               string
}

func newSQLCmd(io streams) *cobra.Command {
	o := &sqlOptions{}
	c := &cobra.Command{
		Use:   "sql --lake DIR [-c SQL | -f FILE] [--format table|csv|json|line|parquet] [--output FILE]",
		Short: "Open a DuckDB SQL shell on the lake (or run SQL non-interactively)",
		Long: `Sql opens DuckDB with views over the lake:

  events_raw                 every row as written (re-deliveries included)
  events                     one row per event_id
  <domain>.<event_type>      typed view per event type (data fields as columns), latest per key
  <domain>.<event_type>_history   every distinct event of the type
  eventlake.loads | objects | files | rejects | schemas | schema_changes   the catalog

Without -c or -f it is interactive (.help lists the dot commands). With -c or -f
the statements run in order; the first error is printed on stderr and the exit
status is 1. A running load never blocks the shell, nor the shell a load: the
shell sees the lake as of its start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runSQL(cmd.Context(), o, io) },
	}
	f := c.Flags()
	f.StringVar(&o.Lake, "lake", "", "lake folder")
	f.StringVar(&o.Catalog, "catalog", "", "catalog file (default <lake>/_eventlake/catalog.db)")
	f.StringVar(&o.ConfigPath, "config", "", "YAML config file (upsert keys under tables:)")
	f.StringVar(&o.SchemasDir, "schemas", "", "JSON Schemas folder (<domain>/<event_type>.json) for typed views")
	f.StringVarP(&o.Command, "command", "c", "", "run these statements and exit")
	f.StringVarP(&o.File, "file", "f", "", "run the statements of this file and exit")
	f.StringVar(&o.Format, "format", "table", "output format: table, csv, json, line, parquet (parquet needs --output)")
	f.StringVarP(&o.Output, "output", "o", "", "write results to this file")
	f.StringVar(&o.History, "history", "", "history file of the interactive shell (default ~/.eventlake_history)")
	return c
}

// openLake opens the lake's catalog read-only and a DuckDB connection with
// every view created.
func openLake(ctx context.Context, lake, catPath, configPath, schemasDir string) (*dbsql.DB, *dbsql.Conn, *views.Result, func(), error) {
	cfg := &config.Config{}
	if configPath != "" {
		var err error
		if cfg, err = config.Load(configPath); err != nil {
			return nil, nil, nil, nil, usageError{err}
		}
	}
	lake = first(lake, cfg.Lake)
	if lake == "" {
		return nil, nil, nil, nil, usagef("no lake: give --lake DIR")
	}
	catPath = first(first(catPath, cfg.Catalog), loader.CatalogPath(lake))
	if _, err := os.Stat(catPath); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("no catalog at %s: load something first (eventlake load --lake %s SOURCE)", catPath, lake)
	}
	cat, err := catalog.Open(catPath, catalog.Options{ReadOnly: true})
	if err != nil {
		return nil, nil, nil, nil, err
	}
	db, err := dbsql.Open("duckdb", "")
	if err != nil {
		cat.Close()
		return nil, nil, nil, nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		cat.Close()
		db.Close()
		return nil, nil, nil, nil, err
	}
	res, err := views.Create(ctx, conn, views.Options{Lake: lake, Catalog: cat, Config: cfg, SchemasDir: first(schemasDir, cfg.Schemas)})
	cat.Close()
	closer := func() { conn.Close(); db.Close() }
	if err != nil {
		closer()
		return nil, nil, nil, nil, fmt.Errorf("creating views: %w", err)
	}
	return db, conn, res, closer, nil
}

func runSQL(ctx context.Context, o *sqlOptions, io streams) error {
	switch o.Format {
	case "table", "csv", "json", "line", "parquet":
	default:
		return usagef("--format %q: want table, csv, json, line or parquet", o.Format)
	}
	if o.Format == "parquet" && o.Output == "" {
		return usagef("--format parquet needs --output FILE")
	}
	if o.Command != "" && o.File != "" {
		return usagef("give -c or -f, not both")
	}
	_, conn, res, closer, err := openLake(ctx, o.Lake, o.Catalog, o.ConfigPath, o.SchemasDir)
	if err != nil {
		return err
	}
	defer closer()
	for _, w := range res.Warnings {
		fmt.Fprintf(io.errOut, "warning: %s\n", w)
	}
	so := shell.Options{Conn: conn, In: io.in, Out: io.out, Err: io.errOut, Format: o.Format, Output: o.Output}
	script := o.Command
	if o.File != "" {
		b, err := os.ReadFile(o.File)
		if err != nil {
			return usageError{err}
		}
		script = string(b)
	}
	if o.Command != "" || o.File != "" {
		if err := shell.Run(ctx, so, script); err != nil {
			fmt.Fprintf(io.errOut, "Error: %v\n", err)
			return exitError{exitFailed}
		}
		return nil
	}
	so.HistoryFile = o.History
	if f, ok := io.out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		so.Width = func() int {
			w, _, err := term.GetSize(int(f.Fd()))
			if err != nil {
				return 0
			}
			return w
		}
	}
	domains := map[string]bool{}
	for _, v := range res.Views {
		domains[v.Schema] = true
	}
	so.Banner = fmt.Sprintf("eventlake SQL on %s: events, events_raw, %d typed views in %d domain schemas, eventlake.* catalog tables.\nEnter \".help\" for usage hints; statements end with ';'.",
		first(o.Lake, "the lake"), len(res.Views), len(domains))
	return shell.Interactive(ctx, so)
}
