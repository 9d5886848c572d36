package testservers

import (
	"net/url"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"
)

// GCSServer is an in-process fake GCS (fake-gcs-server) on 127.0.0.1.
type GCSServer struct {
	// Endpoint is the JSON API base URL, the value of a gs:// URL's
	// endpoint= parameter (which also turns authentication off).
	Endpoint string
	srv      *fakestorage.Server
}

// GCS starts a fake GCS. Its public host is 127.0.0.1 too, so that XML API
// download URLs it hands out reach the listening address.
func GCS(t testing.TB) *GCSServer {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme: "http", Host: "127.0.0.1", Port: 0, PublicHost: "127.0.0.1",
	})
	if err != nil {
		t.Fatalf("GCS test server: %v", err)
	}
	t.Cleanup(srv.Stop)
	return &GCSServer{Endpoint: srv.URL() + "/storage/v1/", srv: srv}
}

// CreateBucket creates a bucket.
func (g *GCSServer) CreateBucket(bucket string) {
	g.srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: bucket})
}

// Put stores an object as given (no Content-Encoding), so that it is read
// back byte for byte; the bucket must exist.
func (g *GCSServer) Put(bucket, key string, data []byte) {
	g.srv.CreateObject(fakestorage.Object{
		ObjectAttrs: fakestorage.ObjectAttrs{BucketName: bucket, Name: key},
		Content:     data,
	})
}

// URL is the gs:// source URL of bucket/prefix on this server.
func (g *GCSServer) URL(bucket, prefix string) string {
	return "gs://" + bucket + "/" + prefix + "?" + url.Values{"endpoint": {g.Endpoint}}.Encode()
}
