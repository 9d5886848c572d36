package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/eventlake/eventlake/internal/testservers"
	lk "github.com/eventlake/eventlake/lake"
)

// bucketSnapshot maps every key of the bucket lake to its content.
func bucketSnapshot(t *testing.T, lakeURL string) map[string]string {
	t.Helper()
	st := openBucket(t, lakeURL)
	out := map[string]string{}
	for _, k := range bucketKeys(t, lakeURL) {
		var b bytes.Buffer
		if err := st.Download(context.Background(), k, &b); err != nil {
			t.Fatal(err)
		}
		out[k] = b.String()
	}
	return out
}

// check on a lake in a bucket verifies every live file and finds orphans
// without writing to the bucket: it passes with read-only access (S3
// refusing every write) and leaves the bucket unchanged; a missing file, a
// damaged one and an orphan are each reported (exit 1).
func TestBucketLakeCheck(t *testing.T) {
	var readOnly atomic.Bool
	s3 := func(t *testing.T) string {
		srv := testservers.S3(t, func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if readOnly.Load() && r.Method != http.MethodGet && r.Method != http.MethodHead {
					http.Error(w, "<Error><Code>AccessDenied</Code><Message>read-only</Message></Error>", http.StatusForbidden)
					return
				}
				next.ServeHTTP(w, r)
			})
		})
		srv.CreateBucket(t, "lakes")
		return srv.URL("lakes", "prod/lake/", nil)
	}
	stores := []struct {
		name    string
		newLake func(*testing.T) string
	}{{"s3", s3}, {"gcs", bucketStores[1].newLake}}
	for _, sto := range stores {
		t.Run(sto.name, func(t *testing.T) {
			readOnly.Store(false)
			lakeURL := sto.newLake(t)
			pismo, ft := lifecycleCorpus(t)
			freshRunner(t)
			if code, out, errOut := runCLI(t, "load", "--lake", lakeURL, "--settle", "0", "-q", pismo, ft); code != 0 {
				t.Fatalf("load: exit %d %s%s", code, out, errOut)
			}
			before := bucketSnapshot(t, lakeURL)
			readOnly.Store(true)
			freshRunner(t)
			code, out, errOut := runCLI(t, "check", "--lake", lakeURL)
			if code != 0 || !strings.Contains(out, "no problems found") {
				t.Fatalf("check of an intact lake: exit %d\n%s%s", code, out, errOut)
			}
			// The dry runs read only too.
			for _, args := range [][]string{
				{"expire", "--lake", lakeURL, "--before", "2024-02-02", "--dry-run"},
				{"forget", "--lake", lakeURL, "--object", "**09-00-00*", "--dry-run"},
				{"reprocess", "--lake", lakeURL, "--object", "**09-00-00*", "--dry-run"},
				{"repair", "--lake", lakeURL, "--dry-run"},
				{"catalog", "rebuild", "--lake", lakeURL, "--dry-run"},
			} {
				freshRunner(t)
				if code, out, errOut := runCLI(t, args...); code != 0 || !strings.Contains(out, "would") && !strings.Contains(out, "nothing to repair") {
					t.Errorf("%v on a read-only bucket: exit %d\n%s%s", args, code, out, errOut)
				}
			}
			readOnly.Store(false)
			if after := bucketSnapshot(t, lakeURL); !mapsEqual(before, after) {
				t.Errorf("check and the dry runs changed the bucket: %d keys before, %d after", len(before), len(after))
			}
			missing, damaged, orphan := damageBucketLake(t, lakeURL)
			readOnly.Store(true)
			freshRunner(t)
			code, out, errOut = runCLI(t, "check", "--lake", lakeURL, "--json")
			readOnly.Store(false)
			if code != 1 {
				t.Fatalf("check of a damaged lake: exit %d\n%s%s", code, out, errOut)
			}
			for _, want := range []string{missing, `"missing"`, damaged, `"checksum"`, orphan} {
				if !strings.Contains(out, want) {
					t.Errorf("check --json does not report %s:\n%s", want, out)
				}
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// putKey writes an object into the bucket lake.
func putKey(t *testing.T, lakeURL, key string, data []byte) {
	t.Helper()
	st := openBucket(t, lakeURL)
	if _, err := st.Put(context.Background(), key, bytes.NewReader(data), int64(len(data)), lk.PutCond{}); err != nil {
		t.Fatal(err)
	}
}

// damageBucketLake deletes one live events file, flips a byte of another
// and puts an orphan beside a third; it returns their keys.
func damageBucketLake(t *testing.T, lakeURL string) (missing, damaged, orphan string) {
	t.Helper()
	st := openBucket(t, lakeURL)
	var live []string
	for _, k := range bucketKeys(t, lakeURL) {
		if strings.HasPrefix(k, "events/") && strings.HasSuffix(k, ".parquet") {
			live = append(live, k)
		}
	}
	slices.Sort(live)
	ctx := context.Background()
	if err := st.Delete(ctx, live[0]); err != nil {
		t.Fatal(err)
	}
	data, _, err := st.Get(ctx, live[1])
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	putKey(t, lakeURL, live[1], data)
	orphan = filepath.Dir(live[2]) + "/part-stray.parquet"
	putKey(t, lakeURL, orphan, data)
	return live[0], live[1], orphan
}

// repair on a lake in a bucket retires the missing and damaged files,
// moves the damaged one to _eventlake/damaged/ and the orphan to
// _eventlake/orphans/ (nothing deleted), reloads the lost rows from the
// sources, and leaves a lake that check finds intact with the rows of a
// clean load.
func TestBucketLakeRepair(t *testing.T) { forEachBucket(t, testBucketLakeRepair) }

func testBucketLakeRepair(t *testing.T, newLake func(*testing.T) string) {
	lakeURL := newLake(t)
	pismo, ft := lifecycleCorpus(t)
	freshRunner(t)
	if code, out, errOut := runCLI(t, "load", "--lake", lakeURL, "--settle", "0", "-q", pismo, ft); code != 0 {
		t.Fatalf("load: exit %d %s%s", code, out, errOut)
	}
	want := sqlValue(t, lakeURL, "select count(*) || '/' || count(distinct event_id) from events")
	wantHive := hiveRows(t, lakeURL)
	missing, damaged, orphan := damageBucketLake(t, lakeURL)
	freshRunner(t)
	code, out, errOut := runCLI(t, "repair", "--lake", lakeURL, "--settle", "0", "-q", pismo, ft)
	if code != 0 {
		t.Fatalf("repair: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("repair:\n%s", out)
	freshRunner(t)
	if code, out, errOut := runCLI(t, "check", "--lake", lakeURL); code != 0 {
		t.Errorf("check after repair: exit %d\n%s%s", code, out, errOut)
	}
	if got := sqlValue(t, lakeURL, "select count(*) || '/' || count(distinct event_id) from events"); got != want {
		t.Errorf("after repair the shell sees %s, a clean load %s", got, want)
	}
	if got := hiveRows(t, lakeURL); got != wantHive {
		t.Errorf("after repair a Hive reader lists %d rows, a clean load %d", got, wantHive)
	}
	keys := bucketKeys(t, lakeURL)
	has := func(prefix, suffix string) bool {
		return slices.ContainsFunc(keys, func(k string) bool { return strings.HasPrefix(k, prefix) && strings.HasSuffix(k, suffix) })
	}
	if !has("_eventlake/damaged/", damaged) {
		t.Errorf("the damaged file %s is not kept under _eventlake/damaged/: %v", damaged, keys)
	}
	if !has("_eventlake/orphans/", orphan) || slices.Contains(keys, orphan) {
		t.Errorf("the orphan %s is not moved to _eventlake/orphans/: %v", orphan, keys)
	}
	if slices.Contains(keys, damaged) || slices.Contains(keys, missing) {
		t.Errorf("a retired file is still in the table folders")
	}
}

// A SIGKILL of repair at each step of its transaction on a lake in a
// bucket, then a re-run from a fresh machine, leaves the lake of one clean
// repair: the rows of a clean load, check passes, nothing staged.
func TestBucketLakeRepairCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test")
	}
	forEachBucket(t, testBucketLakeRepairCrash)
}

func testBucketLakeRepairCrash(t *testing.T, newLake func(*testing.T) string) {
	pismo, ft := lifecycleCorpus(t)
	for _, step := range []string{"after-begin", "before-commit", "bucket-after-upload", "bucket-after-log", "after-commit",
		"after-publish", "after-swap", "during-delete", "after-delete", "bucket-after-finish"} {
		t.Run(step, func(t *testing.T) {
			lakeURL := newLake(t)
			freshRunner(t)
			if code, out, errOut := runCLI(t, "load", "--lake", lakeURL, "--settle", "0", "-q", pismo, ft); code != 0 {
				t.Fatalf("load: exit %d %s%s", code, out, errOut)
			}
			want := sqlValue(t, lakeURL, "select count(*) || '/' || count(distinct event_id) from events")
			wantHive := hiveRows(t, lakeURL)
			damageBucketLake(t, lakeURL)
			killedAt(t, "repair-"+step, "repair", "--lake", lakeURL, "--settle", "0", "-q", pismo, ft)
			if m := liveMissing(t, lakeURL); len(m) > 2 {
				t.Errorf("after a kill at %s a reader sees live files the bucket lacks beyond the damage: %v", step, m)
			}
			freshRunner(t)
			if code, out, errOut := runCLI(t, "repair", "--lake", lakeURL, "--settle", "0", "-q", pismo, ft); code != 0 {
				t.Fatalf("re-run: exit %d\n%s%s", code, out, errOut)
			}
			freshRunner(t)
			if code, out, errOut := runCLI(t, "check", "--lake", lakeURL); code != 0 {
				t.Errorf("check after a kill at %s and a re-run: exit %d\n%s%s", step, code, out, errOut)
			}
			if got := sqlValue(t, lakeURL, "select count(*) || '/' || count(distinct event_id) from events"); got != want {
				t.Errorf("after a kill at %s and a re-run the shell sees %s, want %s", step, got, want)
			}
			if got := hiveRows(t, lakeURL); got != wantHive {
				t.Errorf("after a kill at %s and a re-run a Hive reader lists %d rows, want %d", step, got, wantHive)
			}
			for _, k := range bucketKeys(t, lakeURL) {
				if strings.HasPrefix(k, "_eventlake/staging/") {
					t.Errorf("staged file left: %s", k)
				}
			}
		})
	}
}
