package watch

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/parquet-go/parquet-go"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/loader"
)

// The integration tests run the watcher against real protocol servers on
// 127.0.0.1: gofakes3 for S3 (through the loader's S3 source and the AWS
// SDK) and fakesqs for SQS (through the SDK's SQS client). They wait on
// conditions with a timeout, never on sleeps.

// setEnv gives the SDK static credentials and keeps it away from the
// machine's AWS configuration, instance metadata and endpoint overrides.
func setEnv(t testing.TB) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "AKIDWATCHTEST",
		"AWS_SECRET_ACCESS_KEY":       "watch-test-secret",
		"AWS_REGION":                  "us-east-1",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
	for _, k := range []string{
		"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_DEFAULT_REGION",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_STS", "AWS_CA_BUNDLE",
		"AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
	} {
		t.Setenv(k, "") // restores the old value after the test
		os.Unsetenv(k)
	}
}

// s3Server is gofakes3 behind a handler that can hold object GETs (a slow
// load, stopped half-way) and refuse objects (a load that keeps failing).
type s3Server struct {
	backend *s3mem.Backend
	fake    http.Handler
	URL     string

	mu      sync.Mutex
	stall   map[string]chan struct{} // "bucket/key" → closed to let its GETs through
	stalled map[string]int           // GETs that reached a stall
	deny    map[string]bool          // "bucket/key" → 403 AccessDenied
}

func newS3(t *testing.T, buckets ...string) *s3Server {
	t.Helper()
	s := &s3Server{backend: s3mem.New(), stall: map[string]chan struct{}{}, stalled: map[string]int{}, deny: map[string]bool{}}
	s.fake = gofakes3.New(s.backend).Server()
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	t.Cleanup(s.releaseAll) // runs first: held handlers return
	s.URL = ts.URL
	for _, b := range buckets {
		if err := s.backend.CreateBucket(b); err != nil {
			t.Fatalf("create bucket %s: %v", b, err)
		}
	}
	return s
}

func (s *s3Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bk := strings.TrimPrefix(r.URL.Path, "/")
	s.mu.Lock()
	denied := s.deny[bk]
	release, held := s.stall[bk]
	if held && r.Method == http.MethodGet {
		s.stalled[bk]++
	}
	s.mu.Unlock()
	if denied {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		if r.Method != http.MethodHead {
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
		}
		return
	}
	if held && r.Method == http.MethodGet {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
	}
	s.fake.ServeHTTP(w, r)
}

func (s *s3Server) put(t *testing.T, bucket, key string, data []byte) {
	t.Helper()
	meta := map[string]string{"Last-Modified": time.Now().UTC().Format(http.TimeFormat)}
	if _, err := s.backend.PutObject(bucket, key, meta, bytes.NewReader(data), int64(len(data)), nil); err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
}

// hold makes GETs of bucket/key wait until the returned function runs.
func (s *s3Server) hold(bucket, key string) (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{})
	s.stall[bucket+"/"+key] = ch
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			delete(s.stall, bucket+"/"+key)
			s.mu.Unlock()
			close(ch)
		})
	}
}

func (s *s3Server) heldGets(bucket, key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stalled[bucket+"/"+key]
}

func (s *s3Server) releaseAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, ch := range s.stall {
		close(ch)
		delete(s.stall, k)
	}
}

func (s *s3Server) setDeny(bucket, key string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deny[bucket+"/"+key] = on
}

// sourceURL is an s3:// source on the fake server.
func (s *s3Server) sourceURL(bucket, prefix string) string {
	return fmt.Sprintf("s3://%s/%s?endpoint=%s&path_style=true&region=us-east-1", bucket, prefix, s.URL)
}

// pismoFile returns an NDJSON Pismo batch of n events with IDs name-1…name-n.
func pismoFile(name string, n int) ([]byte, []string) {
	var b bytes.Buffer
	var ids []string
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("%s-%d", name, i)
		ids = append(ids, id)
		fmt.Fprintf(&b, `{"event_id":%q,"domain":"cards","event_type":"card-blocked-1","schema_version":1,"org_id":"TN-1","cid":"c-%d","timestamp":"2024-02-01T10:00:%02dZ","data":{"n":%d}}`+"\n", id, i, i, i)
	}
	return b.Bytes(), ids
}

// lakeEvent is the part of an events row the tests check.
type lakeEvent struct {
	EventID string `parquet:"event_id"`
	Object  string `parquet:"_object"`
}

// lakeEvents reads every published events file and counts rows by event_id.
func lakeEvents(t *testing.T, lake string) map[string]int {
	t.Helper()
	out := map[string]int{}
	root := filepath.Join(lake, "events")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return filepath.SkipDir
			}
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".parquet") {
			return nil
		}
		rows, err := parquet.ReadFile[lakeEvent](p)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		for _, r := range rows {
			out[r.EventID]++
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading the lake: %v", err)
	}
	return out
}

// wantExactly checks that the lake holds each id once and nothing else.
func wantExactly(t *testing.T, lake string, ids []string) {
	t.Helper()
	got := lakeEvents(t, lake)
	want := map[string]int{}
	for _, id := range ids {
		want[id] = 1
	}
	var diffs []string
	for id, n := range got {
		if want[id] != n {
			diffs = append(diffs, fmt.Sprintf("%s: %d rows, want %d", id, n, want[id]))
		}
	}
	for id, n := range want {
		if got[id] == 0 {
			diffs = append(diffs, fmt.Sprintf("%s: 0 rows, want %d", id, n))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("lake events differ from the events sent:\n  %s", strings.Join(diffs, "\n  "))
	}
}

// waitFor polls cond until it holds, failing the test after a timeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// started is a watcher running in the background.
type started struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned
	err    error         // Run's result, once done is closed
	logs   *syncBuffer
}

// stop cancels the watcher and returns Run's result.
func (s *started) stop(t *testing.T) error {
	t.Helper()
	s.cancel()
	select {
	case <-s.done:
		return s.err
	case <-time.After(20 * time.Second):
		t.Fatal("watcher did not stop within 20s")
		return nil
	}
}

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs a watcher with test-friendly defaults (fast batches and
// backoff, no periodic backfill unless set).
func start(t *testing.T, o Options) *started {
	t.Helper()
	logs := &syncBuffer{}
	if o.Log == nil {
		o.Log = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if o.Load.Workers == 0 {
		o.Load.Workers = 2
	}
	if o.BatchMaxWait == 0 {
		o.BatchMaxWait = 20 * time.Millisecond
	}
	if o.BackoffMin == 0 {
		o.BackoffMin, o.BackoffMax = 5*time.Millisecond, 50*time.Millisecond
	}
	if o.HeartbeatInterval == 0 {
		o.HeartbeatInterval = 50 * time.Millisecond
	}
	if o.WaitTime == 0 {
		o.WaitTime = 2 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &started{cancel: cancel, done: make(chan struct{}), logs: logs}
	go func() {
		defer close(s.done)
		s.err = Run(ctx, o)
	}()
	t.Cleanup(func() {
		cancel()
		<-s.done
		if t.Failed() {
			t.Logf("watcher logs:\n%s", logs.String())
		}
	})
	return s
}

// objectStatus reads the catalog's status of source+key ("" if absent).
func objectStatus(t *testing.T, lake, src, key string) string {
	t.Helper()
	cat, err := catalog.Open(loader.CatalogPath(lake), catalog.Options{ReadOnly: true})
	if err != nil {
		return ""
	}
	defer cat.Close()
	objs, err := cat.Objects(context.Background(), src)
	if err != nil {
		t.Fatalf("catalog objects: %v", err)
	}
	return string(objs[key].Status)
}

// metric reads one sample from a Prometheus text exposition ("" if absent).
func metric(text, name string) string {
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			return rest
		}
	}
	return ""
}

// metricNum is metric as a number (-1 if absent).
func metricNum(text, name string) float64 {
	v, err := strconv.ParseFloat(metric(text, name), 64)
	if err != nil {
		return -1
	}
	return v
}
