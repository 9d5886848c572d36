package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sqlLake(t *testing.T) string {
	t.Helper()
	lake := t.TempDir()
	if code, _, errOut := runCLI(t, "load", "--lake", lake, "-q", testdata("pismo"), testdata("subscriber")); code != 0 {
		t.Fatal(errOut)
	}
	return lake
}

func TestSQLCommand(t *testing.T) {
	lake := sqlLake(t)
	code, out, errOut := runCLI(t, "sql", "--lake", lake, "--format", "csv", "-c",
		"select org_id, count(*) as n from cards.card_blocked_1 group by all order by all; select count(*) as events from events")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "org_id,n\nTN-376a4170-3c93-4676-b294-ec0b4241c7ab,5\nTN-a1db4e4e-315f-4a67-9036-ecacd370b561,3\nevents\n19\n"
	if out != want {
		t.Errorf("csv output:\n%s\nwant:\n%s", out, want)
	}
	// A script file, JSON output.
	script := filepath.Join(t.TempDir(), "report.sql")
	if err := os.WriteFile(script, []byte("-- per domain\nselect domain, count(*) as n\nfrom events\ngroup by all\norder by all;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, "sql", "--lake", lake, "--format", "json", "-f", script)
	if code != 0 || !strings.Contains(out, `{"domain":"account","n":4}`) {
		t.Errorf("json from -f: exit %d\n%s\n%s", code, out, errOut)
	}
	// Parquet output to a file, read back through the shell.
	pq := filepath.Join(t.TempDir(), "out.parquet")
	if code, _, errOut := runCLI(t, "sql", "--lake", lake, "--format", "parquet", "--output", pq, "-c", "select * from events"); code != 0 {
		t.Fatalf("parquet: %s", errOut)
	}
	code, out, _ = runCLI(t, "sql", "--lake", lake, "--format", "csv", "-c", "select count(*) as n from '"+pq+"'")
	if code != 0 || out != "n\n19\n" {
		t.Errorf("parquet read back: %q", out)
	}
	// Errors: stderr, exit 1; usage: exit 2.
	code, _, errOut = runCLI(t, "sql", "--lake", lake, "-c", "select * from no_such_table")
	if code != 1 || !strings.Contains(errOut, "no_such_table") {
		t.Errorf("bad query: exit %d, stderr %q", code, errOut)
	}
	if code, _, _ := runCLI(t, "sql", "--lake", lake, "--format", "parquet", "-c", "select 1"); code != 2 {
		t.Errorf("parquet without --output: exit %d, want 2", code)
	}
	if code, _, _ := runCLI(t, "sql", "--lake", t.TempDir(), "-c", "select 1"); code != 1 {
		t.Errorf("lake without catalog: exit %d, want 1", code)
	}
}

func TestDDLCommand(t *testing.T) {
	lake := sqlLake(t)
	code, out, errOut := runCLI(t, "ddl", "--lake", lake, "--engine", "athena", "--location", "s3://b/lake/")
	if code != 0 {
		t.Fatal(errOut)
	}
	for _, want := range []string{"'projection.domain.values' = 'account,authorization,cards,dataplatform,onboarding'",
		"'projection.event_date.range' = '2019-07-20,NOW+1YEARS'", "LOCATION 's3://b/lake/events/'"} {
		if !strings.Contains(out, want) {
			t.Errorf("athena DDL lacks %s:\n%s", want, out)
		}
	}
	if code, _, _ := runCLI(t, "ddl", "--lake", lake, "--engine", "oracle", "--location", "s3://b/"); code != 2 {
		t.Errorf("unknown engine: exit %d, want 2", code)
	}
}

// TestShellFollowsLoads: a shell opened before a load sees the load's rows
// at its next statement (and never reads files a compaction removed).
func TestShellFollowsLoads(t *testing.T) {
	lake := sqlLake(t)
	ctx := t.Context()
	ls, err := openLake(ctx, lake, "", "", "", nil, nil, "", false)
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	count := func() string {
		if err := ls.refresh(ctx, ls.conn); err != nil {
			t.Fatal(err)
		}
		var n string
		if err := ls.conn.QueryRowContext(ctx, "select count(*)::varchar from events_raw").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != "22" {
		t.Fatalf("events_raw = %s, want 22", n)
	}
	if code, _, errOut := runCLI(t, "load", "--lake", lake, "-q", testdata("fulfillmenttools")); code != 0 {
		t.Fatal(errOut)
	}
	if n := count(); n != "32" {
		t.Errorf("after a load, events_raw = %s, want 32", n)
	}
	var objs string
	if err := ls.conn.QueryRowContext(ctx, "select count(*)::varchar from eventlake.objects").Scan(&objs); err != nil || objs != "8" {
		t.Errorf("eventlake.objects = %s (%v), want 8", objs, err)
	}
}

func TestMentionedSchemas(t *testing.T) {
	cases := []struct {
		script string
		want   map[string]bool // schema → created; nil: every schema
	}{
		{"select 1", map[string]bool{"cards": false, "account": false}},
		{"select * from cards.card_blocked_1", map[string]bool{"cards": true, "account": false}},
		{`select * from "Cards".x join account.y using (event_id)`, map[string]bool{"cards": true, "account": true}},
		{".tables", nil},
		{"select * from information_schema.tables", nil},
		{"SHOW ALL TABLES", nil},
	}
	for _, c := range cases {
		f := mentionedSchemas(c.script)
		if c.want == nil {
			if f != nil {
				t.Errorf("%q: want every schema", c.script)
			}
			continue
		}
		for schema, want := range c.want {
			if got := f(schema); got != want {
				t.Errorf("%q: schema %s created = %v, want %v", c.script, schema, got, want)
			}
		}
	}
	// End to end: a script naming one domain sees its typed view.
	lake := sqlLake(t)
	code, out, errOut := runCLI(t, "sql", "--lake", lake, "--format", "csv", "-c", "select count(*) as n from cards.card_blocked_1")
	if code != 0 || out != "n\n8\n" {
		t.Errorf("exit %d, %q, %s", code, out, errOut)
	}
}

// TestInteractiveViewsInBackground: the interactive shell makes its views in
// the background; statements and dot commands typed at once wait for them.
func TestInteractiveViewsInBackground(t *testing.T) {
	lake := sqlLake(t)
	for range 5 {
		var out, errOut bytes.Buffer
		in := strings.NewReader(".tables card%\nselect count(*) as n from cards.card_blocked_1;\nselect count(*) as e from events;\n")
		code := execute(context.Background(), []string{"sql", "--lake", lake, "--history", filepath.Join(t.TempDir(), "h")},
			streams{in: in, out: &out, errOut: &errOut})
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		for _, want := range []string{"cards.card_blocked_1", "cards.card_blocked_1_history", "│     8 │", "│    19 │"} {
			if !strings.Contains(out.String(), want) {
				t.Fatalf("output lacks %q:\n%s\n%s", want, out.String(), errOut.String())
			}
		}
	}
}
