package gcs

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"
	"google.golang.org/api/option"

	"github.com/eventlake/eventlake/loader/source"
	"github.com/eventlake/eventlake/loader/source/sourcetest"
)

// newServer starts an in-process fake GCS listening on 127.0.0.1. Its
// public host is 127.0.0.1 too, so that XML API downloads (what the client
// uses against the real service) reach it at the listening address.
func newServer(t *testing.T) *fakestorage.Server {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme: "http", Host: "127.0.0.1", Port: 0, NoListener: false, PublicHost: "127.0.0.1",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

func endpoint(srv *fakestorage.Server) string { return srv.URL() + "/storage/v1/" }

func put(srv *fakestorage.Server, bucket, name string, data []byte) {
	srv.CreateObject(fakestorage.Object{
		ObjectAttrs: fakestorage.ObjectAttrs{BucketName: bucket, Name: name},
		Content:     data,
	})
}

// counter counts object-listing requests, and those asking for a next page.
type counter struct {
	lists, pages atomic.Int64
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/o") {
		c.lists.Add(1)
		if r.URL.Query().Get("pageToken") != "" {
			c.pages.Add(1)
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestConformance runs the acceptance suite twice: as against the real
// service (XML API downloads of stored bytes; the endpoint comes in through
// client options, as the service's would) and as against an emulator given
// with Options.Endpoint (JSON API downloads).
func TestConformance(t *testing.T) {
	for _, emulated := range []bool{false, true} {
		t.Run(fmt.Sprintf("emulated=%v", emulated), func(t *testing.T) { conformance(t, emulated) })
	}
}

func conformance(t *testing.T, emulated bool) {
	srv := newServer(t)
	cnt := &counter{}
	var n atomic.Int64
	sourcetest.Run(t, func(t *testing.T) sourcetest.Backend {
		bucket := fmt.Sprintf("bucket-%d", n.Add(1))
		srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: bucket})
		// Objects beside the root must never be listed.
		put(srv, bucket, "other/x", []byte("outside"))
		put(srv, bucket, "rootx", []byte("outside"))
		put(srv, bucket, "root/", []byte("")) // folder placeholder
		return sourcetest.Backend{
			Put: func(t *testing.T, key string, data []byte) { put(srv, bucket, "root/"+key, data) },
			Open: func(t *testing.T) source.Source {
				o := Options{Bucket: bucket, Prefix: "root",
					ClientOptions: []option.ClientOption{option.WithHTTPClient(&http.Client{Transport: cnt})}}
				if emulated {
					o.Endpoint = endpoint(srv)
				} else {
					o.ClientOptions = append(o.ClientOptions, option.WithEndpoint(endpoint(srv)))
				}
				s, err := New(context.Background(), o)
				if err != nil {
					t.Fatal(err)
				}
				return s
			},
		}
	}, sourcetest.Options{})
	// The Paging case lists 1,100 objects with pages of 1,000: at least one
	// request must have asked for a second page.
	if cnt.lists.Load() == 0 || cnt.pages.Load() == 0 {
		t.Errorf("listing requests: %d, of which next-page requests: %d; want at least one next page", cnt.lists.Load(), cnt.pages.Load())
	}
}

// TestGzipEncodedReadAsStored checks that an object stored with
// Content-Encoding: gzip is read as stored (compressed), so its bytes match
// its listed size; decompression is the format layer's job.
func TestGzipEncodedReadAsStored(t *testing.T) {
	srv := newServer(t)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "b"})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(strings.Repeat(`{"id":"1","eventName":"order-created_event-v1"}`+"\n", 50)))
	zw.Close()
	srv.CreateObject(fakestorage.Object{
		ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "b", Name: "2024-02-01/part-0001.json.gz", ContentEncoding: "gzip", ContentType: "application/x-ndjson"},
		Content:     gz.Bytes(),
	})
	ctx := context.Background()
	s, err := New(ctx, Options{Bucket: "b", ClientOptions: []option.ClientOption{option.WithEndpoint(endpoint(srv)), option.WithoutAuthentication()}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rc, obj, err := s.Open(ctx, "2024-02-01/part-0001.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, gz.Bytes()) || obj.Size != int64(gz.Len()) {
		t.Errorf("read %d bytes (listed size %d), want the %d stored gzip bytes", len(data), obj.Size, gz.Len())
	}
}

func TestURL(t *testing.T) {
	srv := newServer(t)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "ff-export"})
	put(srv, "ff-export", "2024-02-01/part-0001.json.gz", []byte("gz"))
	put(srv, "ff-export", "2024-02-02/part-0001.json.gz", []byte("gz2"))
	ctx := context.Background()

	cases := []struct {
		url     string
		wantURL string
		want    []string
	}{
		{"gs://ff-export/?endpoint=" + endpoint(srv), "gs://ff-export/", []string{"2024-02-01/part-0001.json.gz", "2024-02-02/part-0001.json.gz"}},
		{"gs://ff-export?endpoint=" + endpoint(srv), "gs://ff-export/", []string{"2024-02-01/part-0001.json.gz", "2024-02-02/part-0001.json.gz"}},
		{"gs://ff-export/2024-02-02?endpoint=" + endpoint(srv), "gs://ff-export/2024-02-02/", []string{"part-0001.json.gz"}},
		{"gs://ff-export/2024-02-02/?endpoint=" + endpoint(srv), "gs://ff-export/2024-02-02/", []string{"part-0001.json.gz"}},
	}
	for _, c := range cases {
		s, err := source.Open(ctx, c.url)
		if err != nil {
			t.Fatalf("Open(%s): %v", c.url, err)
		}
		if got := s.URL(); got != c.wantURL {
			t.Errorf("Open(%s).URL() = %q, want %q", c.url, got, c.wantURL)
		}
		var got []string
		if err := s.List(ctx, source.ListOptions{}, func(o source.Object) error {
			got = append(got, o.Key)
			return nil
		}); err != nil {
			t.Fatalf("List(%s): %v", c.url, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("List(%s) = %q, want %q", c.url, got, c.want)
		}
		s.Close()
	}
}

// TestEmulatorEnv checks that STORAGE_EMULATOR_HOST alone reaches the
// emulator, without credentials.
func TestEmulatorEnv(t *testing.T) {
	srv := newServer(t)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "b"})
	put(srv, "b", "k", []byte("hello"))
	t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(srv.URL(), "http://"))
	ctx := context.Background()
	s, err := source.Open(ctx, "gs://b/")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rc, obj, err := s.Open(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(data) != "hello" || obj.Size != 5 || obj.Version == "" || obj.Version == "0" {
		t.Errorf("read %q (%v), object %+v; want \"hello\", size 5 and a generation", data, err, obj)
	}
}

func TestOpenVersionIsGenerationRead(t *testing.T) {
	srv := newServer(t)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "b"})
	put(srv, "b", "k", []byte("v1"))
	ctx := context.Background()
	s, err := New(ctx, Options{Bucket: "b", Endpoint: endpoint(srv)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var listed source.Object
	if err := s.List(ctx, source.ListOptions{}, func(o source.Object) error { listed = o; return nil }); err != nil {
		t.Fatal(err)
	}
	put(srv, "b", "k", []byte("version 2"))
	rc, got, err := s.Open(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "version 2" || got.Size != int64(len(data)) {
		t.Errorf("read %q (size %d), want the new content", data, got.Size)
	}
	if got.Version == listed.Version {
		t.Errorf("Open version %q equals the listed one after a replace; want the generation read", got.Version)
	}
	st, err := s.Stat(ctx, "k")
	if err != nil || st.Version != got.Version {
		t.Errorf("Stat = %+v, %v; want version %q", st, err, got.Version)
	}
}

func TestMissingBucket(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	s, err := New(ctx, Options{Bucket: "nope", Endpoint: endpoint(srv)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.List(ctx, source.ListOptions{}, func(source.Object) error { return nil })
	if err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("List on a missing bucket: %v; want an error naming the bucket", err)
	}
}

func TestCredentialsFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	missing := filepath.Join(dir, "ocff-tenant-prod-0123.json")
	_, err := source.Open(ctx, "gs://b/p/?credentials="+missing)
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing key file: error %v; want it to name %s and say it does not exist", err, missing)
	}

	const secret = "-----BEGIN PRIVATE KEY-----SUPERSECRET"
	garbage := filepath.Join(dir, "garbage.json")
	if err := os.WriteFile(garbage, []byte(secret+`{"type":`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = New(ctx, Options{Bucket: "b", CredentialsFile: garbage})
	if err == nil || !strings.Contains(err.Error(), garbage) || strings.Contains(err.Error(), "SUPERSECRET") {
		t.Errorf("unparseable key file: error %v; want it to name the file and not echo its content", err)
	}

	odd := filepath.Join(dir, "odd.json")
	if err := os.WriteFile(odd, []byte(`{"type":"something_else","private_key":"SUPERSECRET"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = New(ctx, Options{Bucket: "b", CredentialsFile: odd})
	if err == nil || !strings.Contains(err.Error(), "something_else") || strings.Contains(err.Error(), "SUPERSECRET") {
		t.Errorf("unsupported key type: error %v; want it to name the type and not echo the key", err)
	}
}

func TestBadURLs(t *testing.T) {
	ctx := context.Background()
	cases := []struct{ url, want string }{
		{"gs:///prefix/", "missing bucket"},
		{"gs://b/p/?credential=x.json", `unknown parameter "credential"`},
		{"gs://user:pw@b/p/", "user information"},
		{"gs://b/p/?endpoint=127.0.0.1:4443", "not an http(s) URL"},
	}
	for _, c := range cases {
		_, err := source.Open(ctx, c.url)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%s) error = %v, want it to contain %q", c.url, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("Open(%s) error %q echoes the password", c.url, err)
		}
	}
}

func TestNotFoundMapping(t *testing.T) {
	srv := newServer(t)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "b"})
	ctx := context.Background()
	s, err := New(ctx, Options{Bucket: "b", Prefix: "root/", Endpoint: endpoint(srv)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, _, err = s.Open(ctx, "gone")
	if !errors.Is(err, source.ErrNotFound) || !strings.Contains(err.Error(), "gs://b/root/gone") {
		t.Errorf("Open(gone) = %v; want ErrNotFound naming gs://b/root/gone", err)
	}
}

// TestConcurrentList lists from several goroutines at once (the race
// detector checks the source's shared state).
func TestConcurrentList(t *testing.T) {
	srv := newServer(t)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "b"})
	for i := 0; i < 20; i++ {
		put(srv, "b", fmt.Sprintf("k%02d", i), []byte{byte(i)})
	}
	ctx := context.Background()
	s, err := New(ctx, Options{Bucket: "b", Endpoint: endpoint(srv)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			err := s.List(ctx, source.ListOptions{StartAfter: "k04"}, func(source.Object) error { n++; return nil })
			if err == nil && n != 15 {
				err = fmt.Errorf("listed %d objects after k04, want 15", n)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
