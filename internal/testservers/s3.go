// Package testservers starts in-process stand-ins for the storage services
// eventlake reads from (S3, STS, GCS, SFTP), for tests that exercise the
// real client code of each backend. Every server listens on 127.0.0.1 only
// and is shut down by t.Cleanup.
//
// The starters that configure the environment (S3 sets AWS_* variables)
// use t.Setenv, so tests calling them cannot run in parallel.
package testservers

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Static credentials AWSEnv gives the SDK. gofakes3 does not verify
// signatures; the values only have to be present.
const (
	AWSAccessKeyID     = "AKIDTESTSERVERS"
	AWSSecretAccessKey = "testservers-secret-not-to-be-printed"
	AWSRegion          = "us-east-1"
)

// AWSEnv gives the AWS SDK static credentials and a region, and keeps it
// away from the machine's AWS configuration, instance metadata, endpoint
// overrides and retry settings. The previous values return after the test.
func AWSEnv(t testing.TB) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           AWSAccessKeyID,
		"AWS_SECRET_ACCESS_KEY":       AWSSecretAccessKey,
		"AWS_REGION":                  AWSRegion,
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
	for _, k := range []string{
		"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_DEFAULT_REGION",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_STS", "AWS_CA_BUNDLE",
		"AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_NEW_RETRIES_2026", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
	} {
		t.Setenv(k, "") // registers the restore of the old value
		os.Unsetenv(k)
	}
}

// S3Server is an in-memory S3 (gofakes3 with the s3mem backend) behind an
// httptest server on 127.0.0.1, addressed path-style.
type S3Server struct {
	// Endpoint is the server's base URL (http://127.0.0.1:PORT), the value
	// of an s3:// URL's endpoint= parameter.
	Endpoint string
	backend  *s3mem.Backend
	ts       *httptest.Server
}

// Close stops the server: open connections are closed and new ones
// refused, as when a store dies. It may be called from a handler (it does
// not wait for the requests in flight).
func (s *S3Server) Close() {
	s.ts.Listener.Close()
	s.ts.CloseClientConnections()
}

// S3 starts an S3 server and sets the AWS environment (AWSEnv). Each
// middleware wraps the gofakes3 handler, the first one outermost: fault
// injection, request counting.
func S3(t testing.TB, middleware ...func(http.Handler) http.Handler) *S3Server {
	t.Helper()
	AWSEnv(t)
	backend := s3mem.New()
	var h http.Handler = gofakes3.New(backend).Server()
	for i := len(middleware) - 1; i >= 0; i-- {
		h = middleware[i](h)
	}
	ts := httptest.NewServer(h) // listens on 127.0.0.1
	t.Cleanup(ts.Close)
	return &S3Server{Endpoint: ts.URL, backend: backend, ts: ts}
}

// CreateBucket creates a bucket.
func (s *S3Server) CreateBucket(t testing.TB, bucket string) {
	t.Helper()
	if err := s.backend.CreateBucket(bucket); err != nil {
		t.Fatalf("S3 test server: create bucket %s: %v", bucket, err)
	}
}

// Put stores an object (the bucket must exist).
func (s *S3Server) Put(t testing.TB, bucket, key string, data []byte) {
	t.Helper()
	meta := map[string]string{"Last-Modified": time.Now().UTC().Format(http.TimeFormat)}
	if _, err := s.backend.PutObject(bucket, key, meta, bytes.NewReader(data), int64(len(data)), nil); err != nil {
		t.Fatalf("S3 test server: put %s/%s: %v", bucket, key, err)
	}
}

// URL is the s3:// source URL of bucket/prefix on this server (path-style,
// region us-east-1) with the extra query parameters, if any.
func (s *S3Server) URL(bucket, prefix string, extra url.Values) string {
	q := url.Values{}
	for k, v := range extra {
		q[k] = v
	}
	q.Set("endpoint", s.Endpoint)
	q.Set("path_style", "true")
	q.Set("region", AWSRegion)
	return fmt.Sprintf("s3://%s/%s?%s", bucket, prefix, q.Encode())
}
