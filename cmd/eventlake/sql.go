package main

import (
	"context"
	dbsql "database/sql"
	"errors"
	"fmt"
	"os"

	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" database/sql driver

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/config"
	lk "github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/loader"
	"github.com/eventlake/eventlake/partitions"
	"github.com/eventlake/eventlake/sql/shell"
	"github.com/eventlake/eventlake/sql/views"
)

// sqlOptions are the flags of `eventlake sql`.
type sqlOptions struct {
	Lake, Catalog, ConfigPath, SchemasDir string
	Commands                              []string
	File                                  string
	Format, Output                        string
	History                               string
}

func newSQLCmd(io streams) *cobra.Command {
	o := &sqlOptions{}
	c := &cobra.Command{
		Use:   "sql --lake DIR [-c SQL ... | -f FILE] [--format table|csv|json|jsonlines|line|list|tabs|markdown|parquet] [--output FILE]",
		Short: "Open a DuckDB SQL shell on the lake (or run SQL non-interactively)",
		Long: `Sql opens DuckDB with views over the lake:

  events_raw                 every row as written (re-deliveries included)
  events                     one row per event_id
  <domain>.<event_type>      typed view per event type (data fields as columns), latest per key
  <domain>.<event_type>_history   every distinct event of the type
  eventlake.loads | objects | files | rejects | schemas | schema_changes   the catalog
  eventlake.type_conflicts   values whose type differs from the declared JSON Schema's

Without -c or -f it is interactive (.help lists the dot commands). With -c
(repeatable: each runs in turn, in one session), -f, or a script piped on
stdin, the statements run in order; the first error stops them, is printed on
stderr and the exit status is 1 (.exit CODE sets another). A running load
never blocks the shell, nor the shell a load: the shell sees the lake as of
its start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runSQL(cmd.Context(), o, io) },
	}
	f := c.Flags()
	f.StringVar(&o.Lake, "lake", "", "lake folder, or s3://BUCKET/PREFIX or gs://BUCKET/PREFIX")
	f.StringVar(&o.Catalog, "catalog", "", "catalog file (default <lake>/_eventlake/catalog.db)")
	f.StringVar(&o.ConfigPath, "config", "", "YAML config file (upsert keys under tables:)")
	f.StringVar(&o.SchemasDir, "schemas", "", "JSON Schemas for typed views: a folder or s3://, gs:// URL of <domain>/<event_type>.json (Pismo's json_schemas/)")
	f.StringArrayVarP(&o.Commands, "command", "c", nil, "run these statements and exit (repeatable: run in order)")
	f.StringVarP(&o.File, "file", "f", "", "run the statements of this file and exit")
	f.StringVar(&o.Format, "format", "table", "output format: table, csv, json, jsonlines, line, list, tabs, markdown, parquet (parquet needs --output)")
	f.StringVarP(&o.Output, "output", "o", "", "write results to this file")
	f.StringVar(&o.History, "history", "", "history file of the interactive shell (default ~/.eventlake_history)")
	return c
}

// lakeSession is an open lake: the catalog (read-only) and a DuckDB
// connection with every view created.
type lakeSession struct {
	db      *dbsql.DB
	conn    *dbsql.Conn
	cat     *catalog.Catalog
	opts    views.Options
	res     *views.Result
	version string
	// warning says the catalog does not describe the lake's files (lost
	// or restored from an older backup); the shell still opens.
	warning string

	// ready is closed when views made in the background (the interactive
	// shell) exist; createErr is their error. warn prints their warnings.
	schemas *sourceSchemas // --schemas, when given
	// cleanup removes the local cache of a lake in a bucket.
	cleanup func()
	// store is the bucket of a lake in a bucket whose events files the
	// interactive shell fetches per statement (fetch); fetched holds those
	// downloaded (by path), which the views read.
	store   lk.ObjectStore
	fetched map[string]bool
	cfg     *config.Config

	ready     chan struct{}
	createErr error
	warn      func([]string)
	// warned holds the warnings shown, so a session shows each once (a
	// missing file would otherwise be named again at every refresh).
	warned       map[string]bool
	createWarned bool
}

// showWarnings passes the warnings not shown before to warn.
func (s *lakeSession) showWarnings(ws []string) {
	if s.warn == nil {
		return
	}
	if s.warned == nil {
		s.warned = map[string]bool{}
	}
	var fresh []string
	for _, w := range ws {
		if !s.warned[w] {
			s.warned[w] = true
			fresh = append(fresh, w)
		}
	}
	if len(fresh) > 0 {
		s.warn(fresh)
	}
}

// wait returns once the views exist.
func (s *lakeSession) wait() error {
	if s.ready != nil {
		<-s.ready
	}
	if s.res != nil && !s.createWarned {
		s.createWarned = true
		s.showWarnings(s.res.Warnings)
	}
	return s.createErr
}

func (s *lakeSession) Close() {
	_ = s.wait()
	s.conn.Close()
	s.db.Close()
	s.cat.Close()
	if s.schemas != nil {
		s.schemas.Close()
	}
	if s.cleanup != nil {
		s.cleanup()
	}
}

// refresh follows loads and compactions that committed since the views were
// made: the shell never reads a file that compaction removed.
func (s *lakeSession) refresh(ctx context.Context, conn *dbsql.Conn) error {
	if err := s.wait(); err != nil {
		return fmt.Errorf("creating views: %w", err)
	}
	v, err := views.Version(ctx, s.cat)
	if err != nil || v == s.version {
		return err
	}
	ws, err := views.Refresh(ctx, conn, s.opts)
	if err != nil {
		return fmt.Errorf("following the catalog: %w", err)
	}
	s.showWarnings(ws)
	s.version = v
	return nil
}

// fetch downloads, before a statement of the interactive shell on a lake in
// a bucket, the events files it can read that the session lacks (as for a
// script: neededFiles, scriptPartitions), and points the views at them.
// Files fetched stay for the session's later statements.
func (s *lakeSession) fetch(ctx context.Context, conn *dbsql.Conn, text string) error {
	words := scriptWords(text)
	need, err := neededFiles(ctx, s.cat, words)
	if err != nil {
		return err
	}
	var pred partPred
	if words != nil {
		if pred, err = scriptPartitions(ctx, text, s.cat, s.cfg); err != nil {
			return err
		}
	}
	live, err := s.cat.LiveFiles(ctx, "events")
	if err != nil {
		return err
	}
	var fresh []string
	for _, f := range live {
		if !s.fetched[f.Path] && (need == nil || need(f)) && keepPartition(pred, f) {
			fresh = append(fresh, f.Path)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	want := map[string]bool{}
	for _, p := range fresh {
		want[p] = true
	}
	// The bound counts every file the session holds.
	if _, err := lk.DownloadLiveFiles(ctx, s.store, s.cat, s.opts.Lake, sqlCacheBytes(), func(f catalog.FileRecord) bool {
		return f.Table != "events" || s.fetched[f.Path] || want[f.Path]
	}); err != nil {
		return err
	}
	for _, p := range fresh {
		s.fetched[p] = true
	}
	ws, err := views.Refresh(ctx, conn, s.opts)
	if err != nil {
		return fmt.Errorf("following the downloaded files: %w", err)
	}
	s.showWarnings(ws)
	return nil
}

// defaultSQLCacheBytes bounds the Parquet files `sql` copies from a lake in
// a bucket to local disk (EVENTLAKE_SQL_CACHE_BYTES overrides it).
const defaultSQLCacheBytes = 8 << 30

func sqlCacheBytes() int64 {
	if n, err := strconv.ParseInt(os.Getenv("EVENTLAKE_SQL_CACHE_BYTES"), 10, 64); err == nil && n > 0 {
		return n
	}
	return defaultSQLCacheBytes
}

// openLake opens the lake's catalog read-only and a DuckDB connection with
// every view created. With background set, the views are made in the
// background: statements wait for them (refresh), the caller does not.
//
// On a lake in a bucket the live files are downloaded first: those a script
// can read when words (the names a -c/-f script mentions, scriptWords) is
// given, see neededFiles, and of them only the events partitions the
// script's SELECT statements can read (scriptPartitions); every live file
// when words is nil.
func openLake(ctx context.Context, lake, catPath, configPath, schemasDir string, only func(string) bool, words map[string]bool, script string, background bool) (*lakeSession, error) {
	cfg := &config.Config{}
	if configPath != "" {
		var err error
		if cfg, err = config.Load(configPath); err != nil {
			return nil, usageError{err}
		}
	}
	lake = first(lake, cfg.Lake)
	if lake == "" {
		return nil, usagef("no lake: give --lake DIR")
	}
	loc, err := parseLake(lake)
	if err != nil {
		return nil, err
	}
	var cat *catalog.Catalog
	var cleanup func()
	var has func(catalog.FileRecord) bool
	var lazy lk.ObjectStore
	fetched := map[string]bool{}
	if loc.IsBucket() {
		// The bucket's catalog and the live files the session can read,
		// cached on local disk.
		var store lk.ObjectStore
		cat, store, lake, cleanup, err = lk.OpenBucketReader(ctx, loc)
		if err != nil {
			return nil, err
		}
		if words == nil && background {
			// The interactive shell: every file but the events files
			// now, those before each statement that can read them.
			lazy = store
			has = func(f catalog.FileRecord) bool { return f.Table != "events" || fetched[f.Path] }
			_, err = lk.DownloadLiveFiles(ctx, store, cat, lake, sqlCacheBytes(), func(f catalog.FileRecord) bool { return f.Table != "events" })
		} else if has, err = neededFiles(ctx, cat, words); err == nil && words != nil {
			var pred partPred
			if pred, err = scriptPartitions(ctx, script, cat, cfg); pred != nil {
				tables := has
				has = func(f catalog.FileRecord) bool { return (tables == nil || tables(f)) && keepPartition(pred, f) }
			}
		}
		if err == nil && lazy == nil {
			_, err = lk.DownloadLiveFiles(ctx, store, cat, lake, sqlCacheBytes(), has)
		}
		if err != nil {
			cleanup()
			return nil, err
		}
	} else {
		catPath = first(first(catPath, cfg.Catalog), loader.CatalogPath(lake))
		if _, err := os.Stat(catPath); err != nil {
			if merr := lk.CheckMissing(lake, catPath); merr != nil {
				return nil, merr
			}
			return nil, fmt.Errorf("no catalog at %s: load something first (eventlake load --lake %s SOURCE)", catPath, lake)
		}
		if cat, err = catalog.Open(catPath, catalog.Options{ReadOnly: true}); err != nil {
			return nil, err
		}
	}
	s := &lakeSession{cat: cat, cleanup: cleanup, store: lazy, fetched: fetched, cfg: cfg,
		opts: views.Options{Lake: lake, Catalog: cat, Config: cfg, Schemas: only, Files: has}}
	if u := first(schemasDir, cfg.Schemas); u != "" {
		if s.schemas, err = openSchemaStore(ctx, u); err != nil {
			cat.Close()
			return nil, usageError{err}
		}
		s.opts.SchemaStore = s.schemas
	}
	if err := lk.CheckCatalog(ctx, cat, lake); err != nil {
		s.warning = err.Error()
	}
	if s.db, err = dbsql.Open("duckdb", ""); err != nil {
		cat.Close()
		if s.schemas != nil {
			s.schemas.Close()
		}
		return nil, err
	}
	if s.conn, err = s.db.Conn(ctx); err != nil {
		cat.Close()
		s.db.Close()
		if s.schemas != nil {
			s.schemas.Close()
		}
		return nil, err
	}
	if s.version, err = views.Version(ctx, cat); err == nil && background {
		s.ready = make(chan struct{})
		go func() {
			defer close(s.ready)
			s.res, s.createErr = views.Create(ctx, s.conn, s.opts)
		}()
		return s, nil
	}
	if err == nil {
		s.res, err = views.Create(ctx, s.conn, s.opts)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("creating views: %w", err)
	}
	return s, nil
}

func runSQL(ctx context.Context, o *sqlOptions, io streams) error {
	switch o.Format {
	case "table", "box", "duckbox", "csv", "json", "jsonlines", "ndjson", "line", "list", "tabs", "markdown", "parquet":
	default:
		return usagef("--format %q: want table, csv, json, jsonlines, line, list, tabs, markdown or parquet", o.Format)
	}
	if o.Format == "parquet" && o.Output == "" {
		return usagef("--format parquet needs --output FILE")
	}
	if len(o.Commands) > 0 && o.File != "" {
		return usagef("give -c or -f, not both")
	}
	scripts := o.Commands
	if o.File != "" {
		b, err := os.ReadFile(o.File)
		if err != nil {
			return usageError{err}
		}
		scripts = []string{string(b)}
	}
	script := strings.Join(scripts, "\n")
	var only func(string) bool
	var words map[string]bool
	if script != "" {
		only = mentionedSchemas(script)
		words = scriptWords(script)
	}
	// The interactive shell shows its prompt at once and makes the views
	// in the background (binding hundreds of typed views takes ~0.5 s); a
	// statement typed before they exist waits for them.
	interactive := script == ""
	ls, err := openLake(ctx, o.Lake, o.Catalog, o.ConfigPath, o.SchemasDir, only, words, script, interactive)
	if err != nil {
		return err
	}
	defer ls.Close()
	if ls.warning != "" {
		fmt.Fprintf(io.errOut, "warning: %s\n", ls.warning)
	}
	ls.warn = func(ws []string) {
		for _, w := range ws {
			fmt.Fprintf(io.errOut, "warning: %s\n", w)
		}
	}
	if !interactive {
		if err := ls.wait(); err != nil {
			return err
		}
	}
	so := shell.Options{Conn: ls.conn, In: io.in, Out: io.out, Err: io.errOut, Format: o.Format, Output: o.Output,
		BeforeStatement: ls.refresh}
	if ls.store != nil {
		so.BeforeSQL = ls.fetch
	}
	if len(scripts) > 0 {
		return shellExit(shell.Run(ctx, so, scripts...), io)
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
	types, domains, err := views.Count(ctx, ls.cat)
	if err != nil {
		return err
	}
	so.Banner = fmt.Sprintf("eventlake SQL on %s: events, events_raw, %d typed views in %d domain schemas, eventlake.* catalog tables.\nEnter \".help\" for usage hints; statements end with ';'.",
		first(o.Lake, "the lake"), types, domains)
	return shellExit(shell.Interactive(ctx, so), io)
}

// shellExit turns the outcome of a shell session into the command's: a failed statement of a script (-c,
// -f, piped stdin) is printed and exits 1, .exit CODE exits CODE.
func shellExit(err error, io streams) error {
	var se *shell.StatementError
	var ee *shell.ExitError
	switch {
	case errors.As(err, &ee):
		return exitError{ee.Code}
	case errors.As(err, &se):
		fmt.Fprintf(io.errOut, "Error: %v\n", err)
		return exitError{exitFailed}
	}
	return err
}

// mentionedSchemas decides, for a -c/-f script, which domain schemas need
// their typed views: those whose name appears in the script as a word. A
// script that lists or inspects the catalog (.tables, .schema, SHOW,
// information_schema, duckdb_views(), …) gets them all. Naming a schema the
// script does not use costs only time, so the test is generous.
func mentionedSchemas(script string) func(string) bool {
	words := scriptWords(script)
	if words == nil {
		return nil
	}
	return func(schema string) bool { return words[strings.ToLower(schema)] }
}

// scriptWords returns the words of a script (lower case; letters, digits
// and '_'), or nil when the script lists or inspects the catalog and so may
// read anything.
func scriptWords(script string) map[string]bool {
	lower := strings.ToLower(script)
	for _, all := range []string{".tables", ".schema", ".read", "show", "information_schema", "duckdb_", "pragma", "describe", "summarize"} {
		if strings.Contains(lower, all) {
			return nil
		}
	}
	words := map[string]bool{}
	for _, w := range strings.FieldsFunc(lower, func(r rune) bool {
		return !(r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'))
	}) {
		words[w] = true
	}
	return words
}

// neededFiles decides which live files of a lake in a bucket a script whose
// words are given can read (nil words, or a nil result: every file). Every
// events file when it names events or events_raw; otherwise the events
// files of the domains whose typed-view schema it names, plus those of the
// schema change events' domain, which every session reads (declared types,
// eventlake.schema_changes). A delimited table's files when it names the table's view (or its
// _history), the reject files when it names rejects. The catalog tables
// (eventlake.loads, files, …) need no file.
func neededFiles(ctx context.Context, cat *catalog.Catalog, words map[string]bool) (func(catalog.FileRecord) bool, error) {
	if words == nil {
		return nil, nil
	}
	allEvents := words["events"] || words["events_raw"]
	schemas, err := cat.Schemas(ctx, "")
	if err != nil {
		return nil, err
	}
	var domains, tables []string
	seen := map[string]bool{}
	for _, s := range schemas {
		if s.Table != "events" {
			if !seen["t/"+s.Table] {
				seen["t/"+s.Table] = true
				tables = append(tables, s.Table)
			}
			continue
		}
		if d, _, ok := strings.Cut(s.Key, "/"); ok && !seen["d/"+d] {
			seen["d/"+d] = true
			domains = append(domains, d)
		}
	}
	parts := map[string]bool{"domain=" + partitions.Escape(views.SchemaChangeDomain) + "/": true}
	for d, sn := range views.Assign(domains) {
		if words[strings.ToLower(sn)] {
			parts["domain="+partitions.Escape(d)+"/"] = true
		}
	}
	keepTable := map[string]bool{"_rejects": words["rejects"]}
	for t, name := range views.Assign(tables) {
		n := strings.ToLower(name)
		keepTable[t] = words[n] || words[n+"_history"]
	}
	return func(f catalog.FileRecord) bool {
		if f.Table != "events" {
			return keepTable[f.Table]
		}
		if allEvents {
			return true
		}
		d, _, _ := strings.Cut(f.Partition, "/")
		return parts[d+"/"]
	}, nil
}
