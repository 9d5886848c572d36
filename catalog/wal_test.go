package catalog

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

// noWait returns a dedicated connection of db whose busy timeout is zero, so
// any lock conflict fails at once with SQLITE_BUSY instead of being waited
// out: the tests below prove there is no conflict, not that it is short.
func noWait(t *testing.T, db *sql.DB) *sql.Conn {
	t.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), `PRAGMA busy_timeout = 0`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func openPair(t *testing.T) (w, r *Catalog) {
	t.Helper()
	_, p := newLake(t)
	w, err := Open(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	r, err = Open(p, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return w, r
}

func TestReaderReadsDuringWriteTransaction(t *testing.T) {
	ctx := context.Background()
	w, r := openPair(t)
	begin(t, w, "L1", t0)

	// BEGIN EXCLUSIVE is the strongest lock a writer can take: without WAL it
	// would lock out every reader; in WAL mode it only excludes writers.
	wc := noWait(t, w.DB())
	if _, err := wc.ExecContext(ctx, `BEGIN EXCLUSIVE`); err != nil {
		t.Fatal(err)
	}
	defer wc.ExecContext(ctx, `ROLLBACK`)
	if _, err := wc.ExecContext(ctx, `INSERT INTO loads (load_id, started_at, status) VALUES ('L2', 1, 'running')`); err != nil {
		t.Fatal(err)
	}

	rc := noWait(t, r.DB())
	var n int
	if err := rc.QueryRowContext(ctx, `SELECT count(*) FROM loads`).Scan(&n); err != nil {
		t.Fatalf("reader during open write transaction: %v", err)
	}
	if n != 1 {
		t.Errorf("reader sees %d loads, want 1 (the uncommitted insert must be invisible)", n)
	}
	if _, err := r.Status(ctx); err != nil {
		t.Fatalf("Status during open write transaction: %v", err)
	}
	if _, err := r.Objects(ctx, src); err != nil {
		t.Fatalf("Objects during open write transaction: %v", err)
	}

	if _, err := wc.ExecContext(ctx, `COMMIT`); err != nil {
		t.Fatal(err)
	}
	if err := rc.QueryRowContext(ctx, `SELECT count(*) FROM loads`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("reader sees %d loads after commit, want 2", n)
	}
}

func TestWriterCommitsDuringLongReadTransaction(t *testing.T) {
	ctx := context.Background()
	w, r := openPair(t)
	begin(t, w, "L1", t0)

	rc := noWait(t, r.DB())
	rtx, err := rc.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rtx.Rollback()
	var n int
	// The first read fixes the reader's snapshot and holds a read lock.
	if err := rtx.QueryRowContext(ctx, `SELECT count(*) FROM objects`).Scan(&n); err != nil {
		t.Fatal(err)
	}

	wc := noWait(t, w.DB())
	wtx, err := wc.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("writer BEGIN during a read transaction: %v", err)
	}
	if _, err := wtx.ExecContext(ctx, `INSERT INTO loads (load_id, started_at, status) VALUES ('L2', 1, 'running')`); err != nil {
		t.Fatal(err)
	}
	if err := wtx.Commit(); err != nil {
		t.Fatalf("writer COMMIT during a read transaction: %v", err)
	}
	// The whole commit protocol through the API, too.
	commit(t, w, Commit{LoadID: "L1", FinishedAt: t0.Add(time.Minute),
		Objects: []ObjectRecord{{Source: src, Key: "k", Version: "1", Status: ObjectCommitted}}})
	if err := w.MarkPublished(ctx, "L1"); err != nil {
		t.Fatal(err)
	}

	if err := rtx.QueryRowContext(ctx, `SELECT count(*) FROM objects`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("reader's snapshot sees %d objects, want 0 (isolation)", n)
	}
	rtx.Rollback()
	m, err := r.Objects(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if m["k"].Status != "committed" {
		t.Errorf("after the read transaction ended, Objects = %+v, want k committed", m)
	}
}
