package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/laketest"
	"github.com/eventlake/eventlake/loader"
	"github.com/eventlake/eventlake/partitions"
	"github.com/eventlake/eventlake/sql/views"
)

// hostileDomains are domain values whose folder names differ from the
// value, or that break a comma list, a quoted literal, or a path: the cases
// of partitions/escape_test.go and the loader's partition tests.
var hostileDomains = []string{"account", "a/b", "x=y", "..", ".", "%2e%2e", "o'brien", "a,b", "conta_çã/日本", `back\slash`,
	`it's "x"`, "tab\tnl\n", "*?[]{}^#", " ", "", partitions.DefaultPartition, "😀"}

// writeEvents writes one NDJSON object of Pismo events.
func writeEvents(t *testing.T, path string, lines []string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func event(id, domain, ts, payload string) string {
	return fmt.Sprintf(`{"event_id":%s,"event_type":"thing_happened","domain":%s,"org_id":"TN-1","timestamp":%s,"data":{"v":%s}}`,
		strconv.Quote(id), strconv.Quote(domain), strconv.Quote(ts), strconv.Quote(payload))
}

// hostileLake loads two deliveries of events in hostile domains, on a normal
// date, a date years in the future and an outlier date in year 0001; the
// second delivery re-delivers half of the first with other data.
func hostileLake(t *testing.T) (lake string, future string) {
	t.Helper()
	lake, src := t.TempDir(), t.TempDir()
	futureTime := time.Now().UTC().AddDate(3, 0, 0)
	future = futureTime.Format("2006-01-02")
	var first, second []string
	for i, d := range hostileDomains {
		for j, ts := range []string{"2024-02-01T10:00:00Z", "2024-02-02T23:59:59.5+01:00"} {
			id := fmt.Sprintf("e-%d-%d", i, j)
			first = append(first, event(id, d, ts, "first"))
			if j == 0 {
				second = append(second, event(id, d, ts, "second"))
			}
		}
	}
	first = append(first, event("far-future", "account", futureTime.Format(time.RFC3339), "x"),
		event("year-1", "account", "0001-01-01T00:00:00Z", "x"), event("year-1", "a/b", "0001-01-01T00:00:00Z", "x"))
	writeEvents(t, filepath.Join(src, "one", "batch.ndjson"), first)
	if code, _, errOut := runCLI(t, "load", "--lake", lake, "--settle", "0", "-q", "--profile", "pismo", filepath.Join(src, "one")); code != 0 {
		t.Fatal(errOut)
	}
	writeEvents(t, filepath.Join(src, "two", "batch.ndjson"), second)
	if code, _, errOut := runCLI(t, "load", "--lake", lake, "--settle", "0", "-q", "--profile", "pismo", filepath.Join(src, "two")); code != 0 {
		t.Fatal(errOut)
	}
	return lake, future
}

// partitionFolders lists the partition folders of a table on disk,
// relative to the table's folder ("domain=a%2Fb/event_date=2024-02-01").
func partitionFolders(t *testing.T, dir string) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, f := range laketest.Files(t, dir) {
		seen[filepath.ToSlash(filepath.Dir(f))] = true
	}
	var out []string
	for f := range seen {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// ---- a reader of the printed DDL, written independently of the printer ----

type token struct {
	kind byte // 'w' word, 'i' quoted identifier, 's' string literal, 'p' punctuation
	text string
}

// lexHive splits DDL into tokens. String literals are Hive's: single
// quotes, backslash escapes (\\ \' \" \n \t \r \0 \uXXXX). Quoted
// identifiers use backticks or double quotes (doubled to escape).
func lexHive(t *testing.T, s string) [][]token {
	t.Helper()
	var stmts [][]token
	var cur []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '-' && strings.HasPrefix(s[i:], "--"):
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == ' ' || c == '\n' || c == '\t' || c == '\r':
			i++
		case c == ';':
			if len(cur) > 0 {
				stmts = append(stmts, cur)
			}
			cur = nil
			i++
		case c == '\'':
			var b strings.Builder
			i++
			for {
				if i >= len(s) {
					t.Fatalf("unterminated literal in DDL")
				}
				if s[i] == '\'' {
					i++
					break
				}
				if s[i] == '\n' {
					t.Fatalf("raw newline inside a literal: %q", b.String())
				}
				if s[i] != '\\' {
					b.WriteByte(s[i])
					i++
					continue
				}
				e := s[i+1]
				i += 2
				switch e {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				case 'r':
					b.WriteByte('\r')
				case '0':
					b.WriteByte(0)
				case 'u':
					n, err := strconv.ParseUint(s[i:i+4], 16, 32)
					if err != nil {
						t.Fatalf("bad \\u escape %q", s[i:i+4])
					}
					b.WriteRune(rune(n))
					i += 4
				case '\\', '\'', '"':
					b.WriteByte(e)
				default:
					t.Fatalf("unexpected escape \\%c", e)
				}
			}
			cur = append(cur, token{'s', b.String()})
		case c == '`' || c == '"':
			j := i + 1
			var b strings.Builder
			for ; ; j++ {
				if j >= len(s) {
					t.Fatalf("unterminated identifier")
				}
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c {
						b.WriteByte(c)
						j++
						continue
					}
					break
				}
				b.WriteByte(s[j])
			}
			cur = append(cur, token{'i', b.String()})
			i = j + 1
		case strings.IndexByte("(),=.", c) >= 0:
			cur = append(cur, token{'p', string(c)})
			i++
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \n\t\r;(),=.'`\"", s[j]) < 0 {
				j++
			}
			cur = append(cur, token{'w', s[i:j]})
			i = j
		}
	}
	if len(cur) > 0 {
		stmts = append(stmts, cur)
	}
	return stmts
}

// athenaPartition is one partition as Athena would resolve it: its values
// (nil for NULL) and the location it reads.
type athenaPartition struct {
	values   []*string
	location string
}

func (p athenaPartition) key() string {
	var parts []string
	for _, v := range p.values {
		if v == nil {
			parts = append(parts, "NULL")
		} else {
			parts = append(parts, strconv.Quote(*v))
		}
	}
	return strings.Join(parts, ",") + " @ " + p.location
}

// athenaTable is what the printed Athena DDL leaves in the metastore for
// one table.
type athenaTable struct {
	location   string
	partCols   []string
	props      map[string]string
	partitions []athenaPartition // explicit (metastore) partitions
}

func readAthena(t *testing.T, ddl string) map[string]*athenaTable {
	t.Helper()
	tables := map[string]*athenaTable{}
	words := func(ts []token, n int) string {
		var w []string
		for i := 0; i < n && i < len(ts); i++ {
			w = append(w, strings.ToUpper(ts[i].text))
		}
		return strings.Join(w, " ")
	}
	for _, st := range lexHive(t, ddl) {
		switch {
		case words(st, 5) == "CREATE EXTERNAL TABLE IF NOT":
			name := st[8].text // db . name
			tb := &athenaTable{props: map[string]string{}}
			tables[name] = tb
			for i := range st {
				if strings.EqualFold(st[i].text, "LOCATION") && st[i].kind == 'w' {
					tb.location = st[i+1].text
				}
				if strings.EqualFold(st[i].text, "PARTITIONED") && st[i].kind == 'w' {
					for j := i + 3; st[j].text != ")"; j += 3 {
						tb.partCols = append(tb.partCols, st[j].text)
						if st[j+2].text == ")" {
							break
						}
					}
				}
			}
		case words(st, 2) == "ALTER TABLE":
			tb := tables[st[4].text]
			if tb == nil {
				t.Fatalf("ALTER TABLE of %s before its CREATE", st[4].text)
			}
			rest := st[5:]
			switch {
			case words(rest, 2) == "SET TBLPROPERTIES":
				for i := 3; i+2 < len(rest); i += 4 {
					tb.props[rest[i].text] = rest[i+2].text
				}
			case words(rest, 4) == "ADD IF NOT EXISTS":
				for i := 4; i < len(rest); {
					if !strings.EqualFold(rest[i].text, "PARTITION") {
						t.Fatalf("unexpected %q in ADD PARTITION", rest[i].text)
					}
					i += 2
					p := athenaPartition{}
					for k := range tb.partCols {
						if rest[i].text != tb.partCols[k] || rest[i+2].kind != 's' {
							t.Fatalf("partition spec: %v", rest[i:i+3])
						}
						v := rest[i+2].text
						if v == partitions.DefaultPartition {
							p.values = append(p.values, nil) // Hive readers show NULL
						} else {
							p.values = append(p.values, &v)
						}
						i += 4 // name = 'v' , or )
					}
					if !strings.EqualFold(rest[i].text, "LOCATION") {
						t.Fatalf("partition without LOCATION")
					}
					p.location = rest[i+1].text
					i += 2
					tb.partitions = append(tb.partitions, p)
				}
			default:
				t.Fatalf("unexpected ALTER TABLE %v", rest[:2])
			}
		}
	}
	return tables
}

// resolve lists the partitions Athena reads: the projection's (enum × date
// range × template) when it is enabled (metastore partitions are then
// ignored), otherwise the metastore's.
func (tb *athenaTable) resolve(t *testing.T, now time.Time) []athenaPartition {
	t.Helper()
	if !strings.EqualFold(tb.props["projection.enabled"], "true") {
		return tb.partitions
	}
	out := []athenaPartition{{location: tb.props["storage.location.template"]}}
	for _, col := range tb.partCols {
		var values []string
		switch typ := tb.props["projection."+col+".type"]; typ {
		case "enum":
			values = strings.Split(tb.props["projection."+col+".values"], ",")
		case "date":
			if f := tb.props["projection."+col+".format"]; f != "yyyy-MM-dd" {
				t.Fatalf("date format %q", f)
			}
			if tb.props["projection."+col+".interval"] != "1" || tb.props["projection."+col+".interval.unit"] != "DAYS" {
				t.Fatalf("interval of %s", col)
			}
			lo, hi, _ := strings.Cut(tb.props["projection."+col+".range"], ",")
			from, to := athenaDate(t, lo, now), athenaDate(t, hi, now)
			if to.Sub(from) > 40*366*24*time.Hour {
				t.Fatalf("projection range %s spans %d days", tb.props["projection."+col+".range"], int(to.Sub(from).Hours()/24))
			}
			for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
				values = append(values, d.Format("2006-01-02"))
			}
		default:
			t.Fatalf("projection type %q of %s", typ, col)
		}
		var next []athenaPartition
		for _, p := range out {
			for _, v := range values {
				v := v
				next = append(next, athenaPartition{values: append(append([]*string(nil), p.values...), &v),
					location: strings.ReplaceAll(p.location, "${"+col+"}", v)})
			}
		}
		out = next
	}
	return out
}

// athenaDate evaluates a date projection bound: yyyy-MM-dd, NOW, or
// NOW±N(YEARS|MONTHS|WEEKS|DAYS).
func athenaDate(t *testing.T, s string, now time.Time) time.Time {
	t.Helper()
	today := now.UTC().Truncate(24 * time.Hour)
	if rest, ok := strings.CutPrefix(s, "NOW"); ok {
		if rest == "" {
			return today
		}
		sign := 1
		if rest[0] == '-' {
			sign = -1
		}
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		n, err := strconv.Atoi(rest[1:i])
		if err != nil {
			t.Fatalf("date bound %q", s)
		}
		n *= sign
		switch rest[i:] {
		case "YEARS":
			return today.AddDate(n, 0, 0)
		case "MONTHS":
			return today.AddDate(0, n, 0)
		case "WEEKS":
			return today.AddDate(0, 0, 7*n)
		case "DAYS":
			return today.AddDate(0, 0, n)
		}
		t.Fatalf("date bound %q", s)
	}
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		t.Fatalf("date bound %q: %v", s, err)
	}
	return d
}

// checkReach: every partition folder of the table is read by Athena at its
// exact location, with the partition values the shell shows; with explicit
// partitions nothing else is listed.
func checkReach(t *testing.T, tb *athenaTable, folders []string, skip map[string]bool, now time.Time) {
	t.Helper()
	got := map[string]bool{}
	for _, p := range tb.resolve(t, now) {
		got[p.key()] = true
	}
	want := map[string]bool{}
	for _, f := range folders {
		if skip[f] {
			continue
		}
		p := athenaPartition{location: tb.location + f + "/"}
		for _, kv := range strings.Split(f, "/") {
			_, v, _ := strings.Cut(kv, "=")
			if v == partitions.DefaultPartition {
				p.values = append(p.values, nil)
				continue
			}
			raw, err := partitions.Unescape(v)
			if err != nil {
				t.Fatal(err)
			}
			p.values = append(p.values, &raw)
		}
		want[p.key()] = true
		if !got[p.key()] {
			t.Errorf("folder %s is not reached as %s", f, p.key())
		}
	}
	if !strings.EqualFold(tb.props["projection.enabled"], "true") {
		for k := range got {
			if !want[k] {
				t.Errorf("partition %s has no folder", k)
			}
		}
	}
}

func TestDDLAthenaReachesEveryPartition(t *testing.T) {
	lake, future := hostileLake(t)
	code, out, errOut := runCLI(t, "ddl", "--lake", lake, "--engine", "athena", "--location", "s3://b/lake/")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"event_date=" + future, "event_date=0001-01-01", partitions.DefaultPartition} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr does not name %s:\n%s", want, errOut)
		}
	}
	tables := readAthena(t, out)
	tb := tables["events_raw"]
	if tb == nil || tb.location != "s3://b/lake/events/" {
		t.Fatalf("no events_raw table at s3://b/lake/events/:\n%s", out)
	}
	folders := partitionFolders(t, filepath.Join(lake, "events"))
	if len(folders) < 2*len(hostileDomains)+3 {
		t.Fatalf("only %d folders: %v", len(folders), folders)
	}
	// The literal value __HIVE_DEFAULT_PARTITION__ reads as NULL in every
	// Hive-based engine: it cannot be a partition of its own (stderr says so).
	skip := map[string]bool{}
	for _, f := range folders {
		if strings.HasPrefix(f, "domain=%5F_HIVE_DEFAULT_PARTITION__/") {
			skip[f] = true
		}
	}
	checkReach(t, tb, folders, skip, time.Now())
	if rj := tables["rejects"]; rj == nil {
		t.Errorf("no rejects table:\n%s", out)
	}
	// Every literal is one line: nothing a value holds can end it.
	for _, l := range strings.Split(out, "\n") {
		if !utf8.ValidString(l) {
			t.Errorf("invalid UTF-8 line %q", l)
		}
	}
}

// TestDDLAthenaProjection: on a lake whose domains are all plain words and
// whose dates are recent, the projection reaches every folder with no
// statement to re-run for new dates.
func TestDDLAthenaProjection(t *testing.T) {
	lake := sqlLake(t)
	if code, _, errOut := runCLI(t, "load", "--lake", lake, "-q", "--profile", "jwo-orders", testdata("jwo")); code != 0 {
		t.Fatal(errOut)
	}
	code, out, errOut := runCLI(t, "ddl", "--lake", lake, "--engine", "athena", "--location", "s3://b/lake")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	tables := readAthena(t, out)
	for name, dir := range map[string]string{"events_raw": "events", "orders_raw": "orders", "rejects": "_rejects"} {
		tb := tables[name]
		if tb == nil {
			t.Fatalf("no %s table:\n%s", name, out)
		}
		if tb.props["projection.enabled"] != "true" {
			t.Errorf("%s: no projection on a projection-safe lake:\n%s", name, out)
		}
		checkReach(t, tb, partitionFolders(t, filepath.Join(lake, dir)), nil, time.Now())
		// A day loaded next year is still reached without re-running.
		next := time.Now().UTC().AddDate(0, 11, 0).Format("2006-01-02")
		found := false
		for _, p := range tb.resolve(t, time.Now()) {
			found = found || strings.HasSuffix(p.location, "="+next+"/")
		}
		if !found {
			t.Errorf("%s: %s is outside the projection", name, next)
		}
	}
}

func TestDDLNeedsLake(t *testing.T) {
	code, out, errOut := runCLI(t, "ddl", "--engine", "athena", "--location", "s3://b/p/")
	if code != 2 || out != "" || !strings.Contains(errOut, "--lake") {
		t.Errorf("athena without --lake: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// ---- the views: the printed SELECTs, run in DuckDB, give the shell's rows ----

// viewBodies returns the SELECT of each CREATE OR REPLACE VIEW statement of
// the Trino DDL, by view name.
func viewBodies(t *testing.T, ddl string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, st := range strings.Split(ddl, ";\n") {
		var body []string
		for _, l := range strings.Split(st, "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), "--") {
				body = append(body, l)
			}
		}
		s := strings.TrimSpace(strings.Join(body, "\n"))
		head, sel, ok := strings.Cut(s, " AS\n")
		if !ok || !strings.HasPrefix(head, "CREATE OR REPLACE VIEW ") {
			continue
		}
		name := head[strings.LastIndex(head, ".")+1:]
		out[strings.Trim(name, `"`)] = sel
	}
	return out
}

func shellDB(t *testing.T, lake string) *sql.DB {
	t.Helper()
	cat, err := catalog.Open(loader.CatalogPath(lake), catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	db := laketest.DuckDB(t)
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := views.Create(context.Background(), conn, views.Options{Lake: lake, Catalog: cat}); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestDDLViewsMatchShell runs the Trino views' SELECTs in DuckDB with two
// documented textual substitutions — each table reference becomes the
// folder it names (read_parquet with Hive partitioning, as the engines read
// it) and Trino's type name "timestamp(6) with time zone" becomes DuckDB's
// "timestamptz" — and compares them row for row with the shell's views.
func TestDDLViewsMatchShell(t *testing.T) {
	lake, _ := hostileLake(t)
	if code, _, errOut := runCLI(t, "load", "--lake", lake, "-q", "--profile", "jwo-orders", testdata("jwo")); code != 0 {
		t.Fatal(errOut)
	}
	code, out, errOut := runCLI(t, "ddl", "--lake", lake, "--engine", "trino", "--location", "s3://b/lake/")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	bodies := viewBodies(t, out)
	db := shellDB(t, lake)
	read := func(dir, glob, types string) string {
		return fmt.Sprintf("read_parquet('%s', hive_partitioning = true, union_by_name = true, hive_types = {%s})",
			filepath.ToSlash(filepath.Join(lake, dir))+glob, types)
	}
	tables := strings.NewReplacer(
		`hive."eventlake"."events_raw"`, read("events", "/*/*/*.parquet", "'domain': VARCHAR, 'event_date': DATE"),
		`hive."eventlake"."orders_raw"`, read("orders", "/*/*.parquet", "'report_date': DATE"),
		"timestamp(6) with time zone", "timestamptz",
	)
	subst := strings.NewReplacer(`hive."eventlake"."orders_history"`, "("+tables.Replace(bodies["orders_history"])+")")
	for _, v := range []string{"events", "orders", "orders_history"} {
		body, ok := bodies[v]
		if !ok {
			t.Errorf("no view %s in:\n%s", v, out)
			continue
		}
		want := laketest.Rows(t, db, "select * from main."+v+" order by all")
		body = tables.Replace(subst.Replace(body))
		got := laketest.Rows(t, db, "select * from ("+body+") order by all")
		if len(want) == 0 {
			t.Fatalf("shell's %s is empty", v)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: printed view gives %d rows, the shell %d:\n%s\nwant:\n%s", v, len(got), len(want), laketest.Table(got), laketest.Table(want))
		}
		wantCols := laketest.Rows(t, db, "select column_name from (describe main."+v+")")
		gotCols := laketest.Rows(t, db, "select column_name from (describe "+body+")")
		if !reflect.DeepEqual(gotCols, wantCols) {
			t.Errorf("%s columns %v, want %v", v, gotCols, wantCols)
		}
	}
	raw := laketest.One(t, db, "select count(*) from main.events_raw")
	dedup := laketest.One(t, db, "select count(*) from main.events")
	if raw == dedup {
		t.Errorf("the lake has no re-deliveries (%s rows)", raw)
	}
}
