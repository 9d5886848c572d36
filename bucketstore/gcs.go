package bucketstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"

	"github.com/eventlake/eventlake/lake"
	gcssrc "github.com/eventlake/eventlake/loader/source/gcs"
)

func init() {
	lake.RegisterStore("gs", OpenGCS)
}

// GCS is a lake's root in a Google Cloud Storage bucket. Versions are
// generations: a create-if-absent write is ifGenerationMatch=0, a replace
// ifGenerationMatch=<generation>.
type GCS struct {
	src            *gcssrc.Source
	bucket         *storage.BucketHandle
	name, prefix   string
	unconditionals storage.RetryPolicy
}

// OpenGCS opens the lake at a gs://BUCKET/PREFIX/?… URL, with the URL
// parameters and credential handling of the GCS source (key file or
// Application Default Credentials, endpoint= for an emulator), asking for
// the read-write scope.
func OpenGCS(ctx context.Context, u *url.URL) (lake.ObjectStore, error) {
	o, err := gcssrc.ParseURL(u)
	if err != nil {
		return nil, fmt.Errorf("lake: %s", strings.Replace(err.Error(), "gcs source", "gcs lake", 1))
	}
	o.ReadWrite = true
	src, err := gcssrc.New(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("lake: %s", strings.Replace(err.Error(), "gcs source", "gcs lake", 1))
	}
	return &GCS{src: src, bucket: src.Client().Bucket(src.Bucket()), name: src.Bucket(), prefix: src.Prefix(),
		// Every write of the lake may be repeated: an unconditional one
		// writes the same bytes to the same key (a staged file, a
		// checkpoint) and a conditional one is refused the second time.
		unconditionals: storage.RetryAlways}, nil
}

// URL implements lake.ObjectStore.
func (g *GCS) URL() string { return "gs://" + g.name + "/" + g.prefix }

func (g *GCS) object(key string) *storage.ObjectHandle {
	return g.bucket.Object(g.prefix + key).Retryer(storage.WithPolicy(g.unconditionals))
}

// wrap maps the store's answers onto the lake's errors.
func (g *GCS) wrap(op, key string, err error) error {
	if err == nil {
		return nil
	}
	var ge *googleapi.Error
	code := 0
	if errors.As(err, &ge) {
		code = ge.Code
	}
	switch {
	case errors.Is(err, storage.ErrObjectNotExist) || code == http.StatusNotFound:
		return fmt.Errorf("%s %s%s: %w", op, g.URL(), key, lake.ErrNotExist)
	case code == http.StatusPreconditionFailed:
		return fmt.Errorf("%s %s%s: %w (%v)", op, g.URL(), key, lake.ErrPrecondition, err)
	case errors.Is(err, storage.ErrBucketNotExist):
		return fmt.Errorf("%s %s%s: bucket %q does not exist", op, g.URL(), key, g.name)
	}
	return fmt.Errorf("%s %s%s: %w", op, g.URL(), key, err)
}

// Get implements lake.ObjectStore.
func (g *GCS) Get(ctx context.Context, key string) ([]byte, string, error) {
	r, err := g.object(key).NewReader(ctx)
	if err != nil {
		return nil, "", g.wrap("get", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, "", g.wrap("get", key, err)
	}
	return b, strconv.FormatInt(r.Attrs.Generation, 10), nil
}

// Download implements lake.ObjectStore.
func (g *GCS) Download(ctx context.Context, key string, w io.Writer) error {
	r, err := g.object(key).NewReader(ctx)
	if err != nil {
		return g.wrap("download", key, err)
	}
	defer r.Close()
	_, err = io.Copy(w, r)
	return g.wrap("download", key, err)
}

// ReadRange implements lake.ObjectStore with a range reader.
func (g *GCS) ReadRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	r, err := g.object(key).NewRangeReader(ctx, off, n)
	if err != nil {
		return nil, g.wrap("read", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	return b, g.wrap("read", key, err)
}

// Size implements lake.ObjectStore with the object's attributes.
func (g *GCS) Size(ctx context.Context, key string) (int64, error) {
	a, err := g.object(key).Attrs(ctx)
	if err != nil {
		return 0, g.wrap("head", key, err)
	}
	return a.Size, nil
}

// Put implements lake.ObjectStore: ifGenerationMatch=0 creates only,
// ifGenerationMatch=<generation> replaces only that generation.
func (g *GCS) Put(ctx context.Context, key string, r io.Reader, size int64, cond lake.PutCond) (string, error) {
	h := g.object(key)
	switch {
	case cond.IfAbsent:
		h = h.If(storage.Conditions{DoesNotExist: true})
	case cond.IfMatch != "":
		gen, err := strconv.ParseInt(cond.IfMatch, 10, 64)
		if err != nil || gen <= 0 {
			return "", fmt.Errorf("put %s%s: %q is not a generation: %w", g.URL(), key, cond.IfMatch, lake.ErrPrecondition)
		}
		h = h.If(storage.Conditions{GenerationMatch: gen})
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // abandons the upload on error
	w := h.NewWriter(ctx)
	if size < googleapi.DefaultUploadChunkSize {
		// One request; the writer still buffers it for a retry.
		w.ChunkSize = int(size) + 1
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return "", g.wrap("put", key, err)
	}
	if err := w.Close(); err != nil {
		return "", g.wrap("put", key, err)
	}
	return strconv.FormatInt(w.Attrs().Generation, 10), nil
}

// Copy implements lake.ObjectStore with a server-side rewrite.
func (g *GCS) Copy(ctx context.Context, src, dst string) error {
	_, err := g.object(dst).CopierFrom(g.object(src)).Run(ctx)
	return g.wrap("copy "+src+" to", dst, err)
}

// Delete implements lake.ObjectStore.
func (g *GCS) Delete(ctx context.Context, key string) error {
	err := g.wrap("delete", key, g.object(key).Delete(ctx))
	if errors.Is(err, lake.ErrNotExist) {
		return nil
	}
	return err
}

// List implements lake.ObjectStore. GCS lists in byte-wise name order;
// startAfter becomes the inclusive StartOffset, so a name equal to it is
// skipped here.
func (g *GCS) List(ctx context.Context, prefix, startAfter string, fn func(lake.ObjectInfo) error) error {
	q := &storage.Query{Prefix: g.prefix + prefix}
	if startAfter != "" {
		q.StartOffset = g.prefix + startAfter
	}
	if err := q.SetAttrSelection([]string{"Name", "Size"}); err != nil {
		return err
	}
	it := g.bucket.Objects(ctx, q)
	it.PageInfo().MaxSize = gcssrc.PageSize
	for {
		a, err := it.Next()
		if err == iterator.Done {
			return nil
		}
		if err != nil {
			return g.wrap("list", prefix, err)
		}
		k, ok := strings.CutPrefix(a.Name, g.prefix)
		if !ok || !strings.HasPrefix(k, prefix) || (startAfter != "" && k <= startAfter) {
			continue
		}
		if err := fn(lake.ObjectInfo{Key: k, Size: a.Size}); err != nil {
			return err
		}
	}
}

// Close implements lake.ObjectStore.
func (g *GCS) Close() error { return g.src.Close() }
