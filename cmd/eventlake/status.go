package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/config"
	"github.com/eventlake/eventlake/internal/termtext"
	lk "github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/loader"
	"github.com/eventlake/eventlake/partitions"
)

// statusOptions are the flags of `eventlake status`.
type statusOptions struct {
	Lake, Catalog, ConfigPath string
	OnChange                  string
	FailOn                    []string
	JSON                      bool
	Sources                   []string
}

func newStatusCmd(io streams) *cobra.Command {
	o := &statusOptions{}
	c := &cobra.Command{
		Use:   "status --lake DIR [--json] [SOURCE...]",
		Short: "Show what the lake holds: objects loaded, failed and pending, the last load, rejects",
		Long: `Status reads the catalog (without blocking a running load) and prints objects by
outcome, the last load, the tables, and the objects that failed or were
quarantined. Given SOURCEs
(or --config with sources:), it also lists them and counts the objects not
loaded yet (pending).

Exit status: 0, or 1 when --fail-on names a condition the lake is in
(failed or quarantined objects, missing files, pending objects), 2 for
usage errors.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Sources = args
			return runStatus(cmd.Context(), o, io)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Lake, "lake", "", "lake folder, or s3://BUCKET/PREFIX or gs://BUCKET/PREFIX")
	f.StringVar(&o.Catalog, "catalog", "", "catalog file (default <lake>/_eventlake/catalog.db)")
	f.StringVar(&o.ConfigPath, "config", "", "YAML config file (lake and sources)")
	f.BoolVar(&o.JSON, "json", false, "print JSON")
	f.StringSliceVar(&o.FailOn, "fail-on", nil, "exit 1 when the lake holds any of these: "+strings.Join(failOnValues, ", ")+" (comma-separated; for cron and monitoring)")
	f.StringVar(&o.OnChange, "on-change", "", "count SOURCE objects as a load with this on_change would: reload or skip (default: the config's, else reload)")
	return c
}

type statusReport struct {
	catalog.Status
	Watch   *catalog.WatchStatus `json:"watch"`
	Pending map[string]int64     `json:"pending"`
	// Deferred counts, per source, the objects still being written;
	// Grown lists the objects that grew after they were loaded and that
	// on_change: skip leaves partial.
	Deferred map[string]int64    `json:"deferred"`
	Grown    map[string][]string `json:"grown"`
	// MissingFiles counts the live files that are not on disk with the
	// size they were written with (one stat per file); Missing names the
	// first maxMissing of them. eventlake check reads every byte.
	MissingFiles int64         `json:"missing_files"`
	Missing      []missingFile `json:"missing"`
}

type missingFile struct {
	Path    string `json:"path"`
	Problem string `json:"problem"` // missing, size or unreadable
}

const maxMissing = 20

// missingFiles stats every live file of the lake.
func missingFiles(ctx context.Context, cat *catalog.Catalog, lake string) (int64, []missingFile, error) {
	live, err := cat.LiveFiles(ctx, "")
	if err != nil {
		return 0, nil, err
	}
	var n int64
	out := []missingFile{}
	for _, f := range live {
		err := partitions.StatFile(filepath.Join(lake, filepath.FromSlash(f.Path)), f.Bytes)
		if err == nil {
			continue
		}
		n++
		if len(out) < maxMissing {
			kind := partitions.ProblemUnreadable
			var p *partitions.FileProblem
			if errors.As(err, &p) {
				kind = p.Kind
			}
			out = append(out, missingFile{Path: f.Path, Problem: kind})
		}
	}
	return n, out, nil
}

// failOnValues are the conditions status --fail-on can check.
var failOnValues = []string{"failed", "quarantined", "missing", "pending"}

func runStatus(ctx context.Context, o *statusOptions, io streams) error {
	for _, v := range o.FailOn {
		if !slices.Contains(failOnValues, v) {
			return usagef("--fail-on %q: want %s", v, strings.Join(failOnValues, ", "))
		}
	}
	cfg := &config.Config{}
	if o.ConfigPath != "" {
		var err error
		if cfg, err = config.Load(o.ConfigPath); err != nil {
			return usageError{err}
		}
	}
	lake := first(o.Lake, cfg.Lake)
	if lake == "" {
		return usagef("no lake: give --lake DIR")
	}
	loc, err := parseLake(lake)
	if err != nil {
		return err
	}
	var cat *catalog.Catalog
	shown := lake
	if loc.IsBucket() {
		var cleanup func()
		if cat, _, lake, cleanup, err = lk.OpenBucketReader(ctx, loc); err != nil {
			return err
		}
		defer cleanup()
	} else {
		path := first(first(o.Catalog, cfg.Catalog), loader.CatalogPath(lake))
		if _, err := os.Stat(path); err != nil {
			if merr := lk.CheckMissing(lake, path); merr != nil {
				return merr
			}
			return fmt.Errorf("no catalog at %s: nothing has been loaded into this lake yet", path)
		}
		if cat, err = catalog.Open(path, catalog.Options{ReadOnly: true}); err != nil {
			return err
		}
		defer cat.Close()
		if err := lk.CheckCatalog(ctx, cat, lake); err != nil {
			fmt.Fprintf(io.errOut, "eventlake: warning: %v\n", err)
		}
	}
	st, err := cat.Status(ctx)
	if err != nil {
		return err
	}
	ws, err := cat.WatchStatus(ctx)
	if err != nil {
		return err
	}
	rep := statusReport{Status: st, Watch: &ws, Pending: map[string]int64{}, Deferred: map[string]int64{}, Grown: map[string][]string{}}
	for _, k := range objectStatuses {
		rep.Objects[string(k)] += 0 // zero counts are shown too
	}
	if rep.MissingFiles, rep.Missing, err = missingFiles(ctx, cat, lake); err != nil {
		return err
	}
	srcs := o.Sources
	if len(srcs) == 0 {
		for _, s := range cfg.Sources {
			srcs = append(srcs, s.URL)
		}
	}
	if len(srcs) > 0 {
		onChange := first(o.OnChange, cfg.OnChange)
		switch onChange {
		case "", "reload", "skip":
		default:
			return usagef("--on-change %q: want reload or skip", onChange)
		}
		settle := loader.DefaultSettle
		if cfg.Settle != nil {
			settle = time.Duration(*cfg.Settle)
		}
		for _, s := range srcs {
			st, err := loader.Inspect(ctx, cat, s, lake, onChange, settle)
			if err != nil {
				return err
			}
			rep.Pending[st.URL] = st.Pending
			if st.Deferred > 0 {
				rep.Deferred[st.URL] = st.Deferred
			}
			if len(st.Grown) > 0 {
				rep.Grown[st.URL] = st.Grown
			}
		}
	}
	if o.JSON {
		enc := json.NewEncoder(io.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(statusOutput{Format: jsonFormat, statusReport: rep}); err != nil {
			return err
		}
	} else {
		printStatus(io, shown, rep)
	}
	return failOn(io, o.FailOn, rep)
}

// failOn returns exit 1, saying why on stderr, when the lake is in one of
// the conditions named.
func failOn(io streams, conds []string, r statusReport) error {
	var why []string
	for _, c := range conds {
		var n int64
		switch c {
		case "failed", "quarantined":
			n = r.Objects[c]
		case "missing":
			n = r.MissingFiles
		case "pending":
			for _, p := range r.Pending {
				n += p
			}
		}
		if n > 0 {
			why = append(why, fmt.Sprintf("%d %s", n, c))
		}
	}
	if len(why) == 0 {
		return nil
	}
	fmt.Fprintf(io.errOut, "eventlake: status: %s (--fail-on)\n", strings.Join(why, ", "))
	return exitError{exitFailed}
}

func printStatus(io streams, lake string, r statusReport) {
	w := io.out
	fmt.Fprintf(w, "lake %s\n", lake)
	var parts []string
	for _, k := range objectStatuses {
		parts = append(parts, fmt.Sprintf("%d %s", r.Objects[string(k)], k))
	}
	fmt.Fprintf(w, "objects: %s\n", strings.Join(parts, ", "))
	if len(r.Pending) > 0 {
		var keys []string
		for k := range r.Pending {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "pending: %d objects in %s\n", r.Pending[k], termtext.Escape(k))
			if n := r.Deferred[k]; n > 0 {
				fmt.Fprintf(w, "  %d still being written (modified within the settle time): loaded once settled\n", n)
			}
			for _, g := range r.Grown[k] {
				fmt.Fprintf(w, "  grew after it was loaded: %s\n", termtext.Escape(k+g))
			}
		}
	}
	fmt.Fprintf(w, "loads: %d\n", r.Loads)
	if l := r.LastLoad; l != nil {
		fmt.Fprintf(w, "last load: %s %s at %s (%s ago): %d objects, %d records, %d rejects, %d files\n",
			l.ID, l.Status, l.StartedAt.UTC().Format(time.RFC3339), time.Since(l.StartedAt).Round(time.Second), l.Objects, l.Records, l.Rejects, l.Files)
		if l.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", termtext.Escape(l.Error))
		}
	}
	fmt.Fprintf(w, "files: %d live, %d rows, %s; rejects: %d\n", r.Files, r.Rows, humanBytes(r.Bytes), r.Rejects)
	if r.LenientQuotes > 0 {
		fmt.Fprintf(w, "CSV rows with a '\"' inside an unquoted field, read as text: %d (per object: eventlake.objects.lenient_quotes)\n", r.LenientQuotes)
	}
	for _, t := range r.Tables {
		fmt.Fprintf(w, "  table %-12s %6d partitions %6d files %10d rows %10s\n", t.Table, t.Partitions, t.Files, t.Rows, humanBytes(t.Bytes))
	}
	if r.MissingFiles > 0 {
		fmt.Fprintf(w, "damage: %d live files missing or of the wrong size on disk; the shell leaves their rows out. "+
			"Run eventlake check --lake %s for the full report, then restore them from a backup\n", r.MissingFiles, lake)
		for _, m := range r.Missing {
			fmt.Fprintf(w, "  %s (%s)\n", termtext.Escape(m.Path), m.Problem)
		}
		if int64(len(r.Missing)) < r.MissingFiles {
			fmt.Fprintf(w, "  and %d more\n", r.MissingFiles-int64(len(r.Missing)))
		}
	}
	if r.Reprocess > 0 {
		fmt.Fprintf(w, "marked for reprocessing: %d object version(s), read again by the next load of their source\n", r.Reprocess)
	}
	if r.Superseded > 0 {
		fmt.Fprintf(w, "superseded: %d object version(s) reprocessed or forgotten (%d forgotten); see eventlake.supersedes\n", r.Superseded, r.Forgotten)
	}
	if r.SupersededRows > 0 {
		fmt.Fprintf(w, "superseded rows still stored: %d (hidden in the shell; eventlake compact drops those of events, which external engines see until then)\n", r.SupersededRows)
	}
	for _, u := range r.Unpublished {
		fmt.Fprintf(w, "not yet visible: load %s, committed at %s (%d files, %d rows), was interrupted while publishing; "+
			"the next load, compact or watch on this lake finishes it\n",
			u.ID, u.Finished.UTC().Format(time.RFC3339), u.Files, u.Rows)
	}
	if len(r.Failed) > 0 {
		fmt.Fprintf(w, "failed objects (retried by the next load):\n")
		for _, f := range r.Failed {
			fmt.Fprintf(w, "  %s (%d attempts): %s\n", termtext.Escape(f.Source+f.Key), f.Attempts, termtext.Escape(f.Error))
			if !f.NextRetry.IsZero() {
				fmt.Fprintf(w, "    next retry at %s (watch backs off)\n", f.NextRetry.UTC().Format(time.RFC3339))
			}
		}
	}
	if len(r.Quarantined) > 0 {
		fmt.Fprintf(w, "quarantined objects (not retried; eventlake reprocess --status quarantined after fixing the cause):\n")
		for _, f := range r.Quarantined {
			fmt.Fprintf(w, "  %s: %s\n", termtext.Escape(f.Source+f.Key), termtext.Escape(f.Error))
		}
	}
	printWatchStatus(w, r.Watch)
}
