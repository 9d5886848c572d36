package compact

import (
	"compress/gzip"
	"context"
	"database/sql"
	"fmt"
	"io"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/laketest"
	"github.com/eventlake/eventlake/loader"
)

// corpus describes a generated set of load sources.
type corpus struct {
	loads      int // source directories, each loaded by its own load
	objects    int // objects per load
	perObject  int // lines per object
	pad        int // base size of the data padding
	days       int // event dates spread over this many days
	domains    []string
	redeliverP int // one line in redeliverP re-delivers an earlier event
}

// write generates the corpus under a new temp dir and returns one source
// directory per load. Events are Pismo envelopes; a re-delivered event has
// the same event_id, domain and timestamp as the original (so the same
// partition) but its data names the copy, so the test can tell which copy
// the de-duplication kept. Re-deliveries happen within an object, across
// objects and across loads.
func (c corpus) write(t testing.TB) []string {
	t.Helper()
	root := t.TempDir()
	r := rand.New(rand.NewSource(7))
	if c.domains == nil {
		c.domains = []string{"account", "cards", "authorization"}
	}
	if c.days == 0 {
		c.days = 2
	}
	if c.redeliverP == 0 {
		c.redeliverP = 7
	}
	next := 0
	var dirs []string
	for l := 0; l < c.loads; l++ {
		dir := filepath.Join(root, fmt.Sprintf("load%d", l))
		dirs = append(dirs, dir)
		for i := 0; i < c.objects; i++ {
			p := filepath.Join(dir, "main_stream", "2024", "02", "01", fmt.Sprintf("%02d", i%24), fmt.Sprintf("obj-%d-%03d", l, i))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			var w io.Writer = f
			var gz *gzip.Writer
			if i%2 == 1 {
				gz = gzip.NewWriter(f)
				w = gz
			}
			for j := 0; j < c.perObject; j++ {
				eid := next
				if next > 10 && r.Intn(c.redeliverP) == 0 {
					eid = r.Intn(next)
				} else {
					next++
				}
				d := c.domains[eid%len(c.domains)]
				sec := eid % 86400
				// Random padding, so files compress like real payloads.
				pad := make([]byte, c.pad+eid%50)
				for k := range pad {
					pad[k] = 'a' + byte(r.Intn(26))
				}
				fmt.Fprintf(w, `{"event_id":"e-%07d","domain":"%s","event_type":"%s-change-%d","schema_version":%d,"org_id":"TN-%d","cid":"c-%d","timestamp":"2024-02-%02dT%02d:%02d:%02d.%03dZ","data":{"n":%d,"copy":"%d/%d/%d","pad":"%s"}}`+"\n",
					eid, d, d, 1+eid%2, 1+eid%3, eid%3, eid, 1+eid%c.days, sec/3600, sec/60%60, sec%60, eid%1000, eid, l, i, j, pad)
			}
			if gz != nil {
				if err := gz.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dirs
}

// loadAll runs one load per source directory.
func loadAll(t testing.TB, lake string, dirs []string) {
	t.Helper()
	for _, d := range dirs {
		if _, err := loader.Run(context.Background(), loader.Options{Lake: lake, Workers: 2, LockWait: time.Minute}, []loader.SourceSpec{{URL: d}}); err != nil {
			t.Fatalf("load %s: %v", d, err)
		}
	}
}

// envelope are the columns compared value by value, plus the partition
// columns.
const envelope = `event_id, event_type, schema_version, org_id, cid, event_time::varchar AS event_time, data::varchar AS data,
 _object, _line, _offset, _load_id, _ingested_at::varchar AS _ingested_at, domain, event_date::varchar AS event_date`

// readParquet is a read_parquet expression over the given lake files.
func readParquet(lake string, paths []string) string {
	var q []string
	for _, p := range paths {
		q = append(q, "'"+filepath.ToSlash(filepath.Join(lake, filepath.FromSlash(p)))+"'")
	}
	return "read_parquet([" + strings.Join(q, ", ") + "], hive_partitioning = true, hive_types = {'domain': VARCHAR, 'event_date': DATE})"
}

// dedupRows is what the events view shows over the given files: one row per
// event_id, chosen by the view's rule, ordered by event_id.
func dedupRows(t testing.TB, db *sql.DB, lake string, paths []string) [][]string {
	t.Helper()
	return laketest.Rows(t, db, "SELECT "+envelope+" FROM "+readParquet(lake, paths)+
		" QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY _ingested_at DESC, _load_id DESC, _object, _line) = 1 ORDER BY event_id")
}

// rawRows is every row of the given files, ordered by event_id (then the
// other columns, so duplicates compare deterministically).
func rawRows(t testing.TB, db *sql.DB, lake string, paths []string) [][]string {
	t.Helper()
	return laketest.Rows(t, db, "SELECT "+envelope+" FROM "+readParquet(lake, paths)+" ORDER BY ALL")
}

// liveFiles lists the live events files through a read-only catalog, as
// the shell does.
func liveFiles(t testing.TB, lake string) []string {
	t.Helper()
	cat, err := catalog.Open(filepath.Join(lake, "_eventlake", "catalog.db"), catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	files, err := cat.LiveFiles(context.Background(), "events")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		out = append(out, f.Path)
	}
	return out
}

// diskFiles lists the files under <lake>/events, as lake-relative paths.
func diskFiles(t testing.TB, lake string) []string {
	t.Helper()
	var out []string
	for _, f := range laketest.Files(t, filepath.Join(lake, "events")) {
		out = append(out, "events/"+f)
	}
	return out
}

// checkClean verifies the lake's resting state: the files under events/ are
// exactly the catalog's live files, and staging is empty.
func checkClean(t testing.TB, lake string) {
	t.Helper()
	live, disk := liveFiles(t, lake), diskFiles(t, lake)
	sort.Strings(live)
	if strings.Join(live, "\n") != strings.Join(disk, "\n") {
		t.Errorf("live files in the catalog and files on disk differ:\ncatalog: %q\ndisk:    %q", live, disk)
	}
	if st := laketest.Files(t, filepath.Join(lake, "_eventlake", "staging")); len(st) != 0 {
		t.Errorf("staging left behind: %q", st)
	}
}

// sameRows reports the first difference between two row sets.
func sameRows(t testing.TB, what string, got, want [][]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d rows, want %d", what, len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("%s: row %d differs:\n got %q\nwant %q", what, i, got[i], want[i])
			return
		}
	}
}

// copyDir copies a lake (files and directories) to a new temp dir.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// run compacts with test defaults.
func run(t testing.TB, o Options) *Summary {
	t.Helper()
	if o.LockWait == 0 {
		o.LockWait = time.Minute
	}
	sum, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("compact: %v", err)
	}
	return sum
}
