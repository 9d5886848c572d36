package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// logObjects counts, per object key, the commit log entries that hold it,
// and returns the commands of the entries.
func logObjects(t *testing.T, lakeURL string) (perKey map[string]int, commands []string) {
	t.Helper()
	perKey = map[string]int{}
	for _, e := range bucketLog(t, lakeURL) {
		commands = append(commands, e.Command)
		for _, o := range e.Objects {
			perKey[o.Key]++
		}
	}
	return perKey, commands
}

// waitForObjects waits until the bucket lake's log holds n objects.
func waitForObjects(t *testing.T, lakeURL string, n int, what string, exited <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("%s: the watcher exited", what)
		default:
		}
		perKey, _ := logObjects(t, lakeURL)
		if len(perKey) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the log holds %d objects after 60s, want %d", what, len(perKey), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// watch on a lake in a bucket (the real binary, from a fresh machine): each
// round takes the lease, syncs the log, loads and commits. Objects
// arriving over rounds are loaded exactly once; a load by another runner
// between rounds is seen by the next round, which loads nothing twice.
func TestBucketLakeWatch(t *testing.T) { forEachBucket(t, testBucketLakeWatch) }

func testBucketLakeWatch(t *testing.T, newLake func(*testing.T) string) {
	wantRows, wantDistinct := localLakeRows(t)
	lakeURL := newLake(t)
	src := t.TempDir()
	arrive(t, src, 1)
	cwd := freshRunner(t)
	cmd := exec.Command(os.Args[0], "watch", "--lake", lakeURL, "--interval", "500ms", "--settle", "0", "-q",
		filepath.Join(src, "pismo"), filepath.Join(src, "fulfillmenttools"))
	cmd.Dir = cwd
	cmd.Env = append(os.Environ(), "EVENTLAKE_TEST_CLI=1")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			<-exited
		}
	}
	defer stop()
	defer func() {
		if t.Failed() {
			stop()
			t.Logf("watch's output:\n%s", out.String())
		}
	}()
	waitForObjects(t, lakeURL, 2, "batch 1", exited)
	arrive(t, src, 2)
	waitForObjects(t, lakeURL, 4, "batch 2", exited)
	// Another runner loads batch 3 between two rounds of the watcher.
	arrive(t, src, 3)
	freshRunner(t)
	if code, o, errOut := runCLI(t, "load", "--lake", lakeURL, "--settle", "0", "-q",
		filepath.Join(src, "pismo"), filepath.Join(src, "fulfillmenttools")); code != 0 {
		t.Fatalf("the other runner's load: exit %d %s%s", code, o, errOut)
	}
	// A few more rounds of the watcher.
	_, before := logObjects(t, lakeURL)
	t.Logf("commits: %v", before)
	time.Sleep(2 * time.Second)
	stop()
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("watch exited %d after SIGTERM:\n%s", code, out.String())
	}
	perKey, commands := logObjects(t, lakeURL)
	if len(perKey) != 6 {
		t.Errorf("the log holds %d objects, want the corpus's 6: %v", len(perKey), perKey)
	}
	for k, n := range perKey {
		if n != 1 {
			t.Errorf("object %s is in %d commits, want 1", k, n)
		}
	}
	if len(commands) != len(before) {
		t.Errorf("the watcher's rounds after the other runner's load committed again: %v, before them %v", commands, before)
	}
	if rows, distinct := bucketRows(t, lakeURL, "events"); rows != wantRows || distinct != wantDistinct {
		t.Errorf("after watch rounds and another runner's load: %d rows (%d distinct), want %d (%d)\n%s", rows, distinct, wantRows, wantDistinct, out.String())
	}
	if ents, _ := os.ReadDir(cwd); len(ents) != 0 {
		t.Errorf("watch left %v in its working folder", ents)
	}
	for _, k := range bucketKeys(t, lakeURL) {
		if strings.HasPrefix(k, "_eventlake/staging/") {
			t.Errorf("left in the bucket after watch stopped: %s", k)
		}
	}
	// The stopped watcher released the lease: a load that does not wait
	// for it runs, and finds nothing new.
	freshRunner(t)
	if code, o, errOut := runCLI(t, "load", "--lake", lakeURL, "--settle", "0", "-q", "--lock-wait", "0", "--json",
		filepath.Join(src, "pismo"), filepath.Join(src, "fulfillmenttools")); code != 0 || !strings.Contains(o, `"objects":0`) {
		t.Errorf("load after the watcher stopped: exit %d %s%s", code, o, errOut)
	}
}
