package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/lakepath"
	"github.com/eventlake/eventlake/partitions"
)

// checkOptions are the flags of `eventlake check`.
type checkOptions struct {
	Lake, Catalog, ConfigPath string
	JSON                      bool
}

func newCheckCmd(io streams) *cobra.Command {
	o := &checkOptions{}
	c := &cobra.Command{
		Use:   "check --lake DIR [--json]",
		Short: "Verify every live file of the lake (exists, size, checksum, Parquet footer) and find orphan files",
		Long: `Check reads every live file of the lake back and compares it with what the
catalog recorded when it was written: the file exists, has the same size, the
same checksum (xxhash64 of the whole file: bit flips are found), and its
Parquet footer parses. Files written before checksums were recorded are
checked by size and footer. It also lists orphans: files under the table
folders that the catalog does not list (left by a lost or restored catalog, or
copied in by hand). Engines that list the folders read them; the shell does not.

Check only reads: it takes no lock, never blocks a load, and runs with read
access to the lake alone (another Unix user, a read-only mount).

Exit status: 0 when every live file is intact and there is no orphan, 1 when
something is damaged, missing or orphaned (or the check could not run), 2 for
usage errors.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runCheck(cmd.Context(), o, io) },
	}
	f := c.Flags()
	f.StringVar(&o.Lake, "lake", "", "lake folder, or s3://BUCKET/PREFIX or gs://BUCKET/PREFIX")
	f.StringVar(&o.Catalog, "catalog", "", "catalog file (default <lake>/_eventlake/catalog.db)")
	f.StringVar(&o.ConfigPath, "config", "", "YAML config file (lake and catalog)")
	f.BoolVar(&o.JSON, "json", false, "print the report as one JSON object")
	return c
}

// checkReportFormat is the version of check's --json output.
const checkReportFormat = 1

// checkReport is what check found; --json prints it.
type checkReport struct {
	Format  int            `json:"format"`
	Lake    string         `json:"lake"`
	Catalog string         `json:"catalog"`
	OK      bool           `json:"ok"`
	Files   int            `json:"files"` // live files checked
	Bytes   int64          `json:"bytes"` // their recorded size
	Seconds float64        `json:"seconds"`
	Damaged []damagedEntry `json:"damaged"`
	Orphans []orphanEntry  `json:"orphans"`
	// Unsettled lists files on disk the catalog knows but readers do not
	// see: replaced by a compaction but not yet deleted, or of a load whose
	// publish was interrupted. The next load, compact or watch settles
	// them; they are not damage.
	Unsettled []unsettledEntry `json:"unsettled"`
}

type damagedEntry struct {
	Path      string `json:"path"`
	Table     string `json:"table"`
	Partition string `json:"partition"`
	LoadID    string `json:"load_id"`
	Problem   string `json:"problem"` // missing, size, checksum, footer, unreadable
	Detail    string `json:"detail"`
	Checksum  bool   `json:"checksum_recorded"`
}

type orphanEntry struct {
	Path  string `json:"path"`
	Bytes int64  `json:"bytes"`
}

type unsettledEntry struct {
	Path  string `json:"path"`
	State string `json:"state"` // replaced, pending, unfinished
}

// checkWorkers is how many files are read at once: enough to keep a disk
// (or an SSD's queue) busy; hashing runs at memory speed.
const checkWorkers = 4

func runCheck(ctx context.Context, o *checkOptions, io streams) error {
	start := time.Now()
	var files lakeFiles
	var cat *catalog.Catalog
	if b, err := openBucketFiles(ctx, o.Lake, o.Catalog, o.ConfigPath); err != nil {
		return err
	} else if b != nil {
		defer b.close()
		files, cat = b, b.cat
	} else {
		lake, path, err := folderLake("check", o.Lake, o.Catalog, o.ConfigPath)
		if err != nil {
			return err
		}
		if cat, err = catalog.Open(path, catalog.Options{ReadOnly: true}); err != nil {
			return err
		}
		defer cat.Close()
		files = folderFiles(lake)
	}

	rep, err := verifyLake(ctx, io, files, cat, !o.JSON || io.isTerminal(io.errOut))
	if err != nil {
		return err
	}
	rep.Seconds = time.Since(start).Seconds()

	if o.JSON {
		enc := json.NewEncoder(io.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printCheck(io, rep)
	}
	if !rep.OK {
		return exitError{exitFailed}
	}
	return nil
}

// verifyLake reads every live file of the lake back and compares it with
// the catalog's record (partitions.VerifyFile), and lists the files of the
// table folders the catalog does not know (orphans) or knows but readers do
// not see (unsettled). check reports what it finds; repair mends it.
func verifyLake(ctx context.Context, io streams, files lakeFiles, cat *catalog.Catalog, progress bool) (*checkReport, error) {
	// The folders are listed before the catalog is read: a load renames its
	// files into place only after its commit, so every file listed here
	// that a load wrote is in the catalog read next (no false orphans while
	// a load runs). (A bucket's catalog is synced before: see bucketFiles.)
	onDisk, err := files.tableFiles(ctx)
	if err != nil {
		return nil, err
	}
	lake := files.name()
	live, err := cat.LiveFiles(ctx, "")
	if err != nil {
		return nil, err
	}
	rep := &checkReport{Format: checkReportFormat, Lake: lake, Catalog: cat.Path(),
		Damaged: []damagedEntry{}, Orphans: []orphanEntry{}, Unsettled: []unsettledEntry{}}
	var total int64
	for _, f := range live {
		total += f.Bytes
	}
	rep.Files, rep.Bytes = len(live), total

	stopProgress := func() {}
	var doneFiles, doneBytes atomic.Int64
	if progress {
		stopProgress = checkProgress(io, len(live), total, &doneFiles, &doneBytes)
	}
	var (
		mu   sync.Mutex
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range min(checkWorkers, len(live)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(live) {
					return
				}
				f := live[i]
				err := files.verify(ctx, f)
				doneFiles.Add(1)
				doneBytes.Add(f.Bytes)
				if err == nil {
					continue
				}
				d := damagedEntry{Path: f.Path, Table: f.Table, Partition: f.Partition, Problem: partitions.ProblemUnreadable,
					Detail: err.Error(), Checksum: f.Checksum != ""}
				var p *partitions.FileProblem
				if errors.As(err, &p) {
					d.Problem, d.Detail = p.Kind, p.Detail
				}
				mu.Lock()
				rep.Damaged = append(rep.Damaged, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	stopProgress()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Settle races with a writer that ran meanwhile: a file a compaction
	// replaced (and deleted) after the catalog was read is no longer live,
	// and a file published meanwhile is known now.
	known, err := cat.KnownFiles(ctx)
	if err != nil {
		return nil, err
	}
	kept := rep.Damaged[:0]
	for _, d := range rep.Damaged {
		if known[d.Path] == catalog.FileVisible {
			_ = cat.DB().QueryRowContext(ctx, `SELECT load_id FROM files WHERE path = ?`, d.Path).Scan(&d.LoadID)
			kept = append(kept, d)
		}
	}
	rep.Damaged = kept
	sort.Slice(rep.Damaged, func(i, j int) bool { return rep.Damaged[i].Path < rep.Damaged[j].Path })
	for _, f := range onDisk {
		switch st, ok := known[f.Path]; {
		case !ok:
			rep.Orphans = append(rep.Orphans, f)
		case st != catalog.FileVisible:
			rep.Unsettled = append(rep.Unsettled, unsettledEntry{Path: f.Path, State: st})
		}
	}
	rep.OK = len(rep.Damaged) == 0 && len(rep.Orphans) == 0
	return rep, nil
}

// lakeFiles is where check and repair find a lake's files: its folder or
// its bucket.
type lakeFiles interface {
	// name is the lake as reports show it.
	name() string
	// tableFiles lists the files of the table folders (see tableFiles).
	tableFiles(ctx context.Context) ([]orphanEntry, error)
	// verify compares a live file with its record (partitions.VerifyFile).
	verify(ctx context.Context, f catalog.FileRecord) error
}

// folderFiles are the files of a lake in a folder.
type folderFiles string

func (l folderFiles) name() string { return string(l) }

func (l folderFiles) tableFiles(context.Context) ([]orphanEntry, error) { return tableFiles(string(l)) }

func (l folderFiles) verify(_ context.Context, f catalog.FileRecord) error {
	return partitions.VerifyFile(filepath.Join(string(l), filepath.FromSlash(f.Path)), f.Bytes, f.Checksum)
}

// tableFiles lists the regular files under the lake's table folders: every
// top-level folder except _eventlake (the catalog, staging, the query
// cache), skipping names that start with '.' or '_' below it (Spark, Hive
// and Athena ignore those too).
func tableFiles(lake string) ([]orphanEntry, error) {
	entries, err := os.ReadDir(lake)
	if err != nil {
		return nil, fmt.Errorf("lake %s: %w", lake, err)
	}
	var out []orphanEntry
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || name == lakepath.MetaDir || strings.HasPrefix(name, ".") {
			continue
		}
		err := filepath.WalkDir(filepath.Join(lake, name), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Name() != name && (strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(lake, p)
			if err != nil {
				return err
			}
			out = append(out, orphanEntry{Path: filepath.ToSlash(rel), Bytes: info.Size()})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("listing the table folders: %w", err)
		}
	}
	return out, nil
}

// checkProgress shows, on a terminal, how far the check is, every quarter
// second; the returned function clears the line.
func checkProgress(io streams, files int, bytes int64, doneFiles, doneBytes *atomic.Int64) func() {
	if !io.isTerminal(io.errOut) {
		return func() {}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				fmt.Fprint(io.errOut, "\r\033[K")
				return
			case <-t.C:
				fmt.Fprintf(io.errOut, "\r\033[Kchecking: %d/%d files, %s of %s", doneFiles.Load(), files, humanBytes(doneBytes.Load()), humanBytes(bytes))
			}
		}
	}()
	return func() { close(stop); wg.Wait() }
}

func printCheck(io streams, r *checkReport) {
	w := io.out
	fmt.Fprintf(w, "lake %s: checked %d live files (%s) in %.2fs\n", r.Lake, r.Files, humanBytes(r.Bytes), r.Seconds)
	for _, d := range r.Damaged {
		label := strings.ToUpper(d.Problem)
		if d.Problem != partitions.ProblemMissing {
			label = "DAMAGED (" + d.Problem + ")"
		}
		fmt.Fprintf(w, "%s %s: %s (written by load %s)\n", label, d.Path, d.Detail, d.LoadID)
	}
	for _, o := range r.Orphans {
		fmt.Fprintf(w, "ORPHAN %s (%s): on disk but not in the catalog\n", o.Path, humanBytes(o.Bytes))
	}
	for _, u := range r.Unsettled {
		fmt.Fprintf(w, "note: %s is %s; the next load, compact or watch settles it\n", u.Path, u.State)
	}
	if r.OK {
		fmt.Fprintln(w, "no problems found")
		return
	}
	fmt.Fprintf(w, "%d damaged or missing files, %d orphan files\n", len(r.Damaged), len(r.Orphans))
	if len(r.Damaged) > 0 {
		fmt.Fprintln(w, "Damaged or missing files: eventlake repair --lake "+r.Lake+" [SOURCE...] reloads their objects from their sources, "+
			"or restore them from a backup to the same paths. Until then the shell leaves out the missing ones "+
			"(a damaged file of the right size may still give wrong answers) and compact leaves their partitions alone.")
	}
	if len(r.Orphans) > 0 {
		fmt.Fprintln(w, "Orphan files: the shell does not read them, but engines that list the folders do. "+
			"eventlake repair adopts those a load's manifest names and moves the others to _eventlake/orphans/.")
	}
}
