package icetable

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	iceio "github.com/apache/iceberg-go/io"

	"github.com/eventlake/eventlake/lake"
)

// The table of a lake in a bucket keeps its metadata in the bucket, at
// <lake>/<table>/_iceberg/ as in a folder, and names every file (metadata
// files, manifest lists, manifests, data files) by its full bucket URL
// (s3://BUCKET/PREFIX/events/…, gs://…), so engines read it where it is.
//
// A bucket has no rename, so a version is committed by the store's
// conditional write: v<N>.metadata.json is created if absent (S3
// If-None-Match: *, GCS ifGenerationMatch=0). Of two writers committing
// version N on top of N-1, one creates it and the other is refused; the
// refused one reloads the table and commits on top of N (see Table.Sync).
// The current version is the highest v<N>.metadata.json the bucket lists:
// one LIST request, whatever the hint says. version-hint.text (the number
// N) is then advanced by a compare-and-swap (If-Match on its version), and
// never moved back; it is advisory, for readers that start from it (Hadoop
// tables' readers, DuckDB's iceberg_scan), which may lag one commit behind
// after a crash between the two writes.

// BucketStore is a Store in a lake's bucket.
type BucketStore struct {
	store lake.ObjectStore
	dir   string // key prefix of the metadata folder, no trailing '/'
}

// NewBucketStore returns the store of the metadata folder at key prefix dir
// (relative to the lake's root) of store.
func NewBucketStore(store lake.ObjectStore, dir string) *BucketStore {
	return &BucketStore{store: store, dir: strings.Trim(dir, "/")}
}

// Dir returns the metadata folder's URL.
func (s *BucketStore) Dir() string { return s.store.URL() + s.dir }

func (s *BucketStore) key(version int) string {
	return fmt.Sprintf("%s/v%d.metadata.json", s.dir, version)
}

// Current lists the metadata files and takes the highest version.
func (s *BucketStore) Current(ctx context.Context) (int, string, error) {
	v := 0
	prefix := s.dir + "/v"
	err := s.store.List(ctx, prefix, "", func(o lake.ObjectInfo) error {
		n, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, prefix), ".metadata.json")
		if !ok {
			return nil
		}
		if i, err := strconv.Atoi(n); err == nil && i > v && strconv.Itoa(i) == n {
			v = i
		}
		return nil
	})
	if err != nil {
		return 0, "", fmt.Errorf("icetable: list %s: %w", s.Dir(), err)
	}
	if v == 0 {
		return 0, "", nil
	}
	return v, s.store.URL() + s.key(v), nil
}

// Read reads a metadata file by its URL.
func (s *BucketStore) Read(ctx context.Context, location string) ([]byte, error) {
	k, err := keyOf(s.store, location)
	if err != nil {
		return nil, err
	}
	b, _, err := s.store.Get(ctx, k)
	return b, err
}

// Commit creates v<version>.metadata.json if absent, then advances the
// hint.
func (s *BucketStore) Commit(ctx context.Context, version int, data []byte) (string, error) {
	k := s.key(version)
	loc := s.store.URL() + k
	_, err := s.store.Put(ctx, k, bytes.NewReader(data), int64(len(data)), lake.PutCond{IfAbsent: true})
	if errors.Is(err, lake.ErrPrecondition) {
		return "", fmt.Errorf("%w: %s", ErrVersionExists, loc)
	}
	if err != nil {
		return "", fmt.Errorf("icetable: commit %s: %w", loc, err)
	}
	// The version is committed: a hint left behind is only advisory.
	_ = s.advanceHint(ctx, version)
	return loc, nil
}

// advanceHint sets the hint to version unless it already names a later
// one, by a compare-and-swap on the hint's version.
func (s *BucketStore) advanceHint(ctx context.Context, version int) error {
	k := s.dir + "/" + HintFile
	for range 3 {
		b, ver, err := s.store.Get(ctx, k)
		cond := lake.PutCond{IfMatch: ver}
		switch {
		case errors.Is(err, lake.ErrNotExist):
			cond = lake.PutCond{IfAbsent: true}
		case err != nil:
			return err
		default:
			if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n >= version {
				return nil
			}
		}
		data := []byte(strconv.Itoa(version))
		_, err = s.store.Put(ctx, k, bytes.NewReader(data), int64(len(data)), cond)
		if !errors.Is(err, lake.ErrPrecondition) {
			return err
		}
	}
	return nil
}

// keyOf returns the key (relative to the lake's root) of a URL in store.
func keyOf(store lake.ObjectStore, location string) (string, error) {
	k, ok := strings.CutPrefix(location, store.URL())
	if !ok || k == "" {
		return "", fmt.Errorf("icetable: %s is not in the lake %s", location, store.URL())
	}
	return k, nil
}

// bucketIO is iceberg-go's file IO over a lake's bucket: files are named
// by their URLs. Manifests and metadata files are read whole (one
// request); other files (Parquet) by ranged reads, the first of which
// fetches the file's tail, where the footer is.
type bucketIO struct {
	store lake.ObjectStore
	ctx   context.Context
}

func newBucketIO(store lake.ObjectStore) bucketIO {
	return bucketIO{store: store, ctx: context.Background()}
}

// tailBytes is read at once from the end of a Parquet file: its footer
// (and the 8 bytes before it that give its length) in one request.
const tailBytes = 64 << 10

func (b bucketIO) Open(name string) (iceio.File, error) {
	k, err := keyOf(b.store, name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if ext := path.Ext(k); ext == ".avro" || ext == ".json" {
		data, _, err := b.store.Get(b.ctx, k)
		if err != nil {
			return nil, pathErr("open", name, err)
		}
		return &objectFile{name: name, size: int64(len(data)), tail: data, r: b, key: k}, nil
	}
	size, err := b.store.Size(b.ctx, k)
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	return &objectFile{name: name, size: size, r: b, key: k}, nil
}

// openSized opens a file whose size the catalog knows: no request until
// the first read.
func (b bucketIO) openSized(name string, size int64) (iceio.File, error) {
	k, err := keyOf(b.store, name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &objectFile{name: name, size: size, r: b, key: k}, nil
}

func pathErr(op, name string, err error) error {
	if errors.Is(err, lake.ErrNotExist) {
		err = fmt.Errorf("%w (%w)", fs.ErrNotExist, err)
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}

func (b bucketIO) ReadFile(name string) ([]byte, error) {
	k, err := keyOf(b.store, name)
	if err != nil {
		return nil, err
	}
	data, _, err := b.store.Get(b.ctx, k)
	if err != nil {
		return nil, pathErr("read", name, err)
	}
	return data, nil
}

func (b bucketIO) Remove(name string) error {
	k, err := keyOf(b.store, name)
	if err != nil {
		return err
	}
	return b.store.Delete(b.ctx, k)
}

// Create buffers the file and uploads it when closed (manifests and
// manifest lists are small); it is durable once Close returns.
func (b bucketIO) Create(name string) (iceio.FileWriter, error) {
	k, err := keyOf(b.store, name)
	if err != nil {
		return nil, err
	}
	return &objectWriter{b: b, key: k}, nil
}

func (b bucketIO) WriteFile(name string, p []byte) error {
	w, err := b.Create(name)
	if err != nil {
		return err
	}
	if _, err := w.Write(p); err != nil {
		return err
	}
	return w.Close()
}

type objectWriter struct {
	b   bucketIO
	key string
	buf bytes.Buffer
}

func (w *objectWriter) Write(p []byte) (int, error)         { return w.buf.Write(p) }
func (w *objectWriter) ReadFrom(r io.Reader) (int64, error) { return w.buf.ReadFrom(r) }
func (w *objectWriter) Close() error {
	_, err := w.b.store.Put(w.b.ctx, w.key, bytes.NewReader(w.buf.Bytes()), int64(w.buf.Len()), lake.PutCond{})
	return err
}

// objectFile is an open object: reads at offsets from tailOff on are
// served from tail; others are ranged reads.
type objectFile struct {
	name, key string
	size      int64
	r         bucketIO
	pos       int64

	mu      sync.Mutex
	tail    []byte
	tailOff int64
}

func (f *objectFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("icetable: read %s at %d", f.name, off)
	}
	if off >= f.size {
		return 0, io.EOF
	}
	want := int64(len(p))
	if off+want > f.size {
		want = f.size - off
	}
	start := max(f.size-tailBytes, 0)
	f.mu.Lock() // ReadAt may be called concurrently
	if f.tail == nil && off >= start {
		// The first read in the tail fetches all of it.
		data, err := f.r.store.ReadRange(f.r.ctx, f.key, start, f.size-start)
		if err != nil {
			f.mu.Unlock()
			return 0, pathErr("read", f.name, err)
		}
		f.tail, f.tailOff = data, start
	}
	tail, tailOff := f.tail, f.tailOff
	f.mu.Unlock()
	var data []byte
	if tail != nil && off >= tailOff {
		if off-tailOff > int64(len(tail)) {
			return 0, fmt.Errorf("icetable: read %s: %w (the object is smaller than %d bytes)", f.name, io.ErrUnexpectedEOF, f.size)
		}
		data = tail[off-tailOff:]
	} else {
		var err error
		if data, err = f.r.store.ReadRange(f.r.ctx, f.key, off, want); err != nil {
			return 0, pathErr("read", f.name, err)
		}
	}
	n := copy(p, data[:min(int64(len(data)), want)])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *objectFile) Read(p []byte) (int, error) {
	n, err := f.ReadAt(p, f.pos)
	f.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (f *objectFile) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.pos
	case io.SeekEnd:
		offset += f.size
	default:
		return 0, fmt.Errorf("icetable: seek %s: whence %d", f.name, whence)
	}
	if offset < 0 {
		return 0, fmt.Errorf("icetable: seek %s to %d", f.name, offset)
	}
	f.pos = offset
	return offset, nil
}

func (f *objectFile) Close() error               { return nil }
func (f *objectFile) Stat() (fs.FileInfo, error) { return objectInfo{f}, nil }

type objectInfo struct{ f *objectFile }

func (i objectInfo) Name() string       { return path.Base(i.f.name) }
func (i objectInfo) Size() int64        { return i.f.size }
func (i objectInfo) Mode() fs.FileMode  { return 0o444 }
func (i objectInfo) ModTime() time.Time { return time.Time{} }
func (i objectInfo) IsDir() bool        { return false }
func (i objectInfo) Sys() any           { return nil }

// removeListed deletes from store the files at keys that exist under
// prefix, listing prefix once (not one request per file), and returns the
// number deleted.
func removeListed(ctx context.Context, store lake.ObjectStore, prefix string, keys []string) (int, error) {
	want := make(map[string]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	var found []string
	err := store.List(ctx, prefix, "", func(o lake.ObjectInfo) error {
		if want[o.Key] {
			found = append(found, o.Key)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	sort.Strings(found)
	for i, k := range found {
		if err := store.Delete(ctx, k); err != nil {
			return i, fmt.Errorf("delete replaced file %s: %w", k, err)
		}
	}
	return len(found), nil
}
