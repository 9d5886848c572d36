package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/config"
	"github.com/eventlake/eventlake/internal/lakepath"
	lk "github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/lake/icetable"
	"github.com/eventlake/eventlake/loader"
	"github.com/eventlake/eventlake/partitions"
)

// repairOptions are the flags of `eventlake repair`.
type repairOptions struct {
	Lake, Catalog, Profile, ConfigPath string
	DryRun, JSON, Quiet                bool
	LockWait, Settle                   time.Duration
	Sources                            []string
	changed                            func(name string) bool
}

func newRepairCmd(io streams) *cobra.Command {
	o := &repairOptions{}
	c := &cobra.Command{
		Use:   "repair --lake DIR [--dry-run] [--json] [SOURCE... [--profile P] [--config F]]",
		Short: "Reload the objects of missing or damaged files from their sources; adopt or move aside orphan files",
		Long: `Repair mends what eventlake check finds.

A live file that is missing or damaged (size, checksum or footer) is retired:
a damaged one is moved to <lake>/_eventlake/damaged/<date>/, and in the same
catalog commit the objects whose rows it may have held are marked for
reprocessing (those of the load that wrote it; for a compacted file, those of
the loads that wrote its partition). Then the SOURCEs are loaded — or, with no
SOURCE, the sources the catalog records for those objects — which reads the
objects again and supersedes the rows they still have in other files, so no
row is counted twice. An object its source no longer has is reported as gone
for good with the rows it had; its lost file stays retired.

An orphan (a file in the table folders that the catalog does not list) is
adopted when the manifest of a published load names it and it matches the
manifest's record (the catalog lost it); otherwise it is moved to
<lake>/_eventlake/orphans/<date>/, out of the folders external engines read.
Nothing is deleted.

--dry-run lists what repair would do and changes nothing. Each step is one
commit; a repair interrupted at any point is completed by running it again
(objects marked for reprocessing stay marked until a load reads them).

Exit status: 0 when the lake is whole again, 1 when objects could not be
reloaded (gone for good, or their load failed), 2 for usage errors.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Sources = args
			o.changed = cmd.Flags().Changed
			return runRepair(cmd.Context(), o, io)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Lake, "lake", "", "lake folder, or s3://BUCKET/PREFIX or gs://BUCKET/PREFIX")
	f.StringVar(&o.Catalog, "catalog", "", "catalog file (default <lake>/_eventlake/catalog.db)")
	f.StringVar(&o.Profile, "profile", "", "profile of the reload (see eventlake load)")
	f.StringVar(&o.ConfigPath, "config", "", "YAML config file (lake, catalog, profiles)")
	f.BoolVar(&o.DryRun, "dry-run", false, "only list what repair would do; change nothing")
	f.BoolVar(&o.JSON, "json", false, "print the report as one JSON object")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "no progress line")
	f.DurationVar(&o.LockWait, "lock-wait", 0, "how long to wait for a running load; 0: do not wait (default 10s)")
	f.DurationVar(&o.Settle, "settle", loader.DefaultSettle, settleUsage+" (the reload)")
	return c
}

// repairReport is what repair found and did; --json prints it.
type repairReport struct {
	Format int    `json:"format"`
	Lake   string `json:"lake"`
	DryRun bool   `json:"dry_run"`
	OK     bool   `json:"ok"`
	// Lost are the missing or damaged live files retired (or, with
	// --dry-run, to retire); SetAside is where a damaged one went.
	Lost []repairLost `json:"lost"`
	// Reload lists the object versions marked for reprocessing.
	Reload []selectedJSON `json:"reload"`
	// Sources are the sources loaded to reload them.
	Sources []string `json:"sources"`
	// Gone lists the object versions still marked after the reload: not
	// found in the sources loaded (or their load failed).
	Gone []selectedJSON `json:"gone"`
	// ReloadFailed: the reload's exit status was not 0 (objects failed or
	// were quarantined; its summary on stderr says which).
	ReloadFailed bool     `json:"reload_failed"`
	Adopted      []string `json:"adopted"`
	// MovedAside maps each orphan moved out of the table folders to where.
	MovedAside []repairAside `json:"moved_aside"`
	Error      string        `json:"error"`
}

type repairLost struct {
	damagedEntry
	SetAside string `json:"set_aside"`
}

type repairAside struct {
	Path string `json:"path"`
	To   string `json:"to"`
}

func runRepair(ctx context.Context, o *repairOptions, io streams) error {
	if len(o.Sources) == 0 && o.Profile != "" {
		return usagef("--profile applies to the reload of SOURCEs: give them")
	}
	lake, path, err := repairLake(o)
	if err != nil {
		return err
	}
	wait, err := writerWait(o.changed != nil && o.changed("lock-wait"), o.LockWait, 0)
	if err != nil {
		return err
	}
	rep := &repairReport{Format: jsonFormat, Lake: lake, DryRun: o.DryRun, Lost: []repairLost{}, Reload: []selectedJSON{}, Sources: []string{},
		Gone: []selectedJSON{}, Adopted: []string{}, MovedAside: []repairAside{}}
	err = repair(ctx, o, io, lake, path, wait, rep)
	if err != nil {
		rep.Error = err.Error()
	}
	rep.OK = err == nil && len(rep.Gone) == 0 && !rep.ReloadFailed
	if o.JSON {
		enc := json.NewEncoder(io.out)
		enc.SetIndent("", "  ")
		if jerr := enc.Encode(rep); jerr != nil {
			return errors.Join(err, jerr)
		}
	} else {
		printRepair(io, rep)
	}
	if err != nil {
		return err
	}
	if !rep.OK {
		return exitError{exitFailed}
	}
	return nil
}

// repairLake resolves the lake repair works on: a lake in a bucket (no
// catalog path: its catalog is synced from the bucket), or a folder lake
// and its catalog.
func repairLake(o *repairOptions) (string, string, error) {
	lake := o.Lake
	if lake == "" && o.ConfigPath != "" {
		cfg, err := config.Load(o.ConfigPath)
		if err != nil {
			return "", "", usageError{err}
		}
		lake = cfg.Lake
	}
	if lake != "" {
		if loc, err := parseLake(lake); err != nil {
			return "", "", err
		} else if loc.IsBucket() {
			path, err := writerCatalog(lake, o.Catalog)
			return lake, path, err
		}
	}
	return folderLake("repair", o.Lake, o.Catalog, o.ConfigPath)
}

func repair(ctx context.Context, o *repairOptions, io streams, lake, path string, wait time.Duration, rep *repairReport) error {
	layout := lk.At(lake)
	now := time.Now()
	inBucket := path == ""
	var cat *catalog.Catalog
	var w *lk.Writer
	var files lakeFiles = folderFiles(lake)
	if o.DryRun && inBucket {
		b, err := openBucketFiles(ctx, lake, "", "")
		if err != nil {
			return err
		}
		defer b.close()
		cat, files = b.cat, b
	} else if o.DryRun {
		var err error
		if cat, err = catalog.Open(path, catalog.Options{ReadOnly: true}); err != nil {
			return err
		}
		defer cat.Close()
	} else {
		// A lake with an Iceberg table keeps it in step with the retirement.
		opts, err := icebergWriterOptions(ctx, lake, false, icetable.DefaultRetention)
		if err != nil {
			return err
		}
		if w, _, err = lk.OpenWriter(ctx, lake, path, wait, catalog.RepairCommand, opts...); err != nil {
			return err
		}
		defer func() {
			if w != nil {
				w.Close()
			}
		}()
		cat = w.Catalog
		if st := w.Store(); st != nil {
			listed, err := listTableKeys(ctx, st)
			if err != nil {
				return err
			}
			files = &bucketFiles{url: st.URL(), store: st, listed: listed, tmp: filepath.Join(w.Layout.Root(), ".verify")}
			if err := os.MkdirAll(filepath.Join(w.Layout.Root(), ".verify"), 0o755); err != nil {
				return err
			}
		}
	}
	setAside := func(rel, kind string) (string, error) {
		if o.DryRun {
			if inBucket {
				return files.name() + lakepath.MetaDir + "/" + kind + "/" + now.UTC().Format("2006-01-02") + "/" + rel, nil
			}
			return filepath.Join(layout.AsideDir(kind, now), filepath.FromSlash(rel)), nil
		}
		return w.SetAside(ctx, rel, kind, now)
	}
	found, err := verifyLake(ctx, io, files, cat, !o.Quiet && io.isTerminal(io.errOut))
	if err != nil {
		return err
	}

	// Orphans: adopt those a published load's manifest names (and that
	// match its record); move the others aside. (In a bucket the manifests
	// are the commit log the catalog was synced from: it names no orphan.)
	if len(found.Orphans) > 0 {
		named := map[string]lk.ManifestedFile{}
		if !inBucket {
			if named, err = layout.ManifestedFiles(); err != nil {
				return fmt.Errorf("reading the load manifests: %w", err)
			}
		}
		for _, orphan := range found.Orphans {
			if m, ok := named[orphan.Path]; ok {
				st, err := cat.LoadStatusOf(ctx, m.LoadID)
				if err != nil {
					return err
				}
				if st == catalog.LoadPublished && partitions.VerifyFile(layout.File(orphan.Path), m.File.Bytes, m.File.Checksum) == nil {
					if !o.DryRun {
						if err := cat.AdoptFile(ctx, m.LoadID, m.File); err != nil {
							return err
						}
					}
					rep.Adopted = append(rep.Adopted, orphan.Path)
					continue
				}
			}
			to, err := setAside(orphan.Path, lk.AsideOrphans)
			if err != nil {
				return fmt.Errorf("moving orphan %s aside: %w", orphan.Path, err)
			}
			rep.MovedAside = append(rep.MovedAside, repairAside{Path: orphan.Path, To: to})
		}
	}

	// Lost files: one commit retires them and marks their objects.
	ch := lk.Changes{Note: "repair: retired lost files"}
	seen := map[catalog.ObjectVersion]bool{}
	for _, d := range found.Damaged {
		objs, err := cat.LostFileObjects(ctx, d.Path)
		if err != nil {
			return err
		}
		for _, ob := range objs {
			if !seen[ob.ObjectVersion] {
				seen[ob.ObjectVersion] = true
				ch.Reprocess = append(ch.Reprocess, ob.ObjectVersion)
				rep.Reload = append(rep.Reload, selectedJSON{ob.URL(), ob.Version, ob.Status, ob.LoadID, ob.Records, ob.Rejects})
			}
		}
		lost := repairLost{damagedEntry: d}
		if d.Problem != partitions.ProblemMissing && !o.DryRun {
			// Kept for inspection, out of the table folders. Moved before
			// the commit: a crash in between leaves a missing live file,
			// which the next repair retires the same way.
			if lost.SetAside, err = setAside(d.Path, lk.AsideDamaged); err != nil {
				return fmt.Errorf("moving damaged file %s aside: %w", d.Path, err)
			}
		}
		rep.Lost = append(rep.Lost, lost)
		ch.Lost = append(ch.Lost, d.Path)
	}
	if o.DryRun {
		return nil
	}
	if len(ch.Lost) > 0 {
		tx, err := w.Begin(ctx, lk.TxOptions{Command: catalog.RepairCommand, StepPrefix: "repair-"})
		if err != nil {
			return err
		}
		if err := tx.Commit(ctx, ch); err != nil {
			return err
		}
	}

	// Reload every object marked for reprocessing (this repair's, and those
	// an interrupted one left) from the SOURCEs, or from the sources the
	// catalog records for them.
	marked, err := cat.MarkedObjects(ctx)
	if err != nil {
		return err
	}
	err = w.Close()
	w = nil
	if err != nil {
		return err
	}
	if len(marked) == 0 {
		return nil
	}
	for _, ob := range marked {
		if !seen[ob.ObjectVersion] {
			rep.Reload = append(rep.Reload, selectedJSON{ob.URL(), ob.Version, ob.Status, ob.LoadID, ob.Records, ob.Rejects})
		}
	}
	sources := o.Sources
	if len(sources) == 0 {
		have := map[string]bool{}
		for _, ob := range marked {
			if !have[ob.Source] {
				have[ob.Source] = true
				sources = append(sources, ob.Source)
			}
		}
	}
	rep.Sources = append(rep.Sources, sources...)
	out := io
	out.out = io.errOut // stdout is the repair's report
	lo := &loadOptions{icebergFlagValues: icebergFlagValues{IcebergRetention: icetable.DefaultRetention}, Lake: lake, Catalog: o.Catalog, Profile: o.Profile, ConfigPath: o.ConfigPath, Quiet: o.Quiet,
		LockWait: o.LockWait, Settle: o.Settle, Sources: sources, changed: o.changed}
	loadErr := runLoad(ctx, lo, out)
	var ee exitError
	if loadErr != nil && !errors.As(loadErr, &ee) {
		return fmt.Errorf("reloading: %w (run repair again)", loadErr)
	}
	rep.ReloadFailed = loadErr != nil
	rc, done, err := readCatalog(ctx, lake, path)
	if err != nil {
		return err
	}
	defer done()
	still, err := rc.MarkedObjects(ctx)
	if err != nil {
		return err
	}
	for _, ob := range still {
		rep.Gone = append(rep.Gone, selectedJSON{ob.URL(), ob.Version, ob.Status, ob.LoadID, ob.Records, ob.Rejects})
	}
	return nil
}

func printRepair(io streams, r *repairReport) {
	w := io.out
	verb := func(done, would string) string {
		if r.DryRun {
			return would
		}
		return done
	}
	for _, a := range r.Adopted {
		fmt.Fprintf(w, "%s %s: its load's manifest names it; back in the catalog\n", verb("adopted", "would adopt"), a)
	}
	for _, a := range r.MovedAside {
		fmt.Fprintf(w, "%s orphan %s to %s\n", verb("moved", "would move"), a.Path, a.To)
	}
	for _, l := range r.Lost {
		fmt.Fprintf(w, "%s %s file %s (written by load %s)", verb("retired", "would retire"), l.Problem, l.Path, l.LoadID)
		if l.SetAside != "" {
			fmt.Fprintf(w, "; kept in %s", l.SetAside)
		}
		fmt.Fprintln(w)
	}
	for _, ob := range r.Reload {
		fmt.Fprintf(w, "%s %s (version %s, load %s: %d records, %d rejects)\n", verb("reloading", "would reload"), ob.Object, ob.Version, ob.LoadID, ob.Records, ob.Rejects)
	}
	for _, ob := range r.Gone {
		fmt.Fprintf(w, "GONE FOR GOOD %s (version %s): not found in the sources loaded, or its load failed; %d records and %d rejects of load %s are lost\n",
			ob.Object, ob.Version, ob.Records, ob.Rejects, ob.LoadID)
	}
	if r.ReloadFailed {
		fmt.Fprintln(w, "the reload did not load every object (its summary above says which)")
	}
	switch {
	case r.Error != "" || r.ReloadFailed && len(r.Gone) == 0:
	case len(r.Gone) > 0:
		fmt.Fprintf(w, "%d object(s) could not be reloaded: restore them in their source and run repair again, or drop them with eventlake forget\n", len(r.Gone))
	case len(r.Lost)+len(r.Adopted)+len(r.MovedAside)+len(r.Reload) == 0:
		fmt.Fprintln(w, "nothing to repair")
	case r.DryRun:
		fmt.Fprintln(w, "dry run: nothing changed")
	default:
		fmt.Fprintln(w, "repaired")
	}
}
