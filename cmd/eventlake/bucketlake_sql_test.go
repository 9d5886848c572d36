package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/bench/corpus"
	"github.com/eventlake/eventlake/catalog"
	lk "github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/loader"
	"github.com/eventlake/eventlake/sql/views"
)

// cachedParquet returns the Parquet files (paths relative to the lake's
// cache root, '/'-separated) under a cache folder and their total size.
func cachedParquet(t *testing.T, cache string) (files []string, bytes int64) {
	t.Helper()
	err := filepath.Walk(cache, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(p, ".parquet") {
			return err
		}
		rel, _ := filepath.Rel(cache, p)
		_, rel, _ = strings.Cut(filepath.ToSlash(rel), "/") // lake-<hash>/
		files = append(files, rel)
		bytes += info.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files, bytes
}

// `sql -c` on a lake in a bucket downloads only the files of the
// partitions the script can read: a typed view's domain (plus the schema
// change events), every events file for events/events_raw unless a WHERE
// names the domain, no file for the catalog tables; the answers equal a
// local lake's.
func TestBucketLakeSQLDownloadsOnlyNeededFiles(t *testing.T) {
	forEachBucket(t, testBucketLakeSQLDownloadsOnlyNeededFiles)
}

func testBucketLakeSQLDownloadsOnlyNeededFiles(t *testing.T, newLake func(*testing.T) string) {
	lakeURL, local := loadBucketAndLocal(t, newLake, corpus.Spec{Objects: 6, ObjectBytes: 150_000, Domains: 6, EventTypesPerDomain: 2,
		Orgs: 2, Days: 3, Gzip: true, Seed: 7})
	// The first domain's schema and its first event type's view, as the
	// shell names them.
	_, out, _ := runCLI(t, "sql", "--lake", local, "--format", "list", "-c",
		"select distinct domain from events order by 1")
	domains := strings.Fields(out)[1:] // after the header
	if len(domains) < 4 {
		t.Fatalf("want several domains, have %q", out)
	}
	d := domains[0]
	_, out, _ = runCLI(t, "sql", "--lake", local, "--format", "list", "-c",
		"select distinct event_type from events where domain = '"+d+"' order by 1")
	ets := strings.Fields(out)[1:]
	if len(ets) == 0 {
		t.Fatalf("no event types in %s", d)
	}
	typed := views.Assign(domains)[d] + "." + views.Assign(ets)[ets[0]]
	var all int64 // the bucket lake's events files
	if err := openBucket(t, lakeURL).List(context.Background(), "events/", "", func(o lk.ObjectInfo) error {
		if strings.HasSuffix(o.Key, ".parquet") {
			all += o.Size
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name, script string
		keep         func(path string) bool // the files the script may download; nil: every events file
	}{
		{"typed view", "select count(*), count(distinct event_id), max(event_time) from " + typed,
			func(p string) bool {
				return strings.HasPrefix(p, "events/domain="+d+"/") || strings.HasPrefix(p, "events/domain="+views.SchemaChangeDomain+"/")
			}},
		{"events", "select domain, count(*) from events group by all order by all", nil},
		{"events of a domain", "select domain, count(*) from events where domain = '" + d + "' group by all order by all",
			func(p string) bool {
				return strings.HasPrefix(p, "events/domain="+d+"/") || strings.HasPrefix(p, "events/domain="+views.SchemaChangeDomain+"/")
			}},
		{"catalog only", "select count(*), sum(rows) from eventlake.files", func(string) bool { return false }},
	} {
		freshRunner(t)
		cache := t.TempDir()
		t.Setenv("EVENTLAKE_CACHE_DIR", cache)
		code, got, errOut := runCLI(t, "sql", "--lake", lakeURL, "-c", c.script)
		t.Setenv("EVENTLAKE_CACHE_DIR", "")
		if code != 0 {
			t.Fatalf("%s: exit %d %s", c.name, code, errOut)
		}
		if strings.Contains(errOut, "warning") {
			t.Errorf("%s: warnings for the files not downloaded: %s", c.name, errOut)
		}
		_, want, _ := runCLI(t, "sql", "--lake", local, "-c", c.script)
		if got != want || want == "" {
			t.Errorf("%s:\nbucket lake:\n%s\nlocal lake:\n%s", c.name, got, want)
		}
		files, bytes := cachedParquet(t, cache)
		for _, f := range files {
			if c.keep != nil && !c.keep(f) {
				t.Errorf("%s: downloaded %s, which the script cannot read", c.name, f)
			}
		}
		if c.keep == nil && bytes != all {
			t.Errorf("%s: downloaded %d bytes, want every events file (%d bytes)", c.name, bytes, all)
		}
		if c.name == "typed view" && (bytes == 0 || bytes >= all) {
			t.Errorf("%s: downloaded %d of %d bytes", c.name, bytes, all)
		}
		t.Logf("%-12s downloaded %3d files, %8d of %8d bytes (%.0f%%) over %d domains", c.name, len(files), bytes, all,
			100*float64(bytes)/float64(all), len(domains))
	}
}

// neededFiles picks, from the names a script mentions, the files of the
// tables it can read: a delimited table's files for its view, the reject
// files for eventlake.rejects, every events file for events; the catalog
// inspectors get every file.
func TestNeededFiles(t *testing.T) {
	lake := t.TempDir()
	code, out, errOut := runCLI(t, "load", "--lake", lake, "--settle", "0", "-q", testdata("pismo"), testdata("jwo"), testdata("bad", "mixed-bad-lines.ndjson"))
	if code != 0 && code != 3 { // 3: some objects were quarantined or had rejects
		t.Fatalf("load: exit %d %s%s", code, out, errOut)
	}
	ctx := context.Background()
	cat, err := catalog.Open(loader.CatalogPath(lake), catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	live, err := cat.LiveFiles(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	byTable := map[string]int{}
	var tables []string
	changes := 0 // the schema change events' files, which every session reads (eventlake.schema_changes)
	for _, f := range live {
		if f.Table == "events" && strings.HasPrefix(f.Partition, "domain="+views.SchemaChangeDomain+"/") {
			changes++
		}
		if byTable[f.Table] == 0 && f.Table != "events" && f.Table != "_rejects" {
			tables = append(tables, f.Table)
		}
		byTable[f.Table]++
	}
	if byTable["events"] <= changes || changes == 0 || byTable["_rejects"] == 0 || len(tables) == 0 {
		t.Fatalf("the lake lacks events, rejects or a delimited table: %v", byTable)
	}
	table := tables[0]
	view := views.Assign(tables)[table]
	for _, c := range []struct {
		script string
		want   map[string]int // files kept per table; nil: every file
	}{
		{"select * from " + view, map[string]int{table: byTable[table], "events": changes}},
		{"select * from " + view + "_history", map[string]int{table: byTable[table], "events": changes}},
		{"select * from eventlake.rejects", map[string]int{"_rejects": byTable["_rejects"], "events": changes}},
		{"select count(*) from events_raw", map[string]int{"events": byTable["events"]}},
		{"select count(*) from eventlake.loads", map[string]int{"events": changes}},
		{"describe " + view, nil},
	} {
		keep, err := neededFiles(ctx, cat, scriptWords(c.script))
		if err != nil {
			t.Fatal(err)
		}
		if c.want == nil {
			if keep != nil {
				t.Errorf("%q: want every file", c.script)
			}
			continue
		}
		got := map[string]int{}
		for _, f := range live {
			if keep(f) {
				got[f.Table]++
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%q: keeps %v, want %v", c.script, got, c.want)
		}
	}
}

// `sql -c` on a lake in a bucket prunes by partition: a script filtering
// events, events_raw or a typed view on event_date or domain downloads only
// the files of the matching partitions (and those of the schema change
// events), and answers as a local lake does.
func TestBucketLakeSQLPrunesByPartition(t *testing.T) {
	forEachBucket(t, testBucketLakeSQLPrunesByPartition)
}

func testBucketLakeSQLPrunesByPartition(t *testing.T, newLake func(*testing.T) string) {
	lakeURL, local := loadBucketAndLocal(t, newLake, corpus.Spec{Objects: 6, ObjectBytes: 150_000, Domains: 3, EventTypesPerDomain: 2,
		Orgs: 2, Days: 4, Gzip: true, Seed: 11})
	_, out, _ := runCLI(t, "sql", "--lake", local, "--format", "list", "-c",
		"select distinct event_date from events order by 1")
	days := strings.Fields(out)[1:]
	_, out, _ = runCLI(t, "sql", "--lake", local, "--format", "list", "-c",
		"select distinct domain from events where domain <> '"+views.SchemaChangeDomain+"' order by 1")
	domains := strings.Fields(out)[1:]
	if len(days) < 3 || len(domains) < 2 {
		t.Fatalf("want several days and domains, have %q %q", days, domains)
	}
	_, out, _ = runCLI(t, "sql", "--lake", local, "--format", "list", "-c",
		"select distinct event_type from events where domain = '"+domains[0]+"' order by 1")
	ets := strings.Fields(out)[1:]
	_, out, _ = runCLI(t, "sql", "--lake", local, "--format", "list", "-c", "select distinct domain from events order by 1")
	typed := views.Assign(strings.Fields(out)[1:])[domains[0]] + "." + views.Assign(ets)[ets[0]]

	cat, err := catalog.Open(loader.CatalogPath(local), catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	live, err := cat.LiveFiles(context.Background(), "events")
	cat.Close()
	if err != nil {
		t.Fatal(err)
	}
	// count is the number of events files in the partitions keep accepts,
	// plus the schema change events'.
	count := func(keep func(domain, day string) bool) (n int) {
		for _, f := range live {
			ds, ts, _ := strings.Cut(f.Partition, "/")
			d, day := strings.TrimPrefix(ds, "domain="), strings.TrimPrefix(ts, "event_date=")
			if d == views.SchemaChangeDomain || keep(d, day) {
				n++
			}
		}
		return n
	}
	d0, d1, d2 := days[0], days[1], days[2]
	for _, c := range []struct {
		name, script string
		keep         func(domain, day string) bool
	}{
		{"between", "select domain, event_date, count(*), count(distinct event_id) from events where event_date between '" + d1 + "' and '" + d2 + "' group by all order by all",
			func(_, day string) bool { return day >= d1 && day <= d2 }},
		{"equal", "select count(*), max(event_time) from events_raw where event_date = '" + d1 + "'",
			func(_, day string) bool { return day == d1 }},
		{"in and domain", "select event_type, count(*) from events where domain = '" + domains[1] + "' and event_date in ('" + d0 + "', '" + d2 + "') group by all order by all",
			func(d, day string) bool { return d == domains[1] && (day == d0 || day == d2) }},
		{"at least", "select count(*) from events where event_date >= DATE '" + d2 + "'",
			func(_, day string) bool { return day >= d2 }},
		{"typed view", "select count(*), count(distinct event_id) from " + typed + " where event_date = '" + d0 + "'",
			func(d, day string) bool { return d == domains[0] && day == d0 }},
		{"two statements", "select count(*) from events where event_date = '" + d0 + "'; select count(*) from events_raw where event_date = '" + d1 + "' and domain = '" + domains[0] + "'",
			func(d, day string) bool { return day == d0 || (day == d1 && d == domains[0]) }},
		{"dot commands", ".timer off\n.headers on\nselect count(*) from events where event_date = '" + d1 + "'",
			func(_, day string) bool { return day == d1 }},
		{"not understood", "select count(*) from events where event_date = '" + d0 + "' or event_type = 'x'", nil},
	} {
		freshRunner(t)
		cache := t.TempDir()
		t.Setenv("EVENTLAKE_CACHE_DIR", cache)
		code, got, errOut := runCLI(t, "sql", "--lake", lakeURL, "-c", c.script)
		t.Setenv("EVENTLAKE_CACHE_DIR", "")
		if code != 0 {
			t.Fatalf("%s: exit %d %s", c.name, code, errOut)
		}
		if strings.Contains(errOut, "warning") {
			t.Errorf("%s: warnings for the files not downloaded: %s", c.name, errOut)
		}
		_, want, _ := runCLI(t, "sql", "--lake", local, "-c", c.script)
		if got != want || want == "" {
			t.Errorf("%s:\nbucket lake:\n%s\nlocal lake:\n%s", c.name, got, want)
		}
		files, _ := cachedParquet(t, cache)
		wantFiles := len(live)
		if c.keep != nil {
			wantFiles = count(c.keep)
		}
		if len(files) != wantFiles {
			t.Errorf("%s: downloaded %d files, want %d", c.name, len(files), wantFiles)
		}
		if c.keep != nil && wantFiles >= len(live) {
			t.Errorf("%s: the corpus does not let the filter prune (%d of %d files)", c.name, wantFiles, len(live))
		}
		t.Logf("%-15s downloaded %3d of %3d files", c.name, len(files), len(live))
	}

	// The interactive shell (here fed on stdin) downloads before each
	// statement what that statement can read.
	freshRunner(t)
	cache := t.TempDir()
	t.Setenv("EVENTLAKE_CACHE_DIR", cache)
	script := ".tables\nselect count(*) from events where event_date = '" + d0 + "';\n" +
		"select count(*), count(distinct event_id) from " + typed + " where event_date = '" + d1 + "';\n" +
		"select count(*) from events where event_date = '" + d0 + "' and domain = '" + domains[1] + "';\n"
	code, got, errOut := sqlStdin(t, script, "--lake", lakeURL)
	t.Setenv("EVENTLAKE_CACHE_DIR", "")
	if code != 0 || strings.Contains(errOut, "warning") {
		t.Fatalf("shell: exit %d %s", code, errOut)
	}
	_, want, _ := sqlStdin(t, script, "--lake", local)
	if got != want || want == "" {
		t.Errorf("shell:\nbucket lake:\n%s\nlocal lake:\n%s", got, want)
	}
	files, _ := cachedParquet(t, cache)
	var events int
	for _, f := range files {
		if strings.HasPrefix(f, "events/") {
			events++
		}
	}
	if n := count(func(d, day string) bool { return day == d0 || (d == domains[0] && day == d1) }); events != n {
		t.Errorf("shell: downloaded %d events files, want %d", events, n)
	}
	t.Logf("%-15s downloaded %3d of %3d files", "shell", events, len(live))
}

// loadBucketAndLocal generates a corpus of spec and loads it into a new
// lake in a bucket (from a fresh runner) and into a local lake, to compare
// their answers.
func loadBucketAndLocal(t *testing.T, newLake func(*testing.T) string, spec corpus.Spec) (lakeURL, local string) {
	t.Helper()
	lakeURL = newLake(t)
	src := filepath.Join(t.TempDir(), "corpus")
	if _, err := corpus.Generate(src, spec); err != nil {
		t.Fatal(err)
	}
	local = t.TempDir()
	freshRunner(t)
	for _, l := range []string{lakeURL, local} {
		if code, out, errOut := runCLI(t, "load", "--lake", l, "--settle", "0", "-q", src); code != 0 {
			t.Fatalf("load %s: exit %d %s%s", l, code, out, errOut)
		}
	}
	return lakeURL, local
}
