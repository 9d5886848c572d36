package s3

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/eventlake/eventlake/internal/testservers"
)

// The tests speak the real S3 protocol to gofakes3 (in memory) behind an
// httptest server on 127.0.0.1. A handler in front of it counts requests,
// records who signed them and injects faults on a deterministic schedule.

const (
	baseKeyID  = testservers.AWSAccessKeyID
	baseSecret = testservers.AWSSecretAccessKey
)

// setEnv gives the SDK static credentials and keeps it away from the
// machine's AWS configuration, instance metadata and endpoint overrides.
func setEnv(t testing.TB) { testservers.AWSEnv(t) }

type fault int

const (
	pass     fault = iota
	err500         // 500 InternalError
	slowDown       // 503 SlowDown
	cut            // the headers and half of the body, then the connection closes
	cutEmpty       // the headers, no body, then the connection closes
	stall          // the headers and half of the body, then silence
)

// stats are what the fault handler saw.
type stats struct {
	requests     int
	objectGets   int
	lists        int
	continuation map[string]int // bucket -> ListObjectsV2 requests with a continuation token
	http500      int
	slowDowns    int
	cuts         int
	stalls       int
	resumes      []string // "key Range If-Match" of ranged GETs
	preconds     int      // 412 answers
	accessKeys   map[string]int
	tokens       map[string]int
}

type server struct {
	backend *s3mem.Backend
	fake    http.Handler
	URL     string
	release chan struct{} // ends stalled connections

	mu            sync.Mutex
	st            stats
	schedule      []fault // cycled over every request; nil: no faults
	next          int
	ignoreIfMatch bool                     // behave like a store without If-Match on GET
	onCut         func(bucket, key string) // runs after a cut body was half sent
	kms           map[string]string        // "bucket/key" -> message of the 403 a GET gets
	denied        map[string]bool          // "bucket/key" ("bucket/" for listings) -> 403 to all
	redirect      string                   // non-empty: every request gets 301 naming this region
}

func newServer(t testing.TB) *server {
	t.Helper()
	s := &server{
		backend: s3mem.New(),
		release: make(chan struct{}),
		kms:     map[string]string{},
		denied:  map[string]bool{},
	}
	s.st.continuation = map[string]int{}
	s.st.accessKeys = map[string]int{}
	s.st.tokens = map[string]int{}
	s.fake = gofakes3.New(s.backend).Server()
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	t.Cleanup(func() { close(s.release) }) // runs first: stalled handlers return
	s.URL = ts.URL
	return s
}

func (s *server) stats() stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.resumes = append([]string(nil), s.st.resumes...)
	return st
}

// configure changes the server's behaviour under its lock.
func (s *server) configure(f func(s *server)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *server) setSchedule(f ...fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.schedule, s.next = f, 0
}

func (s *server) createBucket(t testing.TB, bucket string) {
	t.Helper()
	if err := s.backend.CreateBucket(bucket); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
}

func (s *server) put(t testing.TB, bucket, key string, data []byte) {
	t.Helper()
	meta := map[string]string{"Last-Modified": time.Now().UTC().Format(http.TimeFormat)}
	if _, err := s.backend.PutObject(bucket, key, meta, bytes.NewReader(data), int64(len(data)), nil); err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
}

func (s *server) etag(bucket, key string) string {
	obj, err := s.backend.HeadObject(bucket, key)
	if err != nil {
		return ""
	}
	defer obj.Contents.Close()
	return `"` + hex.EncodeToString(obj.Hash) + `"`
}

// split returns bucket and key of a path-style request.
func split(r *http.Request) (bucket, key string) {
	bucket, key, _ = strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	return bucket, key
}

func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-amz-request-id", "FAULT0000000001")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<Error><Code>%s</Code><Message>%s</Message><RequestId>FAULT0000000001</RequestId><HostId>aG9zdA==</HostId></Error>`, code, msg)
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bucket, key := split(r)
	isObjectGet := r.Method == http.MethodGet && key != ""
	s.mu.Lock()
	s.st.requests++
	if auth := r.Header.Get("Authorization"); auth != "" {
		if _, rest, ok := strings.Cut(auth, "Credential="); ok {
			id, _, _ := strings.Cut(rest, "/")
			s.st.accessKeys[id]++
		}
	}
	if tok := r.Header.Get("X-Amz-Security-Token"); tok != "" {
		s.st.tokens[tok]++
	}
	if r.Method == http.MethodGet && key == "" && r.URL.Query().Get("list-type") == "2" {
		s.st.lists++
		if r.URL.Query().Has("continuation-token") {
			s.st.continuation[bucket]++
		}
	}
	if isObjectGet {
		s.st.objectGets++
		if rg := r.Header.Get("Range"); rg != "" {
			s.st.resumes = append(s.st.resumes, key+" "+rg+" "+r.Header.Get("If-Match"))
		}
	}
	f := pass
	if len(s.schedule) > 0 {
		f = s.schedule[s.next%len(s.schedule)]
		s.next++
	}
	kmsMsg, kms := s.kms[bucket+"/"+key]
	denied := s.denied[bucket+"/"+key]
	redirect := s.redirect
	ignoreIfMatch := s.ignoreIfMatch
	onCut := s.onCut
	s.mu.Unlock()

	switch {
	case redirect != "":
		w.Header().Set("x-amz-bucket-region", redirect)
		writeError(w, r, http.StatusMovedPermanently, "PermanentRedirect",
			"The bucket you are attempting to access must be addressed using the specified endpoint.")
		return
	case f == err500:
		s.count(func(st *stats) { st.http500++ })
		writeError(w, r, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
		return
	case f == slowDown:
		s.count(func(st *stats) { st.slowDowns++ })
		writeError(w, r, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
		return
	}
	if denied {
		writeError(w, r, http.StatusForbidden, "AccessDenied", "Access Denied")
		return
	}
	if kms && key != "" {
		if r.Method == http.MethodGet {
			writeError(w, r, http.StatusForbidden, "AccessDenied", kmsMsg)
			return
		}
		w.Header().Set("x-amz-server-side-encryption", "aws:kms")
		w.Header().Set("x-amz-server-side-encryption-aws-kms-key-id", "arn:aws:kms:us-east-1:111122223333:key/test-key")
	}
	if isObjectGet && !ignoreIfMatch {
		// gofakes3 ignores If-Match on GET; S3 answers 412.
		if im := r.Header.Get("If-Match"); im != "" {
			if cur := s.etag(bucket, key); cur != "" && cur != im {
				s.count(func(st *stats) { st.preconds++ })
				writeError(w, r, http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
				return
			}
		}
	}
	if isObjectGet && (f == cut || f == cutEmpty || f == stall) {
		if s.breakBody(w, r, f, bucket, key, onCut) {
			return
		}
	}
	s.fake.ServeHTTP(w, r)
}

func (s *server) count(f func(*stats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.st)
}

// breakBody answers the GET with correct headers and a partial body, then
// closes the connection (cut, cutEmpty) or goes silent (stall). It reports
// false when the answer is not a body worth breaking (errors, tiny objects).
func (s *server) breakBody(w http.ResponseWriter, r *http.Request, f fault, bucket, key string, onCut func(bucket, key string)) bool {
	rec := httptest.NewRecorder()
	s.fake.ServeHTTP(rec, r)
	res := rec.Result()
	body := rec.Body.Bytes()
	if res.StatusCode/100 != 2 || (f != cutEmpty && len(body) < 2) {
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		w.Write(body)
		return true
	}
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err) // httptest servers always support hijacking
	}
	defer conn.Close()
	half := len(body) / 2
	if f == cutEmpty {
		half = 0
	}
	res.Header.Set("Content-Length", fmt.Sprint(len(body)))
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", res.StatusCode, http.StatusText(res.StatusCode))
	res.Header.Write(buf)
	buf.WriteString("\r\n")
	buf.Write(body[:half])
	buf.Flush()
	switch f {
	case stall:
		s.count(func(st *stats) { st.stalls++ })
		<-s.release
	default:
		s.count(func(st *stats) { st.cuts++ })
		if onCut != nil {
			onCut(bucket, key)
		}
	}
	return true
}

// openSource opens an S3 source on the test server with fast retries.
func openSource(t testing.TB, srv *server, bucket, prefix, query string, tune func(*Options)) *Source {
	t.Helper()
	raw := fmt.Sprintf("s3://%s/%s?endpoint=%s&path_style=true", bucket, prefix, url.QueryEscape(srv.URL))
	if query != "" {
		raw += "&" + query
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	b, p, o, err := ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	o.backoff = func(int) time.Duration { return 0 }
	if tune != nil {
		tune(&o)
	}
	s, err := New(context.Background(), b, p, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
