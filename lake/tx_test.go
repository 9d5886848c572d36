package lake

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eventlake/eventlake/catalog"
)

func TestLayout(t *testing.T) {
	l := At("/data/lake")
	for got, want := range map[string]string{
		l.MetaDir():            "/data/lake/_eventlake",
		l.CatalogPath():        "/data/lake/_eventlake/catalog.db",
		l.LockPath():           "/data/lake/_eventlake/lock",
		l.StagingRoot():        "/data/lake/_eventlake/staging",
		l.StagingDir("L1"):     "/data/lake/_eventlake/staging/L1",
		l.QueryCachePath():     "/data/lake/_eventlake/query-cache.duckdb",
		l.TableDir("events"):   "/data/lake/events",
		l.TableDir("_rejects"): "/data/lake/_rejects",
		l.File("orders/d=1/part-L1-00000.parquet"): "/data/lake/orders/d=1/part-L1-00000.parquet",
	} {
		if got != filepath.FromSlash(want) {
			t.Errorf("got %s, want %s", got, want)
		}
	}
	if !IsMeta("_eventlake/catalog.db") || !IsMeta("_eventlake") || IsMeta("_rejects/x") || IsMeta("_eventlakes/x") {
		t.Error("IsMeta misjudges the metadata folder")
	}
}

func openWriter(t *testing.T, lake string) *Writer {
	t.Helper()
	w, _, err := OpenWriter(context.Background(), lake, "", 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// The one rule for a failed commit: if the failure cannot be recorded, the
// commit may have happened, so staging is left to recovery, which decides
// from the catalog.
func TestTxFailureNotRecordedLeavesStagingToRecovery(t *testing.T) {
	ctx := context.Background()
	lake := t.TempDir()
	w := openWriter(t, lake)
	tx, err := w.Begin(ctx, TxOptions{Command: "test", Hook: func(step string) {
		if step == "before-commit" {
			w.Catalog.Close() // the commit and the record of its failure both fail
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	staged := filepath.Join(tx.Stage().Root(), "part-x.parquet")
	if err := os.WriteFile(staged, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = tx.Commit(ctx, Changes{})
	if err == nil || !strings.Contains(err.Error(), "recording the failure also failed") {
		t.Fatalf("Commit with a closed catalog: %v; want it to say the failure was not recorded", err)
	}
	if _, err := os.Stat(staged); err != nil {
		t.Fatalf("staging removed although the failure was not recorded: %v", err)
	}
	w.Close()

	w = openWriter(t, lake)
	defer w.Close()
	if _, err := os.Stat(w.Layout.StagingDir(tx.ID())); !os.IsNotExist(err) {
		t.Errorf("recovery left the staging of load %s: %v", tx.ID(), err)
	}
	if s, _ := loadStatus(t, w.Catalog, tx.ID()); s != "aborted" {
		t.Errorf("load after recovery: %s, want aborted", s)
	}
}

// A recorded failure removes staging; a cancelled transaction is recorded as
// interrupted, with the cancel's cause, although its context is done.
func TestTxFailRecordsInterruption(t *testing.T) {
	lake := t.TempDir()
	w := openWriter(t, lake)
	defer w.Close()
	ctx, cancel := context.WithCancelCause(context.Background())
	tx, err := w.Begin(ctx, TxOptions{Command: "test", StartedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tx.ID(), "20240201T092039Z-") {
		t.Errorf("load ID %s is not made from the start time", tx.ID())
	}
	cancel(errors.New("shutting down"))
	err = tx.Fail(ctx, ctx.Err())
	if err == nil || err.Error() != "interrupted: shutting down" || !errors.Is(err, context.Canceled) {
		t.Fatalf("Fail: %v", err)
	}
	if s, e := loadStatus(t, w.Catalog, tx.ID()); s != "failed" || e != "interrupted: shutting down" {
		t.Errorf("load: %s %q", s, e)
	}
	if _, err := os.Stat(w.Layout.StagingDir(tx.ID())); !os.IsNotExist(err) {
		t.Errorf("staging of a recorded failure left behind: %v", err)
	}
	if err := tx.Commit(context.Background(), Changes{}); err == nil {
		t.Error("Commit after Fail succeeded")
	}
}

// Commit runs every step in order, publishes and cleans up.
func TestTxCommitSteps(t *testing.T) {
	ctx := context.Background()
	lake := t.TempDir()
	w := openWriter(t, lake)
	defer w.Close()
	var steps []string
	tx, err := w.Begin(ctx, TxOptions{Command: "test", Hook: func(s string) { steps = append(steps, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx, Changes{FinishedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	want := "after-begin before-commit after-commit before-manifest after-publish after-swap"
	if got := strings.Join(steps, " "); got != want {
		t.Errorf("steps %q, want %q", got, want)
	}
	if s, _ := loadStatus(t, w.Catalog, tx.ID()); s != "published" {
		t.Errorf("load %s, want published", s)
	}
	if _, err := os.Stat(w.Layout.StagingDir(tx.ID())); !os.IsNotExist(err) {
		t.Errorf("staging left behind: %v", err)
	}
}

func TestRecoverRefusesReadOnlyCatalog(t *testing.T) {
	lake := t.TempDir()
	w := openWriter(t, lake)
	defer w.Close()
	r, err := catalog.Open(w.Layout.CatalogPath(), catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := Recover(context.Background(), r, lake); err == nil {
		t.Fatal("Recover through a read-only catalog succeeded")
	}
}
