package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/eventlake/eventlake/loader/source"
)

func content(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

func readAll(t *testing.T, s *Source, key string) ([]byte, source.Object, error) {
	t.Helper()
	rc, obj, err := s.Open(context.Background(), key)
	if err != nil {
		return nil, obj, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	return data, obj, err
}

// TestResumeAfterFaults reads objects of many sizes while the server
// answers 500, 503 SlowDown and cuts bodies half-way: every byte must arrive
// exactly once and in order.
func TestResumeAfterFaults(t *testing.T) {
	setEnv(t)
	srv := newServer(t)
	srv.createBucket(t, "faults")
	sizes := []int{0, 1, 2, 3, 1000, 64<<10 + 7, 300 << 10}
	want := map[string][]byte{}
	for i, n := range sizes {
		k := fmt.Sprintf("main_stream/2024/02/01/09/obj-%d", i)
		want[k] = content(int64(i), n)
		srv.put(t, "faults", k, want[k])
	}
	s := openSource(t, srv, "faults", "main_stream/", "", nil)
	srv.setSchedule(err500, slowDown, cut, pass, cut, pass, slowDown, cut, cut, pass)
	for k, w := range want {
		key := strings.TrimPrefix(k, "main_stream/")
		data, obj, err := readAll(t, s, key)
		if err != nil {
			t.Fatalf("read %s: %v", key, err)
		}
		if !bytes.Equal(data, w) {
			t.Errorf("%s: got %d bytes, want %d (first difference at %d)", key, len(data), len(w), firstDiff(data, w))
		}
		if obj.Size != int64(len(w)) {
			t.Errorf("%s: Open size %d, want %d", key, obj.Size, len(w))
		}
	}
	st := srv.stats()
	if st.http500 == 0 || st.slowDowns == 0 || st.cuts == 0 {
		t.Errorf("faults injected: %d×500, %d×SlowDown, %d cuts; want some of each", st.http500, st.slowDowns, st.cuts)
	}
	resumedMidway := false
	for _, r := range st.resumes {
		key, rest, _ := strings.Cut(r, " ")
		rng, ifMatch, _ := strings.Cut(rest, " ")
		if ifMatch != srv.etag("faults", key) {
			t.Errorf("resume %q: If-Match %q, want the object's ETag %q", r, ifMatch, srv.etag("faults", key))
		}
		if strings.HasPrefix(rng, "bytes=") && rng != "bytes=0-" {
			resumedMidway = true
		}
	}
	if !resumedMidway {
		t.Errorf("no ranged GET resumed in the middle of an object; ranged GETs: %q", st.resumes)
	}
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	return len(a)
}

// TestObjectReplacedWhileReading: an object replaced (or deleted) between a
// cut and the resume must fail the read, never mix two versions.
func TestObjectReplacedWhileReading(t *testing.T) {
	cases := []struct {
		name          string
		ignoreIfMatch bool // the store ignores If-Match: the ETag check must catch it
		delete        bool
	}{
		{name: "PreconditionFailed"},
		{name: "IfMatchIgnored", ignoreIfMatch: true},
		{name: "Deleted", delete: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			setEnv(t)
			srv := newServer(t)
			srv.createBucket(t, "b")
			old := bytes.Repeat([]byte("old version\n"), 1000)
			srv.put(t, "b", "obj", old)
			s := openSource(t, srv, "b", "", "", nil)
			srv.configure(func(s *server) {
				s.ignoreIfMatch = c.ignoreIfMatch
				s.schedule = []fault{cut}
				s.onCut = func(bucket, key string) {
					// Runs on the server while the client waits for the
					// rest of the body.
					srv.configure(func(s *server) { s.schedule = nil })
					var err error
					if c.delete {
						_, err = srv.backend.DeleteObject(bucket, key)
					} else {
						_, err = srv.backend.PutObject(bucket, key, map[string]string{}, strings.NewReader(strings.Repeat("NEW version\n", 1000)), 12000, nil)
					}
					if err != nil {
						t.Errorf("changing %s: %v", key, err)
					}
				}
			})
			data, _, err := readAll(t, s, "obj")
			if !errors.Is(err, source.ErrObjectChanged) || !strings.Contains(err.Error(), "object changed while reading") {
				t.Fatalf("read error = %v, want source.ErrObjectChanged", err)
			}
			if c.delete != errors.Is(err, source.ErrNotFound) {
				t.Errorf("errors.Is(%v, ErrNotFound) = %v, want %v", err, !c.delete, c.delete)
			}
			if !bytes.Equal(data, old[:len(data)]) || len(data) >= len(old) {
				t.Errorf("got %d bytes that are not a strict prefix of the old version", len(data))
			}
			st := srv.stats()
			if st.cuts != 1 {
				t.Errorf("%d cuts, want 1", st.cuts)
			}
			if wantPre := c.name == "PreconditionFailed"; (st.preconds == 1) != wantPre {
				t.Errorf("%d 412 answers, want %v", st.preconds, wantPre)
			}
		})
	}
}

// TestStalledBodyResumes: a connection that stops sending mid-body is
// dropped after ReadIdleTimeout and the read resumes.
func TestStalledBodyResumes(t *testing.T) {
	setEnv(t)
	srv := newServer(t)
	srv.createBucket(t, "b")
	want := content(7, 100<<10)
	srv.put(t, "b", "obj", want)
	s := openSource(t, srv, "b", "", "", func(o *Options) { o.ReadIdleTimeout = 300 * time.Millisecond })
	// Only the first request stalls.
	srv.configure(func(s *server) { s.schedule = append([]fault{stall}, make([]fault, 100)...) })
	data, _, err := readAll(t, s, "obj")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, want) {
		t.Errorf("got %d bytes, want %d (first difference at %d)", len(data), len(want), firstDiff(data, want))
	}
	if st := srv.stats(); st.stalls != 1 || len(st.resumes) == 0 {
		t.Errorf("%d stalls, %d ranged GETs; want 1 stall and a resume", st.stalls, len(st.resumes))
	}
}

// TestResumeGivesUp: a connection that dies before every first byte is
// resumed MaxResumes times, then the read fails.
func TestResumeGivesUp(t *testing.T) {
	setEnv(t)
	srv := newServer(t)
	srv.createBucket(t, "b")
	srv.put(t, "b", "obj", content(1, 1000))
	s := openSource(t, srv, "b", "", "", func(o *Options) { o.MaxResumes = 3 })
	srv.setSchedule(cutEmpty)
	_, _, err := readAll(t, s, "obj")
	if err == nil || !strings.Contains(err.Error(), "3 attempts to resume") || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("read error = %v, want a give-up after 3 resumes", err)
	}
	if got := srv.stats().objectGets; got != 4 {
		t.Errorf("%d GETs, want 4 (the first and 3 resumes)", got)
	}
}

// TestRetriesBounded: throttling that never ends fails after MaxAttempts.
func TestRetriesBounded(t *testing.T) {
	setEnv(t)
	srv := newServer(t)
	srv.createBucket(t, "b")
	srv.put(t, "b", "obj", []byte("x"))
	s := openSource(t, srv, "b", "", "", func(o *Options) { o.MaxAttempts = 3 })
	srv.setSchedule(slowDown)
	ctx := context.Background()
	checks := map[string]func() error{
		"Stat": func() error { _, err := s.Stat(ctx, "obj"); return err },
		"Open": func() error { _, _, err := s.Open(ctx, "obj"); return err },
		"List": func() error {
			return s.List(ctx, source.ListOptions{}, func(source.Object) error { return nil })
		},
	}
	for name, f := range checks {
		before := srv.stats().requests
		err := f()
		if err == nil || !strings.Contains(err.Error(), "503") {
			t.Errorf("%s error = %v, want the 503 SlowDown", name, err)
		}
		if n := srv.stats().requests - before; n != 3 {
			t.Errorf("%s made %d requests, want 3", name, n)
		}
	}
}

func TestAccessDenied(t *testing.T) {
	setEnv(t)
	srv := newServer(t)
	srv.createBucket(t, "b")
	for _, k := range []string{"kms-msg", "kms-head", "plain"} {
		srv.put(t, "b", "p/"+k, []byte("secret data"))
	}
	srv.configure(func(s *server) {
		s.kms["b/p/kms-msg"] = "User: arn:aws:sts::111122223333:assumed-role/x/eventlake is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:111122223333:key/test-key"
		s.kms["b/p/kms-head"] = "Access Denied"
		s.denied["b/p/plain"] = true
	})
	s := openSource(t, srv, "b", "p/", "", nil)
	ctx := context.Background()
	cases := []struct {
		key     string
		want    []string
		notWant string
	}{
		{"kms-msg", []string{"kms:Decrypt", "s3://b/p/kms-msg"}, ""},
		{"kms-head", []string{"kms:Decrypt", "arn:aws:kms:us-east-1:111122223333:key/test-key", "s3://b/p/kms-head"}, ""},
		{"plain", []string{"s3:GetObject", "arn:aws:s3:::b/p/plain"}, "kms"},
	}
	for _, c := range cases {
		_, _, err := s.Open(ctx, c.key)
		if err == nil {
			t.Errorf("Open(%s) succeeded", c.key)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Open(%s) error = %q, want it to mention %q", c.key, err, w)
			}
		}
		if c.notWant != "" && strings.Contains(err.Error(), c.notWant) {
			t.Errorf("Open(%s) error = %q, should not mention %q", c.key, err, c.notWant)
		}
		if errors.Is(err, source.ErrNotFound) {
			t.Errorf("Open(%s): access denied reported as not found", c.key)
		}
	}
	// HEAD of an SSE-KMS object needs no kms:Decrypt.
	if _, err := s.Stat(ctx, "kms-head"); err != nil {
		t.Errorf("Stat(kms-head): %v", err)
	}
	if _, err := s.Stat(ctx, "plain"); err == nil || !strings.Contains(err.Error(), "s3:GetObject") {
		t.Errorf("Stat(plain) error = %v, want it to mention s3:GetObject", err)
	}
	srv.configure(func(s *server) { s.denied["b/"] = true })
	err := s.List(ctx, source.ListOptions{}, func(source.Object) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "s3:ListBucket on arn:aws:s3:::b") {
		t.Errorf("List error = %v, want it to mention s3:ListBucket", err)
	}
}

func TestReaderClose(t *testing.T) {
	setEnv(t)
	srv := newServer(t)
	srv.createBucket(t, "b")
	srv.put(t, "b", "obj", content(3, 10000))
	s := openSource(t, srv, "b", "", "", nil)
	rc, _, err := s.Open(context.Background(), "obj")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	if _, err := io.ReadFull(rc, buf); err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := rc.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if n, err := rc.Read(buf); n != 0 || err == nil || err == io.EOF {
		t.Errorf("Read after Close = %d, %v; want an error", n, err)
	}
	if got := srv.stats().objectGets; got != 1 {
		t.Errorf("%d GETs, want 1", got)
	}
}

// TestCancelStopsReading: a cancelled context ends the stream instead of
// being taken for a connection failure to resume from.
func TestCancelStopsReading(t *testing.T) {
	setEnv(t)
	srv := newServer(t)
	srv.createBucket(t, "b")
	srv.put(t, "b", "obj", content(4, 4<<20))
	s := openSource(t, srv, "b", "", "", nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rc, _, err := s.Open(ctx, "obj")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	buf := make([]byte, 1000)
	if _, err := io.ReadFull(rc, buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	_, err = io.Copy(io.Discard, rc)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("read after cancel: error = %v, want context.Canceled", err)
	}
	if got := srv.stats().objectGets; got != 1 {
		t.Errorf("%d GETs, want 1 (no resume after cancel)", got)
	}
}

func TestParseContentRange(t *testing.T) {
	cases := []struct {
		in           string
		start, total int64
		ok           bool
	}{
		{"bytes 0-9/10", 0, 10, true},
		{"bytes 5-9/10", 5, 10, true},
		{"bytes 5-9/*", 5, -1, true},
		{"bytes */10", 0, 0, false},
		{"items 0-1/2", 0, 0, false},
		{"bytes -1-2/3", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, c := range cases {
		start, total, ok := parseContentRange(c.in)
		if start != c.start || total != c.total || ok != c.ok {
			t.Errorf("parseContentRange(%q) = %d, %d, %v; want %d, %d, %v", c.in, start, total, ok, c.start, c.total, c.ok)
		}
	}
}

// BenchmarkOpenRead measures streaming 1 MiB objects through the reader
// from the in-process server.
func BenchmarkOpenRead(b *testing.B) {
	setEnv(b)
	srv := newServer(b)
	srv.createBucket(b, "b")
	data := content(5, 1<<20)
	srv.put(b, "b", "obj", data)
	s := openSource(b, srv, "b", "", "", nil)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		rc, _, err := s.Open(context.Background(), "obj")
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil || n != int64(len(data)) {
			b.Fatalf("read %d bytes, %v", n, err)
		}
	}
}
