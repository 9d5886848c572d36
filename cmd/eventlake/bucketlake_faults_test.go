package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/eventlake/eventlake/internal/testservers"
	lk "github.com/eventlake/eventlake/lake"
)

// faultyS3Lake returns the URL of a new lake in a fake S3 whose writes
// follow plan (keyed by key prefix under the lake: "_eventlake/log/" …).
func faultyS3Lake(t *testing.T, plan map[string][]testservers.Fault) (string, *testservers.S3Faults) {
	t.Helper()
	full := map[string][]testservers.Fault{}
	for k, v := range plan {
		full["lakes/prod/lake/"+k] = v
	}
	f := testservers.NewS3Faults(nil).OnWrites(full)
	srv := testservers.S3(t, f.Middleware)
	srv.CreateBucket(t, "lakes")
	return srv.URL("lakes", "prod/lake/", nil), f
}

// logEntries returns the load ids of the lake's log entries, in order.
func logEntries(t *testing.T, lakeURL string) []string {
	t.Helper()
	var ids []string
	for _, e := range bucketLog(t, lakeURL) {
		ids = append(ids, e.LoadID)
	}
	return ids
}

// stagedLeft counts the objects left in the lake's staging area.
func stagedLeft(t *testing.T, lakeURL string) (n int) {
	t.Helper()
	if err := openBucket(t, lakeURL).List(context.Background(), "_eventlake/staging/", "", func(lk.ObjectInfo) error {
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// sameRows checks that the bucket lake answers as the local lake.
func sameRows(t *testing.T, lakeURL, local string) {
	t.Helper()
	for _, q := range []string{
		"select count(*), count(distinct event_id) from events_raw",
		"select domain, event_date, count(*) from events group by all order by all",
	} {
		freshRunner(t)
		code, got, errOut := runCLI(t, "sql", "--lake", lakeURL, "-c", q)
		if code != 0 {
			t.Fatalf("sql on the bucket: exit %d %s", code, errOut)
		}
		_, want, _ := runCLI(t, "sql", "--lake", local, "-c", q)
		if got != want || want == "" {
			t.Errorf("%s:\nbucket lake:\n%s\nlocal lake:\n%s", q, got, want)
		}
	}
}

// A load rides out 500s and cut connections on its writes: every staged
// upload's first PUT answers 500, every publishing copy's first attempt
// loses its connection before the server sees it, and the commit's
// conditional PUT of the log entry succeeds at the server but its
// connection is cut before the answer (the client retries and finds its
// own entry). One log entry, the rows of one clean load, nothing staged.
func TestBucketLakeWriteFaults(t *testing.T) {
	lakeURL, f := faultyS3Lake(t, map[string][]testservers.Fault{
		"_eventlake/staging/": {testservers.InternalError},
		"events/":             {testservers.CutRequest},
		"_eventlake/log/":     {testservers.CommitThenCut},
	})
	local := t.TempDir()
	freshRunner(t)
	for _, l := range []string{lakeURL, local} {
		if code, out, errOut := runCLI(t, "load", "--lake", l, "--settle", "0", "-q", testdata("pismo"), testdata("fulfillmenttools")); code != 0 {
			t.Fatalf("load %s: exit %d %s%s", l, code, out, errOut)
		}
	}
	c := f.Counts()
	if c.InternalErrors == 0 || c.Cuts == 0 || c.CommitCuts != 1 {
		t.Fatalf("faults not injected: %+v", c)
	}
	if ids := logEntries(t, lakeURL); len(ids) != 1 {
		t.Errorf("log entries %v, want one", ids)
	}
	if n := stagedLeft(t, lakeURL); n != 0 {
		t.Errorf("%d staged objects left", n)
	}
	sameRows(t, lakeURL, local)
	t.Logf("faults injected: %+v", c)
}

// A commit whose every attempt succeeds at the server but loses its answer
// (the log entry is written, the client sees only cut connections): the
// load fails clearly and within bounded time; a re-run from a fresh runner
// finds the commit in the log, publishes its staged files and loads
// nothing twice.
func TestBucketLakeCommitLostAnswer(t *testing.T) {
	cuts := make([]testservers.Fault, 20)
	for i := range cuts {
		cuts[i] = testservers.CommitThenCut
	}
	lakeURL, _ := faultyS3Lake(t, map[string][]testservers.Fault{"_eventlake/log/": cuts})
	local := t.TempDir()
	freshRunner(t)
	if code, out, errOut := runCLI(t, "load", "--lake", local, "--settle", "0", "-q", testdata("pismo"), testdata("fulfillmenttools")); code != 0 {
		t.Fatalf("local load: exit %d %s%s", code, out, errOut)
	}
	start := time.Now()
	code, out, errOut := runCLI(t, "load", "--lake", lakeURL, "--settle", "0", "-q", testdata("pismo"), testdata("fulfillmenttools"))
	took := time.Since(start)
	if code == 0 {
		t.Fatalf("load with every commit answer lost: exit 0 %s%s", out, errOut)
	}
	if !strings.Contains(errOut, "_eventlake/log/") || !strings.Contains(errOut, "may have committed") || took > 2*time.Minute {
		t.Errorf("load failed after %v with: %s", took, errOut)
	}
	t.Logf("failed after %v: %s", took.Round(time.Millisecond), strings.TrimSpace(errOut))
	if ids := logEntries(t, lakeURL); len(ids) != 1 {
		t.Fatalf("log entries %v, want the one the server wrote", ids)
	}
	freshRunner(t)
	code, out, errOut = runCLI(t, "load", "--lake", lakeURL, "--settle", "0", "-q", "--json", testdata("pismo"), testdata("fulfillmenttools"))
	if code != 0 {
		t.Fatalf("re-run: exit %d %s%s", code, out, errOut)
	}
	if ids := logEntries(t, lakeURL); len(ids) != 1 {
		t.Errorf("after the re-run, log entries %v, want one (nothing loaded twice)", ids)
	}
	if n := stagedLeft(t, lakeURL); n != 0 {
		t.Errorf("%d staged objects left", n)
	}
	sameRows(t, lakeURL, local)
}

// A store that stops answering in the middle of a load (every request from
// the first staged upload on hangs): the load fails within bounded time —
// every request of the lake has a deadline, the lease's renewal and release
// included — and, once the store answers again, a re-run from a fresh runner
// loads exactly.
func TestBucketLakeStoreDiesMidLoad(t *testing.T) {
	t.Setenv("EVENTLAKE_LEASE_TTL", "6s")
	t.Setenv("EVENTLAKE_STORE_TIMEOUT", "3s")
	lakeURL, f := faultyS3Lake(t, map[string][]testservers.Fault{"_eventlake/staging/": {testservers.Die}})
	defer f.Revive()
	local := t.TempDir()
	freshRunner(t)
	if code, out, errOut := runCLI(t, "load", "--lake", local, "--settle", "0", "-q", testdata("pismo"), testdata("fulfillmenttools")); code != 0 {
		t.Fatalf("local load: exit %d %s%s", code, out, errOut)
	}
	start := time.Now()
	code, out, errOut := runCLI(t, "load", "--lake", lakeURL, "--settle", "0", "-q", testdata("pismo"), testdata("fulfillmenttools"))
	took := time.Since(start)
	if code == 0 {
		t.Fatalf("load into a dead store: exit 0 %s%s", out, errOut)
	}
	if took > 45*time.Second {
		t.Errorf("the load took %v to fail", took)
	}
	t.Logf("failed after %v (%d requests hung): %s", took.Round(time.Millisecond), f.Counts().Hung, strings.TrimSpace(errOut))
	f.Revive()
	freshRunner(t)
	if code, out, errOut := runCLI(t, "load", "--lake", lakeURL, "--settle", "0", "-q", testdata("pismo"), testdata("fulfillmenttools")); code != 0 {
		t.Fatalf("re-run: exit %d %s%s", code, out, errOut)
	}
	if n := stagedLeft(t, lakeURL); n != 0 {
		t.Errorf("%d staged objects left", n)
	}
	sameRows(t, lakeURL, local)
}
