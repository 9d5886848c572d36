package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// expireSources are the test files of every kind of table: Pismo and
// fulfillmenttools events over two dates, the JWO orders CSV table, and a
// file with bad lines (rejects).
func expireSources() []string {
	return []string{testdata("pismo"), testdata("jwo"), testdata("fulfillmenttools"), testdata(filepath.Join("bad", "mixed-bad-lines.ndjson"))}
}

// globOf reads a table's folder as an external engine would.
func globOf(lake, table string) string {
	return "read_parquet('" + filepath.ToSlash(filepath.Join(lake, table)) + "/**' || '/' || '*.parquet', hive_partitioning = true)"
}

// expireCounts are the row counts an expiry changes, through the shell's
// views and through the raw Parquet folders.
type expireCounts struct {
	Events, EventsOld, Orders, Rejects             int64 // shell views (orders: every row)
	GlobEvents, GlobEventsOld, GlobOrders, GlobRej int64 // Parquet folders
}

func countExpire(t *testing.T, lake string) expireCounts {
	t.Helper()
	var c expireCounts
	// One shell per count set: the views, then each folder that has files.
	parts := []string{"(select count(*) from events_raw)",
		"(select count(*) from events_raw where event_date < date '2024-02-02')", "(select count(*) from eventlake.rejects)"}
	dst := []*int64{&c.Events, &c.EventsOld, &c.Rejects}
	// The shell has an orders view while the table has live files.
	if sqlInt(t, lake, "select count(*) from eventlake.files where table_name = 'orders' and status = 'live'") > 0 {
		parts = append(parts, "(select count(*) from orders_history)")
		dst = append(dst, &c.Orders)
	}
	for _, g := range []struct {
		table, where string
		n            *int64
	}{
		{"events", "", &c.GlobEvents}, {"events", " where event_date < date '2024-02-02'", &c.GlobEventsOld},
		{"orders", "", &c.GlobOrders}, {"_rejects", "", &c.GlobRej},
	} {
		files, _ := filepath.Glob(filepath.Join(lake, g.table, "*", "*.parquet"))
		more, _ := filepath.Glob(filepath.Join(lake, g.table, "*", "*", "*.parquet"))
		if len(files)+len(more) > 0 {
			parts = append(parts, "(select count(*) from "+globOf(lake, g.table)+g.where+")")
			dst = append(dst, g.n)
		}
	}
	v := sqlValue(t, lake, "select "+strings.Join(parts, " || ',' || "))
	fields := strings.Split(strings.Trim(v, `"`), ",")
	if len(fields) != len(dst) {
		t.Fatalf("counts %q: want %d values", v, len(dst))
	}
	for i, f := range fields {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			t.Fatalf("counts %q: %v", v, err)
		}
		*dst[i] = n
	}
	return c
}

func TestExpireEndToEnd(t *testing.T) {
	lake := t.TempDir()
	load := func() map[string]any {
		t.Helper()
		code, out, errOut := runCLI(t, append([]string{"load", "--lake", lake, "-q", "--json"}, expireSources()...)...)
		if code != 0 {
			t.Fatalf("load: exit %d\n%s", code, errOut)
		}
		var sum map[string]any
		if err := json.Unmarshal([]byte(out), &sum); err != nil {
			t.Fatalf("load --json: %v\n%s", err, out)
		}
		return sum
	}
	load()
	before := countExpire(t, lake)
	if before.EventsOld == 0 || before.Events == before.EventsOld || before.Orders == 0 || before.Rejects == 0 {
		t.Fatalf("the test data lacks a table or a date: %+v", before)
	}
	if before.GlobEvents != before.Events || before.GlobOrders != before.Orders || before.GlobRej != before.Rejects {
		t.Fatalf("shell and Parquet folders disagree before expiry: %+v", before)
	}
	loads := sqlInt(t, lake, "select count(*) from eventlake.loads")

	// Usage errors change nothing.
	for _, args := range [][]string{
		{"expire", "--lake", lake},
		{"expire", "--lake", lake, "--before", "2024-13-01"},
		{"expire", "--lake", lake, "--before", "2024-02-02", "--table", "orders", "--domain", "cards"},
		{"expire", "--before", "2024-02-02"},
	} {
		if code, _, errOut := runCLI(t, args...); code != 2 || errOut == "" {
			t.Errorf("%v: exit %d (%q), want 2 with a message", args, code, errOut)
		}
	}

	// A table the lake does not have is named on stderr.
	if code, out, errOut := runCLI(t, "expire", "--lake", lake, "--before", "2024-02-02", "--table", "event"); code != 0 ||
		!strings.Contains(errOut, `no live files of table "event"`) || !strings.Contains(out, "nothing to expire") {
		t.Errorf("expire --table event: exit %d\n%s%s", code, out, errOut)
	}

	// A dry run lists the partitions and changes nothing.
	code, out, errOut := runCLI(t, "expire", "--lake", lake, "--before", "2024-02-02", "--dry-run", "--json")
	if code != 0 {
		t.Fatalf("dry run: exit %d\n%s", code, errOut)
	}
	var dry struct {
		DryRun     bool  `json:"dry_run"`
		Partitions int   `json:"partitions"`
		Rows       int64 `json:"rows"`
	}
	if err := json.Unmarshal([]byte(out), &dry); err != nil || !dry.DryRun || dry.Rows != before.EventsOld || dry.Partitions < 2 {
		t.Fatalf("dry run: %s (%v), want %d rows over several partitions", out, err, before.EventsOld)
	}
	if got := countExpire(t, lake); got != before {
		t.Fatalf("dry run changed the lake: %+v, was %+v", got, before)
	}
	if n := sqlInt(t, lake, "select count(*) from eventlake.loads"); n != loads {
		t.Fatalf("dry run recorded a load (%d loads, was %d)", n, loads)
	}

	// One domain first, then every events partition before the date.
	cardsOld := sqlInt(t, lake, "select count(*) from events_raw where domain = 'cards' and event_date < date '2024-02-02'")
	if cardsOld == 0 {
		t.Fatal("no cards events before 2024-02-02 in the test data")
	}
	if code, _, errOut := runCLI(t, "expire", "--lake", lake, "--before", "2024-02-02", "--domain", "cards"); code != 0 {
		t.Fatalf("expire --domain: exit %d\n%s", code, errOut)
	}
	got := countExpire(t, lake)
	if got.Events != before.Events-cardsOld || got.GlobEvents != got.Events || got.Orders != before.Orders || got.Rejects != before.Rejects {
		t.Fatalf("after expiring cards: %+v, want %d events fewer and nothing else changed (was %+v)", got, cardsOld, before)
	}
	code, out, errOut = runCLI(t, "expire", "--lake", lake, "--before", "2024-02-02")
	if code != 0 || !strings.Contains(out, "expired") {
		t.Fatalf("expire: exit %d\n%s%s", code, out, errOut)
	}
	got = countExpire(t, lake)
	want := before
	want.Events, want.GlobEvents = before.Events-before.EventsOld, before.Events-before.EventsOld
	want.EventsOld, want.GlobEventsOld = 0, 0
	if got != want {
		t.Fatalf("after expiring events before 2024-02-02: %+v, want %+v", got, want)
	}

	// The CSV table and the rejects, by their own date columns.
	if code, _, errOut := runCLI(t, "expire", "--lake", lake, "--before", "2099-01-01", "--table", "orders"); code != 0 {
		t.Fatalf("expire orders: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "expire", "--lake", lake, "--before", "2099-01-01", "--table", "_rejects"); code != 0 {
		t.Fatalf("expire _rejects: exit %d\n%s", code, errOut)
	}
	got = countExpire(t, lake)
	want.Orders, want.GlobOrders, want.Rejects, want.GlobRej = 0, 0, 0, 0
	if got != want {
		t.Fatalf("after expiring orders and rejects: %+v, want %+v", got, want)
	}
	// The files are gone from disk, with their folders, and the lake
	// checks clean.
	for _, dir := range []string{"orders/report_date=2024-06-05", "events/domain=account"} {
		if _, err := os.Stat(filepath.Join(lake, dir)); !os.IsNotExist(err) {
			t.Errorf("folder %s of expired partitions: still there (%v)", dir, err)
		}
	}
	if code, out, errOut := runCLI(t, "check", "--lake", lake); code != 0 {
		t.Fatalf("check after expiry: exit %d\n%s%s", code, out, errOut)
	}
	if n := sqlInt(t, lake, "select count(*) from eventlake.files where status = 'removed'"); n == 0 {
		t.Fatal("no file recorded removed")
	}

	// The objects stay loaded: a re-run loads nothing, and the expired
	// rows do not come back.
	if sum := load(); sum["records"] != 0.0 || sum["committed"] != 0.0 {
		t.Fatalf("the load after expiry loaded again: %v", sum)
	}
	if got := countExpire(t, lake); got != want {
		t.Fatalf("after the re-run: %+v, want %+v", got, want)
	}
	// Nothing older is left: another expiry does nothing and records no load.
	loads = sqlInt(t, lake, "select count(*) from eventlake.loads")
	if code, out, _ := runCLI(t, "expire", "--lake", lake, "--before", "2024-02-02"); code != 0 || !strings.Contains(out, "nothing to expire") {
		t.Fatalf("second expiry: exit %d, %s", code, out)
	}
	if n := sqlInt(t, lake, "select count(*) from eventlake.loads"); n != loads {
		t.Fatalf("an expiry with nothing to do recorded a load")
	}
	// A catalog rebuilt from the manifests knows the expiries: the same
	// lake, and a load still loads nothing.
	cat := filepath.Join(lake, "_eventlake", "catalog.db")
	for _, f := range []string{cat, cat + "-wal", cat + "-shm"} {
		if err := os.Rename(f, f+".old"); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	if code, out, errOut := runCLI(t, "catalog", "rebuild", "--lake", lake); code != 0 {
		t.Fatalf("catalog rebuild: exit %d\n%s%s", code, out, errOut)
	}
	if got := countExpire(t, lake); got != want {
		t.Fatalf("after catalog rebuild: %+v, want %+v", got, want)
	}
	if sum := load(); sum["records"] != 0.0 {
		t.Fatalf("the load after the rebuild loaded again: %v", sum)
	}
}

// retention: in the config makes load expire what is past each table's
// period after its commit, and report it; a re-run loads nothing again.
func TestLoadRetention(t *testing.T) {
	lake := t.TempDir()
	// events keep 2024-02-02 and later; orders (2024-06-05) keep one day.
	days := int(time.Since(time.Date(2024, 2, 2, 0, 0, 0, 0, time.UTC)) / (24 * time.Hour))
	cfg := filepath.Join(t.TempDir(), "eventlake.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("retention: {events: %dd, orders: 1d, _rejects: 30d}\n", days)), 0o644); err != nil {
		t.Fatal(err)
	}
	load := func() map[string]any {
		t.Helper()
		code, out, errOut := runCLI(t, append([]string{"load", "--lake", lake, "--config", cfg, "-q", "--json"}, expireSources()...)...)
		if code != 0 {
			t.Fatalf("load: exit %d\n%s", code, errOut)
		}
		var sum map[string]any
		if err := json.Unmarshal([]byte(out), &sum); err != nil {
			t.Fatalf("load --json: %v\n%s", err, out)
		}
		return sum
	}
	sum := load()
	got := countExpire(t, lake)
	// The rows loaded, less those expired: the 2024-02-01 events and every
	// order; the rejects (loaded today) stay.
	loaded := int64(sum["records"].(float64))
	if sum["expired_files"].(float64) == 0 || int64(sum["expired_rows"].(float64)) != loaded-got.Events {
		t.Fatalf("load summary: %v; %d rows loaded, %+v left", sum, loaded, got)
	}
	if got.EventsOld != 0 || got.GlobEventsOld != 0 || got.Events == 0 || got.GlobEvents != got.Events ||
		got.Orders != 0 || got.GlobOrders != 0 || got.Rejects == 0 || got.GlobRej != got.Rejects {
		t.Fatalf("after the load with retention: %+v", got)
	}
	loads := sqlInt(t, lake, "select count(*) from eventlake.loads where command = 'expire'")
	if loads != 1 {
		t.Fatalf("%d expiry loads, want 1", loads)
	}
	// A re-run loads nothing and expires nothing more.
	again := load()
	if again["records"] != 0.0 || again["expired_files"] != 0.0 {
		t.Fatalf("re-run: %v, want nothing loaded or expired", again)
	}
	if n := sqlInt(t, lake, "select count(*) from eventlake.loads where command = 'expire'"); n != loads {
		t.Fatalf("a re-run with nothing past retention recorded an expiry")
	}
	if after := countExpire(t, lake); after != got {
		t.Fatalf("after the re-run: %+v, want %+v", after, got)
	}
	// Human output names the expiry.
	lake2 := t.TempDir()
	code, out, errOut := runCLI(t, append([]string{"load", "--lake", lake2, "--config", cfg, "-q"}, expireSources()...)...)
	if code != 0 || !strings.Contains(out, "retention: expired") {
		t.Fatalf("load: exit %d\n%s%s", code, out, errOut)
	}
	// A bad period is a usage error.
	if err := os.WriteFile(cfg, []byte("retention: {events: 400}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, append([]string{"load", "--lake", lake2, "--config", cfg, "-q"}, expireSources()...)...); code != 2 ||
		!strings.Contains(errOut, "retention.events") {
		t.Fatalf("bad retention: exit %d, %s", code, errOut)
	}
}

// TestExpireCrash kills an expiry at each step of its transaction, then
// re-runs it: the lake is in the state of one clean expiry (shell, Parquet
// folders, files on disk, catalog), with one published expiry load.
func TestExpireCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test")
	}
	args := func(lake string) []string {
		return []string{"expire", "--lake", lake, "--before", "2024-02-02"}
	}
	base := func(t *testing.T) string {
		lake := t.TempDir()
		if code, _, errOut := runCLI(t, append([]string{"load", "--lake", lake, "-q"}, expireSources()...)...); code != 0 {
			t.Fatalf("load: exit %d\n%s", code, errOut)
		}
		return lake
	}
	state := func(t *testing.T, lake string) string {
		t.Helper()
		onDisk, _ := filepath.Glob(filepath.Join(lake, "events", "*", "*", "*.parquet"))
		staging, _ := os.ReadDir(filepath.Join(lake, "_eventlake", "staging"))
		return fmt.Sprintf("%+v disk=%d staging=%d ", countExpire(t, lake), len(onDisk), len(staging)) +
			sqlValue(t, lake, "select (select count(*) from eventlake.files where table_name = 'events' and status = 'live') || '/' || "+
				"(select count(*) from eventlake.files where table_name = 'events' and status = 'removed') || '/' || "+
				"(select count(*) from eventlake.loads where command = 'expire' and status = 'published')")
	}
	clean := base(t)
	if code, _, errOut := runCLI(t, args(clean)...); code != 0 {
		t.Fatalf("expire: exit %d\n%s", code, errOut)
	}
	want := state(t, clean)
	for _, step := range []string{"after-begin", "before-commit", "after-commit", "before-manifest", "after-publish", "after-swap", "during-delete", "after-delete"} {
		t.Run(step, func(t *testing.T) {
			lake := base(t)
			cmd := exec.Command(os.Args[0], args(lake)...)
			cmd.Env = append(os.Environ(), "EVENTLAKE_TEST_CLI=1", "EVENTLAKE_CRASH_AT=expire-"+step)
			out, err := cmd.CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != -1 {
				t.Fatalf("expire at %s: want killed, got %v\n%s", step, err, out)
			}
			if code, _, errOut := runCLI(t, args(lake)...); code != 0 {
				t.Fatalf("re-run: exit %d\n%s", code, errOut)
			}
			if got := state(t, lake); got != want {
				t.Errorf("after a crash at expire-%s and a re-run:\n got %s\nwant %s", step, got, want)
			}
		})
	}
}
