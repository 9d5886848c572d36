package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

const src = "s3://vendor/main_stream"

func TestCommitObjectsFindContentRoundTrip(t *testing.T) {
	c, _ := openWriterCat(t)
	ctx := context.Background()
	begin(t, c, "L1", t0)
	cm := Commit{
		LoadID:     "L1",
		FinishedAt: t0.Add(time.Minute),
		Files: []FileRecord{
			{Path: "events/domain=account/event_date=2024-02-01/part-L1-00000.parquet", Table: "events", Partition: "domain=account/event_date=2024-02-01", Rows: 10, Bytes: 1000, MinTime: 1, MaxTime: 2},
			{Path: "events/domain=card/event_date=2024-02-01/part-L1-00001.parquet", Table: "events", Partition: "domain=card/event_date=2024-02-01", Rows: 5, Bytes: 500, MinTime: 3, MaxTime: 4},
		},
		Objects: []ObjectRecord{
			{Source: src, Key: "2024/02/01/09/a", Version: "etag-a", Size: 100, ModTime: t0, ContentHash: "ha", Status: ObjectCommitted, Profile: "pismo", Compression: "none", Shape: "concat", Records: 15},
			{Source: src, Key: "2024/02/01/09/b", Version: "etag-b", Size: 20, ContentHash: "hb", Status: ObjectQuarantined, Rejects: 3, Error: "no valid record"},
			{Source: src, Key: "2024/02/01/09/c", Version: "etag-c", ContentHash: "ha", Status: ObjectDuplicate, DuplicateOf: src + "/2024/02/01/09/a"},
			{Source: src, Key: "2024/02/01/09/d", Version: "etag-d", Status: ObjectFailed, Error: "read: connection reset", RetryAt: t0.Add(2 * time.Minute)},
			{Source: "gs://other", Key: "x", Version: "1", ContentHash: "hx", Status: ObjectCommitted},
		},
		Records: 15, Rejects: 3, Bytes: 1500,
	}
	commit(t, c, cm)

	got, err := c.Objects(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]ObjectState{
		"2024/02/01/09/a": {Version: "etag-a", Status: "committed", ContentHash: "ha", LoadID: "L1", Attempts: 1, Size: 100},
		"2024/02/01/09/b": {Version: "etag-b", Status: "quarantined", ContentHash: "hb", LoadID: "L1", Attempts: 1, Error: "no valid record", Size: 20},
		"2024/02/01/09/c": {Version: "etag-c", Status: "duplicate", ContentHash: "ha", LoadID: "L1", Attempts: 1},
		"2024/02/01/09/d": {Version: "etag-d", Status: "failed", LoadID: "L1", Attempts: 1, Error: "read: connection reset", RetryAt: t0.Add(2 * time.Minute).UTC()},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Objects(%s) =\n%+v\nwant\n%+v", src, got, want)
	}

	for _, tc := range []struct {
		hash, wantSource, wantKey string
		wantOK                    bool
	}{
		{"ha", src, "2024/02/01/09/a", true}, // the committed original, not the duplicate
		{"hx", "gs://other", "x", true},
		{"hb", "", "", false}, // quarantined content is not "loaded"
		{"nope", "", "", false},
		{"", "", "", false},
	} {
		s, k, ok, err := c.FindContent(ctx, tc.hash)
		if err != nil {
			t.Fatal(err)
		}
		if s != tc.wantSource || k != tc.wantKey || ok != tc.wantOK {
			t.Errorf("FindContent(%q) = %q, %q, %v; want %q, %q, %v", tc.hash, s, k, ok, tc.wantSource, tc.wantKey, tc.wantOK)
		}
	}

	var status string
	var finished, objects, records, rejects, bytes, files int64
	if err := c.DB().QueryRow(`SELECT status, finished_at, objects, records, rejects, bytes, files FROM loads WHERE load_id = 'L1'`).
		Scan(&status, &finished, &objects, &records, &rejects, &bytes, &files); err != nil {
		t.Fatal(err)
	}
	if status != "committed" || finished != t0.Add(time.Minute).UnixMicro() || objects != 5 || records != 15 || rejects != 3 || bytes != 1500 || files != 2 {
		t.Errorf("loads row = %s %d %d %d %d %d %d", status, finished, objects, records, rejects, bytes, files)
	}
	var dupOf, mtime any
	if err := c.DB().QueryRow(`SELECT duplicate_of, mtime FROM objects WHERE "key" = '2024/02/01/09/c'`).Scan(&dupOf, &mtime); err != nil {
		t.Fatal(err)
	}
	if dupOf != src+"/2024/02/01/09/a" || mtime != nil {
		t.Errorf("duplicate row: duplicate_of %v, mtime %v; want %s, NULL", dupOf, mtime, src+"/2024/02/01/09/a")
	}

	// Files of a committed load are not listed until it is published.
	if fs, err := c.LiveFiles(ctx, ""); err != nil || len(fs) != 0 {
		t.Fatalf("LiveFiles before publish = %v, %v; want none", fs, err)
	}
	if err := c.MarkPublished(ctx, "L1"); err != nil {
		t.Fatal(err)
	}
	if err := c.MarkPublished(ctx, "L1"); err != nil {
		t.Fatalf("MarkPublished twice: %v", err)
	}
	fs, err := c.LiveFiles(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fs, cm.Files) {
		t.Errorf("LiveFiles(events) = %+v, want %+v", fs, cm.Files)
	}
	if fs, err := c.LiveFiles(ctx, "orders"); err != nil || len(fs) != 0 {
		t.Errorf("LiveFiles(orders) = %v, %v; want none", fs, err)
	}
}

func TestFailedAttemptsAndVersions(t *testing.T) {
	c, _ := openWriterCat(t)
	ctx := context.Background()
	key := "2024/02/01/10/x"
	state := func() ObjectState {
		t.Helper()
		m, err := c.Objects(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		return m[key]
	}
	step := func(load string, at time.Time, o ObjectRecord) {
		t.Helper()
		o.Source, o.Key = src, key
		begin(t, c, load, at)
		commit(t, c, Commit{LoadID: load, FinishedAt: at.Add(time.Second), Objects: []ObjectRecord{o}})
		if err := c.MarkPublished(ctx, load); err != nil {
			t.Fatal(err)
		}
	}

	// Failed objects are recorded although no file was written; attempts count up.
	step("L1", t0, ObjectRecord{Version: "v1", Status: ObjectFailed, Error: "timeout"})
	if got, want := state(), (ObjectState{Version: "v1", Status: "failed", LoadID: "L1", Attempts: 1, Error: "timeout"}); got != want {
		t.Fatalf("after 1st failure: %+v, want %+v", got, want)
	}
	step("L2", t0.Add(time.Hour), ObjectRecord{Version: "v1", Status: ObjectFailed, Error: "gzip: invalid header"})
	if got, want := state(), (ObjectState{Version: "v1", Status: "failed", LoadID: "L2", Attempts: 2, Error: "gzip: invalid header"}); got != want {
		t.Fatalf("after 2nd failure: %+v, want %+v", got, want)
	}
	step("L3", t0.Add(2*time.Hour), ObjectRecord{Version: "v1", Status: ObjectCommitted, ContentHash: "h1"})
	if got, want := state(), (ObjectState{Version: "v1", Status: "committed", ContentHash: "h1", LoadID: "L3", Attempts: 3}); got != want {
		t.Fatalf("after success: %+v, want %+v", got, want)
	}
	// A failure reported for an already committed version must not demote it.
	step("L4", t0.Add(3*time.Hour), ObjectRecord{Version: "v1", Status: ObjectFailed, Error: "late failure"})
	if got, want := state(), (ObjectState{Version: "v1", Status: "committed", ContentHash: "h1", LoadID: "L3", Attempts: 3}); got != want {
		t.Fatalf("after failure of committed version: %+v, want %+v", got, want)
	}

	// A changed version is a new row; the newest committed one wins.
	step("L5", t0.Add(4*time.Hour), ObjectRecord{Version: "v2", Status: ObjectCommitted, ContentHash: "h2"})
	if got, want := state(), (ObjectState{Version: "v2", Status: "committed", ContentHash: "h2", LoadID: "L5", Attempts: 1}); got != want {
		t.Fatalf("after new version: %+v, want %+v", got, want)
	}
	var n int
	if err := c.DB().QueryRow(`SELECT count(*) FROM objects WHERE source = ? AND "key" = ?`, src, key).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("rows for %s = %d, want 2 (one per version)", key, n)
	}
	// A failing newer version does not hide the committed one from Objects...
	step("L6", t0.Add(5*time.Hour), ObjectRecord{Version: "v3", Status: ObjectFailed, Error: "boom"})
	if got := state(); got.Version != "v2" || got.Status != "committed" {
		t.Fatalf("after failed v3: %+v, want committed v2", got)
	}
	// ...but Status reports it as the object's latest outcome.
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Failed) != 1 || st.Failed[0].Version != "v3" || st.Failed[0].Error != "boom" || st.Objects["failed"] != 1 {
		t.Errorf("Status failed = %+v, objects %v; want v3 boom", st.Failed, st.Objects)
	}
}

func TestCommitIsAtomicAndChecked(t *testing.T) {
	c, _ := openWriterCat(t)
	ctx := context.Background()
	file := FileRecord{Path: "events/domain=a/event_date=2024-02-01/part-L1-00000.parquet", Table: "events", Partition: "domain=a/event_date=2024-02-01", Rows: 1}
	begin(t, c, "L1", t0)
	commit(t, c, Commit{LoadID: "L1", Files: []FileRecord{file}})

	begin(t, c, "L2", t0.Add(time.Hour))
	// The second file collides with L1's: nothing of L2 may be stored.
	err := c.Commit(ctx, Commit{LoadID: "L2",
		Files:   []FileRecord{{Path: "events/x/part-L2-0.parquet", Table: "events", Partition: "x"}, file},
		Objects: []ObjectRecord{{Source: src, Key: "k", Version: "1", Status: ObjectCommitted}},
	})
	if err == nil || !strings.Contains(err.Error(), file.Path) || !strings.Contains(err.Error(), "load L1") {
		t.Fatalf("colliding Commit: err = %v, want one naming %s and load L1", err, file.Path)
	}
	var files, objects int
	c.DB().QueryRow(`SELECT count(*) FROM files WHERE load_id = 'L2'`).Scan(&files)
	c.DB().QueryRow(`SELECT count(*) FROM objects WHERE load_id = 'L2'`).Scan(&objects)
	if files != 0 || objects != 0 {
		t.Errorf("failed Commit left %d files and %d objects", files, objects)
	}
	if s, _ := loadStatus(t, c, "L2"); s != "running" {
		t.Errorf("after failed Commit load L2 is %s, want running", s)
	}

	bad := []struct {
		name string
		cm   Commit
		want string
	}{
		{"unknown load", Commit{LoadID: "nope"}, "no such load"},
		{"committed load", Commit{LoadID: "L1"}, "load is committed, not running"},
		{"bad status", Commit{LoadID: "L2", Objects: []ObjectRecord{{Source: src, Key: "k", Version: "1", Status: "done"}}}, `invalid status "done"`},
		{"absolute path", Commit{LoadID: "L2", Files: []FileRecord{{Path: "/etc/passwd", Table: "t"}}}, "must be relative"},
		{"dotdot path", Commit{LoadID: "L2", Files: []FileRecord{{Path: "events/../../x", Table: "t"}}}, "stay inside the lake"},
		{"meta path", Commit{LoadID: "L2", Files: []FileRecord{{Path: "_eventlake/catalog.db", Table: "t"}}}, "_eventlake"},
		{"bad schema source", Commit{LoadID: "L2", Schemas: []SchemaRecord{{Table: "t", Key: "k", JSON: "{}", Source: "guess"}}}, "invalid source"},
		{"bad schema json", Commit{LoadID: "L2", Schemas: []SchemaRecord{{Table: "t", Key: "k", JSON: "{", Source: "inferred"}}}, "not valid"},
	}
	for _, tc := range bad {
		err := c.Commit(ctx, tc.cm)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "load "+tc.cm.LoadID) {
			t.Errorf("%s: Commit err = %v, want it to contain %q and name the load", tc.name, err, tc.want)
		}
	}
}

func TestBeginMarkFailLoad(t *testing.T) {
	c, _ := openWriterCat(t)
	ctx := context.Background()
	begin(t, c, "L1", t0)
	if err := c.BeginLoad(ctx, LoadInfo{ID: "L1"}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("duplicate BeginLoad: %v, want 'already exists'", err)
	}
	for _, id := range []string{"", "a/b", "..", `a\b`} {
		if err := c.BeginLoad(ctx, LoadInfo{ID: id}); err == nil {
			t.Errorf("BeginLoad(%q) succeeded", id)
		}
	}
	var sources string
	var started, pid int64
	if err := c.DB().QueryRow(`SELECT sources, started_at, pid FROM loads WHERE load_id = 'L1'`).Scan(&sources, &started, &pid); err != nil {
		t.Fatal(err)
	}
	if sources != `["s3://bucket/prefix"]` || started != t0.UnixMicro() || pid != 42 {
		t.Errorf("loads row: sources %s started %d pid %d", sources, started, pid)
	}

	if err := c.MarkPublished(ctx, "L1"); err == nil {
		t.Error("MarkPublished of a running load succeeded")
	}
	if err := c.FailLoad(ctx, "L1", errors.New("write staging: no space left on device")); err != nil {
		t.Fatal(err)
	}
	if s, e := loadStatus(t, c, "L1"); s != "failed" || e != "write staging: no space left on device" {
		t.Errorf("after FailLoad: %s %q", s, e)
	}
	if err := c.FailLoad(ctx, "L1", errors.New("again")); err == nil || !strings.Contains(err.Error(), "load is failed") {
		t.Errorf("FailLoad of a failed load: %v", err)
	}
	if err := c.Commit(ctx, Commit{LoadID: "L1"}); err == nil {
		t.Error("Commit of a failed load succeeded")
	}
	if err := c.FailLoad(ctx, "missing", nil); err == nil || !strings.Contains(err.Error(), "no such load") {
		t.Errorf("FailLoad of unknown load: %v", err)
	}
}

func TestSchemasAndChanges(t *testing.T) {
	c, _ := openWriterCat(t)
	ctx := context.Background()
	s1 := SchemaRecord{Table: "events", Key: "account/customer-creation-1", JSON: `{"a":"string"}`, Source: "inferred", ChangedByObject: src + "/o1"}
	s2 := SchemaRecord{Table: "orders", Key: "order", JSON: `{"id":"string"}`, Source: "jsonschema"}
	begin(t, c, "L1", t0)
	commit(t, c, Commit{LoadID: "L1", Schemas: []SchemaRecord{s1, s2}})
	begin(t, c, "L2", t0.Add(time.Hour))
	commit(t, c, Commit{LoadID: "L2", Schemas: []SchemaRecord{s1}}) // unchanged
	s1b := s1
	s1b.JSON, s1b.ChangedByObject = `{"a":"string","b":"int64"}`, src+"/o7"
	begin(t, c, "L3", t0.Add(2*time.Hour))
	commit(t, c, Commit{LoadID: "L3", Schemas: []SchemaRecord{s1b}})

	all, err := c.Schemas(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := []SchemaRecord{s1b, s2}; !reflect.DeepEqual(all, want) {
		t.Errorf("Schemas(\"\") = %+v, want %+v", all, want)
	}
	ev, err := c.Schemas(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if want := []SchemaRecord{s2}; !reflect.DeepEqual(ev, want) {
		t.Errorf("Schemas(orders) = %+v, want %+v", ev, want)
	}

	rows, err := c.DB().Query(`SELECT load_id, COALESCE(old_json, 'NULL'), new_json FROM schema_changes WHERE table_name = 'events' ORDER BY at`)
	if err != nil {
		t.Fatal(err)
	}
	var changes []string
	for rows.Next() {
		var l, o, n string
		rows.Scan(&l, &o, &n)
		changes = append(changes, l+" "+o+" -> "+n)
	}
	rows.Close()
	want := []string{`L1 NULL -> {"a":"string"}`, `L3 {"a":"string"} -> {"a":"string","b":"int64"}`}
	if !reflect.DeepEqual(changes, want) {
		t.Errorf("schema_changes = %q, want %q", changes, want)
	}
	var updated string
	c.DB().QueryRow(`SELECT updated_load FROM schemas WHERE table_name = 'events'`).Scan(&updated)
	if updated != "L3" {
		t.Errorf("updated_load = %s, want L3", updated)
	}
}

func TestStatus(t *testing.T) {
	c, _ := openWriterCat(t)
	ctx := context.Background()

	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Loads != 0 || st.LastLoad != nil || len(st.Objects) != 0 {
		t.Errorf("empty Status = %+v", st)
	}

	begin(t, c, "L1", t0)
	commit(t, c, Commit{LoadID: "L1", FinishedAt: t0.Add(time.Minute), Rejects: 2,
		Files: []FileRecord{
			{Path: "events/domain=a/event_date=2024-02-01/p1.parquet", Table: "events", Partition: "domain=a/event_date=2024-02-01", Rows: 10, Bytes: 100},
			{Path: "events/domain=a/event_date=2024-02-01/p2.parquet", Table: "events", Partition: "domain=a/event_date=2024-02-01", Rows: 5, Bytes: 50},
			{Path: "events/domain=b/event_date=2024-02-01/p3.parquet", Table: "events", Partition: "domain=b/event_date=2024-02-01", Rows: 1, Bytes: 10},
			{Path: "orders/order_date=2024-02-01/p4.parquet", Table: "orders", Partition: "order_date=2024-02-01", Rows: 7, Bytes: 70},
		},
		Objects: []ObjectRecord{
			{Source: src, Key: "a", Version: "1", Status: ObjectCommitted, LenientQuotes: 3},
			{Source: src, Key: "b", Version: "1", Status: ObjectCommitted, LenientQuotes: 1},
			{Source: src, Key: "c", Version: "1", Status: ObjectQuarantined},
			{Source: src, Key: "d", Version: "1", Status: ObjectFailed, Error: "boom"},
		}})
	c.MarkPublished(ctx, "L1")
	begin(t, c, "L2", t0.Add(time.Hour))
	if err := c.FailLoad(ctx, "L2", errors.New("disk full")); err != nil {
		t.Fatal(err)
	}

	st, err = c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int64{"committed": 2, "quarantined": 1, "failed": 1}; !reflect.DeepEqual(st.Objects, want) {
		t.Errorf("Objects = %v, want %v", st.Objects, want)
	}
	if st.Loads != 2 || st.Files != 4 || st.Rows != 23 || st.Bytes != 230 || st.Rejects != 2 || st.LenientQuotes != 4 {
		t.Errorf("totals: loads %d files %d rows %d bytes %d rejects %d lenient quotes %d", st.Loads, st.Files, st.Rows, st.Bytes, st.Rejects, st.LenientQuotes)
	}
	var lenient int64
	if err := c.DB().QueryRow(`SELECT lenient_quotes FROM objects WHERE "key" = 'a'`).Scan(&lenient); err != nil || lenient != 3 {
		t.Errorf("objects.lenient_quotes of a: %d, %v", lenient, err)
	}
	if st.LastLoad == nil || st.LastLoad.ID != "L2" || st.LastLoad.Status != "failed" || st.LastLoad.Error != "disk full" ||
		!st.LastLoad.StartedAt.Equal(t0.Add(time.Hour)) || !reflect.DeepEqual(st.LastLoad.Sources, []string{"s3://bucket/prefix"}) {
		t.Errorf("LastLoad = %+v", st.LastLoad)
	}
	wantFailed := []FailedObject{{Source: src, Key: "d", Version: "1", Attempts: 1, Error: "boom", LastAttempt: t0.Add(time.Minute), LoadID: "L1"}}
	if !reflect.DeepEqual(st.Failed, wantFailed) {
		t.Errorf("Failed = %+v, want %+v", st.Failed, wantFailed)
	}
	wantTables := []TableSummary{{Table: "events", Partitions: 2, Files: 3, Rows: 16, Bytes: 160}, {Table: "orders", Partitions: 1, Files: 1, Rows: 7, Bytes: 70}}
	if !reflect.DeepEqual(st.Tables, wantTables) {
		t.Errorf("Tables = %+v, want %+v", st.Tables, wantTables)
	}

	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"objects", "loads", "last_load", "files", "rows", "bytes", "rejects", "lenient_quotes", "failed", "tables"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON %s lacks key %q", b, k)
		}
	}
	if !strings.Contains(string(b), `"load_id":"L2"`) || !strings.Contains(string(b), `"last_attempt":"2024-02-01T09:21:39.411067Z"`) {
		t.Errorf("JSON %s lacks snake_case load fields", b)
	}
}

func TestFailedListIsBounded(t *testing.T) {
	c, _ := openWriterCat(t)
	begin(t, c, "L1", t0)
	var objs []ObjectRecord
	for i := range 30 {
		objs = append(objs, ObjectRecord{Source: src, Key: fmt.Sprintf("k%02d", i), Version: "1", Status: ObjectFailed, Error: "x"})
	}
	commit(t, c, Commit{LoadID: "L1", Objects: objs})
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Failed) != 20 || st.Objects["failed"] != 30 {
		t.Errorf("Failed has %d entries (want 20), objects[failed] = %d (want 30)", len(st.Failed), st.Objects["failed"])
	}
}
