package loader_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/laketest"
	"github.com/eventlake/eventlake/loader"
	"github.com/eventlake/eventlake/loader/source"
	"github.com/eventlake/eventlake/loader/source/local"
)

// faulty is a source over a local folder that misbehaves on chosen keys:
// "gone" vanishes between listing and reading, "ioerr" fails half-way
// through its bytes, "deny" refuses to open.
type faulty struct {
	source.Source
}

var registerFaulty sync.Once

func faultySource(t *testing.T, dir string) string {
	registerFaulty.Do(func() {
		source.Register("faulty", func(ctx context.Context, u *url.URL) (source.Source, error) {
			s, err := local.New(u.Path, local.Options{})
			if err != nil {
				return nil, err
			}
			return faulty{s}, nil
		})
	})
	return "faulty://" + filepath.ToSlash(dir)
}

func (f faulty) URL() string { return "faulty://" + strings.TrimPrefix(f.Source.URL(), "file://") }

func (f faulty) Open(ctx context.Context, key string) (io.ReadCloser, source.Object, error) {
	switch {
	case strings.HasPrefix(key, "gone"):
		return nil, source.Object{}, fmt.Errorf("open %s: %w", key, source.ErrNotFound)
	case strings.HasPrefix(key, "deny"):
		return nil, source.Object{}, fmt.Errorf("open %s: permission denied", key)
	}
	rc, obj, err := f.Source.Open(ctx, key)
	if err == nil && strings.HasPrefix(key, "ioerr") {
		data, _ := io.ReadAll(rc)
		rc.Close()
		return io.NopCloser(io.MultiReader(bytes.NewReader(data[:len(data)/2]), errReader{})), obj, nil
	}
	return rc, obj, err
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset by peer") }

func faultLine(id string) string {
	return fmt.Sprintf(`{"event_id":"%s","domain":"account","event_type":"x-1","timestamp":"2024-01-01T00:00:00Z","data":{"id":"%s"}}`+"\n", id, id)
}

func TestSourceFaults(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"deny-1", "gone-1", "good-1", "ioerr-1"} {
		var b strings.Builder
		for i := 0; i < 50; i++ {
			b.WriteString(faultLine(fmt.Sprintf("%s-%d", name, i)))
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lake := t.TempDir()
	src := faultySource(t, dir)
	sum, err := loader.Run(context.Background(), loader.Options{Lake: lake}, []loader.SourceSpec{{URL: src}})
	if err != nil {
		t.Fatal(err)
	}
	// deny and ioerr fail (retried next time), gone is skipped, good loads.
	if sum.Committed != 1 || sum.Failed != 2 || sum.Vanished != 1 || sum.Records != 50 || sum.OK() {
		t.Fatalf("summary %+v", sum)
	}
	for _, e := range sum.Errors {
		if !strings.Contains(e.Error, "permission denied") && !strings.Contains(e.Error, "connection reset") {
			t.Errorf("error of %s does not say what happened: %s", e.Object, e.Error)
		}
	}
	db := laketest.DuckDB(t)
	if got := laketest.One(t, db, "select count(*) from "+laketest.Events(lake)+" where event_id like 'ioerr%'"); got != "0" {
		t.Errorf("%s rows of the half-read object were kept", got)
	}
	// The next run retries exactly the failed objects.
	sum2, err := loader.Run(context.Background(), loader.Options{Lake: lake}, []loader.SourceSpec{{URL: src}})
	if err != nil {
		t.Fatal(err)
	}
	if sum2.Objects != 3 || sum2.Failed != 2 || sum2.Skipped != 1 {
		t.Errorf("second run %+v", sum2)
	}
}

func TestCorruptCatalogIsRefusedNotOverwritten(t *testing.T) {
	lake := t.TempDir()
	load(t, lake, testdata("pismo"))
	path := loader.CatalogPath(lake)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(path + suffix + "x")
	}
	garbage := bytes.Repeat([]byte("not a database "), 512)
	if err := os.WriteFile(path, garbage, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(path + "-wal")
	os.Remove(path + "-shm")
	_, err := loader.Run(context.Background(), loader.Options{Lake: lake}, []loader.SourceSpec{{URL: testdata("pismo")}})
	if err == nil || !errors.Is(err, catalog.ErrDamaged) || !strings.Contains(err.Error(), path) {
		t.Fatalf("load on a damaged catalog: %v", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, garbage) {
		t.Error("the damaged catalog was modified")
	}
}

// TestDiskFullAndReadOnly needs to mount a small tmpfs (root in a sandbox
// that allows it, as CI here does); elsewhere it is skipped.
func TestDiskFullAndReadOnly(t *testing.T) {
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	src := crashCorpus(t, 8, 2000) // ~7 MB of events: more Parquet than 400 KB hold
	lake := filepath.Join(mnt, "lake")
	_, err := loader.Run(context.Background(), loader.Options{Lake: lake, ZstdLevel: 1}, []loader.SourceSpec{{URL: src}})
	if err == nil {
		t.Fatal("a load into a full disk succeeded")
	}
	if !strings.Contains(err.Error(), "no space left on device") {
		t.Errorf("disk-full error does not say so: %v", err)
	}
	if files := laketest.Files(t, filepath.Join(lake, "events")); len(files) != 0 {
		t.Errorf("files visible after a failed load: %q", files)
	}
	if st := laketest.Files(t, filepath.Join(lake, "_eventlake", "staging")); len(st) != 0 {
		t.Errorf("staging left behind: %q", st)
	}

	// Read-only lake: a clear failure, nothing committed.
	small := t.TempDir()
	if err := os.WriteFile(filepath.Join(small, "one"), []byte(faultLine("ro-1")), 0o644); err != nil {
		t.Fatal(err)
	}
	ro := filepath.Join(mnt, "ro")
	os.RemoveAll(lake)
	load(t, ro, small)
	if out, err := exec.Command("mount", "-o", "remount,ro", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot remount read-only: %v %s", err, out)
	}
	if err := os.WriteFile(filepath.Join(small, "two"), []byte(faultLine("ro-2")), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = loader.Run(context.Background(), loader.Options{Lake: ro}, []loader.SourceSpec{{URL: small}})
	if err == nil || !strings.Contains(err.Error(), "read-only file system") {
		t.Errorf("load into a read-only lake: %v", err)
	}
}

// TestSpilledObjects: objects bigger than the buffer spill into files of
// their own; the rows are the same, and a spilled object that then fails
// leaves nothing behind.
func TestSpilledObjects(t *testing.T) {
	src := crashCorpus(t, 4, 500)
	ref := t.TempDir()
	load(t, ref, src)
	lake := t.TempDir()
	if _, err := loader.Run(context.Background(), loader.Options{Lake: lake, BufferBytes: 16 << 10}, []loader.SourceSpec{{URL: src}}); err != nil {
		t.Fatal(err)
	}
	if got, want := lakeRows(t, lake), lakeRows(t, ref); !reflect.DeepEqual(got, want) {
		t.Errorf("spilled load: %d rows, want %d", len(got), len(want))
	}
	// A big object that breaks off half-way, and one whose records are all bad.
	dir := t.TempDir()
	var good, bad strings.Builder
	for i := 0; i < 400; i++ {
		good.WriteString(faultLine(fmt.Sprintf("ioerr-%d", i)))
		bad.WriteString(`{"event_id":"x","timestamp":"never"}` + "\n")
	}
	os.WriteFile(filepath.Join(dir, "ioerr-big"), []byte(good.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "allbad"), []byte(bad.String()), 0o644)
	lake2 := t.TempDir()
	sum, err := loader.Run(context.Background(), loader.Options{Lake: lake2, BufferBytes: 8 << 10}, []loader.SourceSpec{{URL: faultySource(t, dir)}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failed != 1 || sum.Quarantined != 1 || sum.Rejects != 400 {
		t.Errorf("summary %+v", sum)
	}
	if files := laketest.Files(t, filepath.Join(lake2, "events")); len(files) != 0 {
		t.Errorf("files of a failed spilled object are visible: %q", files)
	}
	for _, e := range sum.Errors {
		if e.Status == "quarantined" && !strings.Contains(e.Error, "all 400 records rejected (first reason:") {
			t.Errorf("quarantine reason %q", e.Error)
		}
	}
}
