package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// The tests below run eventlake as another Unix user and on a read-only
// mount, as analysts of a shared lake do. They need root (to switch users and
// to mount) and skip without it.

const nobody = 65534

// sharedDir is a temporary directory that every user can traverse and read
// (t.TempDir is 0700).
func sharedDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "eventlake-readers-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// cliBin is the CLI binary readerBinary made for the running test.
var cliBin string

// readerBinary makes the eventlake CLI a file every user may run: this test
// binary (TestMain runs the CLI when EVENTLAKE_TEST_CLI=1), hard-linked (or
// copied) into a directory readable by all, removed after the test.
func readerBinary(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("running eventlake as another user needs root")
	}
	bin := filepath.Join(sharedDir(t), "eventlake")
	if err := os.Link(os.Args[0], bin); err != nil {
		src, err := os.Open(os.Args[0])
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(dst, src)
		if cerr := dst.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cliBin = bin
	t.Cleanup(func() { cliBin = "" })
}

// userHome makes a fresh home directory owned by uid.
func userHome(t *testing.T, uid int) string {
	t.Helper()
	home := filepath.Join(sharedDir(t), "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(home, uid, uid); err != nil {
		t.Fatal(err)
	}
	return home
}

// runAs runs the CLI as uid (root when 0) in a working directory it cannot
// write, with HOME set to home.
func runAs(t *testing.T, uid int, home string, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(cliBin, args...)
	cmd.Env = append([]string{"EVENTLAKE_TEST_CLI=1", "HOME=" + home, "PATH=/usr/bin:/bin", "TMPDIR=/tmp"}, env...)
	cmd.Dir = "/"
	if uid != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errorsAs(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("run %v: %v", args, err)
	}
	return code, out.String(), errOut.String()
}

func errorsAs(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*ee = e
	}
	return ok
}

// roMount bind-mounts dir read-only on a new directory and returns it.
func roMount(t *testing.T, dir string) string {
	t.Helper()
	mnt := filepath.Join(sharedDir(t), "ro")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount(dir, mnt, "", syscall.MS_BIND, ""); err != nil {
		t.Skipf("bind mount not permitted here: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	if err := syscall.Mount("", mnt, "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY, ""); err != nil {
		t.Skipf("read-only remount not permitted here: %v", err)
	}
	if f, err := os.Create(filepath.Join(mnt, "probe")); err == nil {
		f.Close()
		t.Fatalf("%s is writable after the read-only remount", mnt)
	}
	return mnt
}

// treeState lists every file under dir with its size and modification time.
func treeState(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, fmt.Sprintf("%s %v %d %d", strings.TrimPrefix(p, dir), info.Mode(), info.Size(), info.ModTime().UnixNano()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sharedLake loads the samples into a lake in a shared directory, compacts
// it (so it has a query cache), runs a load again and returns the lake with
// the answers root gets.
func sharedLake(t *testing.T) (lake string, events string, rows int64) {
	t.Helper()
	lake = filepath.Join(sharedDir(t), "lake")
	if code, _, errOut := runCLI(t, "load", "--lake", lake, "-q", testdata("pismo"), testdata("subscriber")); code != 0 {
		t.Fatal(errOut)
	}
	if code, _, errOut := runCLI(t, "compact", "--lake", lake); code != 0 {
		t.Fatal(errOut)
	}
	if _, err := os.Stat(filepath.Join(lake, "_eventlake", "query-cache.duckdb")); err != nil {
		t.Fatalf("compact made no query cache: %v", err)
	}
	// The last writer is a load (with nothing new to load).
	if code, _, errOut := runCLI(t, "load", "--lake", lake, "-q", testdata("pismo")); code != 0 {
		t.Fatal(errOut)
	}
	code, out, errOut := runCLI(t, "sql", "--lake", lake, "--format", "csv", "-c", readerQuery)
	if code != 0 {
		t.Fatal(errOut)
	}
	return lake, out, statusRows(t, lake, 0, "/")
}

// readerQuery reads the events through the views, the query cache and the
// catalog tables.
const readerQuery = "select count(*) as n, count(distinct event_id) as ids from events; " +
	"select count(*) as cached from query_cache.events; select count(*) as loads from eventlake.loads"

func statusRows(t *testing.T, lake string, uid int, home string) int64 {
	t.Helper()
	code, out, errOut := runAs(t, uid, home, nil, "status", "--lake", lake, "--json")
	if code != 0 {
		t.Fatalf("status as uid %d: exit %d: %s", uid, code, errOut)
	}
	var st struct{ Rows int64 }
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	return st.Rows
}

// checkReaders runs status and sql on lake as uid and compares them with
// root's answers; nothing in the lake may change.
func checkReaders(t *testing.T, lake string, uid int, home, wantSQL string, wantRows int64) {
	t.Helper()
	before := treeState(t, lake)
	if got := statusRows(t, lake, uid, home); got != wantRows {
		t.Errorf("status as uid %d on %s: %d rows, want %d", uid, lake, got, wantRows)
	}
	code, out, errOut := runAs(t, uid, home, nil, "sql", "--lake", lake, "--format", "csv", "-c", readerQuery)
	if code != 0 || out != wantSQL {
		t.Errorf("sql as uid %d on %s: exit %d\n%s\nstderr: %s\nwant:\n%s", uid, lake, code, out, errOut, wantSQL)
	}
	if strings.Contains(errOut, "query cache") {
		t.Errorf("sql as uid %d did not use the query cache: %s", uid, errOut)
	}
	if after := treeState(t, lake); !slices.Equal(before, after) {
		t.Errorf("readers as uid %d changed the lake:\nbefore %q\nafter  %q", uid, before, after)
	}
}

// TestReadOnlyReaders: another Unix user, and anyone on a read-only mount,
// can run status and sql on a lake they may only read, without writing to it.
func TestReadOnlyReaders(t *testing.T) {
	readerBinary(t)
	lake, wantSQL, wantRows := sharedLake(t)
	home := userHome(t, nobody)
	t.Run("other-user", func(t *testing.T) {
		checkReaders(t, lake, nobody, home, wantSQL, wantRows)
	})
	t.Run("home-not-writable", func(t *testing.T) {
		checkReaders(t, lake, nobody, "/nonexistent", wantSQL, wantRows)
	})
	t.Run("read-only-mount", func(t *testing.T) {
		mnt := roMount(t, lake)
		checkReaders(t, mnt, 0, userHome(t, 0), wantSQL, wantRows)
		checkReaders(t, mnt, nobody, home, wantSQL, wantRows)
	})
	// A lake whose catalog lost its -wal and -shm files (written by an older
	// eventlake, or copied without them) is still readable.
	t.Run("catalog-without-wal-files", func(t *testing.T) {
		cat := filepath.Join(lake, "_eventlake", "catalog.db")
		for _, s := range []string{"-wal", "-shm"} {
			if err := os.Remove(cat + s); err != nil {
				t.Fatal(err)
			}
		}
		checkReaders(t, lake, nobody, home, wantSQL, wantRows)
		mnt := roMount(t, lake)
		checkReaders(t, mnt, 0, userHome(t, 0), wantSQL, wantRows)
		checkReaders(t, mnt, nobody, home, wantSQL, wantRows)
	})
}

// eventsFolder writes n events, ids prefixed by tag, as one NDJSON object.
func eventsFolder(t *testing.T, dir, tag string, n int) string {
	t.Helper()
	p := filepath.Join(dir, tag)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `{"event_id":"%s-%d","domain":"account","event_type":"customer_creation","schema_version":1,"timestamp":"2024-02-%02dT09:00:00Z","data":{"i":%d}}`+"\n",
			tag, i, 1+i%5, i)
	}
	if err := os.WriteFile(filepath.Join(p, "events.json"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReaderDuringLoads: another user's status and sql, run while loads
// commit one after the other, always succeed and always see the lake as of
// some commit: never an error, never a half-made state.
func TestReaderDuringLoads(t *testing.T) {
	readerBinary(t)
	lake := filepath.Join(sharedDir(t), "lake")
	srcDir := t.TempDir()
	home := userHome(t, nobody)
	var mu sync.Mutex
	valid := map[int64]bool{}
	total := int64(0)
	// next makes the source of load i and records the row count after it.
	next := func(i int) string {
		n := 2000 + 537*(i%8)
		src := eventsFolder(t, srcDir, "l"+strconv.Itoa(i), n)
		mu.Lock()
		total += int64(n)
		valid[total] = true
		mu.Unlock()
		return src
	}
	if code, _, errOut := runCLI(t, "load", "--lake", lake, "--settle", "0", "-q", next(0)); code != 0 {
		t.Fatal(errOut)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	reads := map[string]int{}
	seen := map[int64]bool{}
	read := func(name string, args []string, rows func(out string) (int64, error)) {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			code, out, errOut := runAs(t, nobody, home, nil, args...)
			n, err := rows(out)
			mu.Lock()
			if code != 0 || err != nil || !valid[n] {
				t.Errorf("%s during loads: exit %d, %d rows (%v), valid row counts %v\n%s", name, code, n, err, valid, errOut)
			}
			reads[name]++
			seen[n] = true
			mu.Unlock()
		}
	}
	wg.Add(2)
	go read("sql", []string{"sql", "--lake", lake, "--format", "csv", "-c", "select count(*) as n from events_raw"}, func(out string) (int64, error) {
		return strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(out, "n\n")), 10, 64)
	})
	go read("status", []string{"status", "--lake", lake, "--json"}, func(out string) (int64, error) {
		var st struct{ Rows int64 }
		err := json.Unmarshal([]byte(out), &st)
		return st.Rows, err
	})
	loads := 1
	for ; loads < 60; loads++ {
		mu.Lock()
		enough := loads >= 8 && reads["sql"] >= 20 && reads["status"] >= 20
		mu.Unlock()
		if enough {
			break
		}
		if code, _, errOut := runCLI(t, "load", "--lake", lake, "--settle", "0", "-q", next(loads)); code != 0 {
			t.Errorf("load %d: %s", loads, errOut)
		}
	}
	close(done)
	wg.Wait()
	if got := statusRows(t, lake, nobody, home); got != total {
		t.Errorf("after the loads: %d rows, want %d", got, total)
	}
	t.Logf("reads as another user during %d loads: %v; they saw %d distinct states", loads, reads, len(seen))
}

// TestReadersAgreeAfterCrash: a writer killed after committing but before
// recording the publish leaves a lake on which status and sql (as root, as
// another user, on a read-only mount) give the same answer, without any
// writer running in between; the next writer makes the load visible to both.
func TestReadersAgreeAfterCrash(t *testing.T) {
	readerBinary(t)
	home := userHome(t, nobody)
	for _, point := range []string{"during-publish", "after-publish", "compact-after-publish", "compact-during-publish"} {
		t.Run(point, func(t *testing.T) {
			lake := filepath.Join(sharedDir(t), "lake")
			args := []string{"load", "--lake", lake, "-q", testdata("pismo"), testdata("subscriber")}
			if strings.HasPrefix(point, "compact-") {
				if code, _, errOut := runCLI(t, args...); code != 0 {
					t.Fatal(errOut)
				}
				if code, _, errOut := runCLI(t, "load", "--lake", lake, "-q", testdata("pismo")+"/"); code != 0 {
					t.Fatal(errOut)
				}
				args = []string{"compact", "--lake", lake}
			}
			code, _, errOut := runAs(t, 0, home, []string{"EVENTLAKE_CRASH_AT=" + point}, args...)
			if code != -1 {
				t.Fatalf("writer was not killed at %s: exit %d\n%s", point, code, errOut)
			}
			agree := func(lake string, uid int) int64 {
				t.Helper()
				rows := statusRows(t, lake, uid, home)
				code, out, errOut := runAs(t, uid, home, nil, "sql", "--lake", lake, "--format", "csv", "-c", "select count(*) as n from events_raw")
				if code != 0 {
					t.Fatalf("sql as uid %d: %s", uid, errOut)
				}
				if out != fmt.Sprintf("n\n%d\n", rows) {
					t.Errorf("as uid %d on %s: status counts %d rows, sql %q", uid, lake, rows, out)
				}
				return rows
			}
			crashed := agree(lake, 0)
			agree(lake, nobody)
			agree(roMount(t, lake), nobody)
			// The next writer recovers; both see the load now.
			if code, _, errOut := runCLI(t, "load", "--lake", lake, "-q", testdata("pismo")); code != 0 {
				t.Fatal(errOut)
			}
			after := agree(lake, nobody)
			if !strings.HasPrefix(point, "compact-") && (crashed != 0 || after == 0) {
				t.Errorf("rows visible: %d after the crash (want 0: not yet published), %d after recovery", crashed, after)
			}
		})
	}
}
