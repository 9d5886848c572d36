package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/eventlake/eventlake/loader/source"
	"github.com/eventlake/eventlake/loader/source/sourcetest"
)

// suiteBackends returns a sourcetest backend factory: a fresh bucket per
// case, the source rooted at "root/" with decoy objects around the root that
// must never be listed. names maps bucket -> test name.
func suiteBackends(srv *server, names map[string]string, open func(t *testing.T, bucket string) source.Source) func(t *testing.T) sourcetest.Backend {
	n := 0
	return func(t *testing.T) sourcetest.Backend {
		n++
		bucket := fmt.Sprintf("suite-%03d", n)
		names[bucket] = t.Name()
		srv.createBucket(t, bucket)
		for _, k := range []string{"aaa-outside", "root", "root/", "root/folder/", "rootless/x", "zzz/root/x"} {
			srv.put(t, bucket, k, []byte("decoy"))
		}
		return sourcetest.Backend{
			Put: func(t *testing.T, key string, data []byte) { srv.put(t, bucket, "root/"+key, data) },
			Open: func(t *testing.T) source.Source {
				return open(t, bucket)
			},
		}
	}
}

func TestAcceptance(t *testing.T) {
	setEnv(t)
	srv := newServer(t)
	names := map[string]string{}
	sourcetest.Run(t, suiteBackends(srv, names, func(t *testing.T, bucket string) source.Source {
		// Through the registered scheme, as the loader opens it.
		raw := fmt.Sprintf("s3://%s/root/?region=us-east-1&endpoint=%s&path_style=true", bucket, url.QueryEscape(srv.URL))
		s, err := source.Open(context.Background(), raw)
		if err != nil {
			t.Fatalf("open %s: %v", raw, err)
		}
		if got, want := s.URL(), "s3://"+bucket+"/root/"; got != want {
			t.Errorf("URL() = %q, want %q", got, want)
		}
		return s
	}), sourcetest.Options{})

	// The paging case must really have crossed a 1,000-key page.
	var paging string
	for b, name := range names {
		if strings.HasSuffix(name, "/Paging") {
			paging = b
		}
	}
	st := srv.stats()
	if paging == "" {
		t.Fatal("no Paging case ran")
	}
	if st.continuation[paging] == 0 {
		t.Errorf("Paging listed bucket %s without a continuation token: it never crossed a page", paging)
	}
	for b, n := range st.continuation {
		if b != paging {
			t.Errorf("bucket %s (%s) needed %d continuation requests, want 0", b, names[b], n)
		}
	}
}

// TestAcceptanceUnderFaults runs the whole suite while the server answers
// 500s, 503 SlowDowns and cuts bodies in half on a fixed schedule.
func TestAcceptanceUnderFaults(t *testing.T) {
	setEnv(t)
	srv := newServer(t)
	srv.setSchedule(pass, err500, pass, cut, slowDown, pass, pass, cut, pass, slowDown, err500, pass)
	names := map[string]string{}
	sourcetest.Run(t, suiteBackends(srv, names, func(t *testing.T, bucket string) source.Source {
		return openSource(t, srv, bucket, "root/", "", nil)
	}), sourcetest.Options{})
	st := srv.stats()
	if st.http500 == 0 || st.slowDowns == 0 || st.cuts == 0 || len(st.resumes) == 0 {
		t.Errorf("faults injected: %d×500, %d×SlowDown, %d cuts, %d ranged resumes; want some of each",
			st.http500, st.slowDowns, st.cuts, len(st.resumes))
	}
}

func TestParseURL(t *testing.T) {
	cases := []struct {
		raw            string
		bucket, prefix string
		want           Options
	}{
		{"s3://bucket", "bucket", "", Options{}},
		{"s3://bucket/", "bucket", "", Options{}},
		{"s3://pismo-dataplatform-tn-376a/main_stream/", "pismo-dataplatform-tn-376a", "main_stream/", Options{}},
		{"s3://b/main_stream", "b", "main_stream", Options{}},
		{"s3://b/a%20b/c%23d/", "b", "a b/c#d/", Options{}},
		{"s3://b/p/?region=eu-west-1&profile=prod", "b", "p/", Options{Region: "eu-west-1", Profile: "prod"}},
		{
			"s3://b/Order/?role=arn:aws:iam::123456789012:role/COFFEE_AMZN_JWOS_Role&external_id=ext-1&session_name=loader.1&sts_endpoint=https://sts.eu-west-1.amazonaws.com",
			"b", "Order/",
			Options{Role: "arn:aws:iam::123456789012:role/COFFEE_AMZN_JWOS_Role", ExternalID: "ext-1", SessionName: "loader.1", STSEndpoint: "https://sts.eu-west-1.amazonaws.com"},
		},
		{"s3://b/?endpoint=http://127.0.0.1:9000&path_style=true", "b", "", Options{Endpoint: "http://127.0.0.1:9000", PathStyle: true}},
		{"s3://b/?path_style=false", "b", "", Options{}},
	}
	for _, c := range cases {
		u, err := url.Parse(c.raw)
		if err != nil {
			t.Fatal(err)
		}
		bucket, prefix, o, err := ParseURL(u)
		if err != nil {
			t.Errorf("ParseURL(%s): %v", c.raw, err)
			continue
		}
		if bucket != c.bucket || prefix != c.prefix || fmt.Sprintf("%+v", o) != fmt.Sprintf("%+v", c.want) {
			t.Errorf("ParseURL(%s) = %q, %q, %+v; want %q, %q, %+v", c.raw, bucket, prefix, o, c.bucket, c.prefix, c.want)
		}
	}
}

// TestBadURLs checks the errors name the problem and never a secret.
func TestBadURLs(t *testing.T) {
	setEnv(t)
	const role = "role=arn:aws:iam::123456789012:role/x"
	cases := []struct{ raw, want string }{
		{"s3://b/p/?external_id=secret123&bogus=1", `unknown parameter "bogus"`},
		{"s3://b/p/?external_id=secret123", "need role="},
		{"s3:///p/?external_id=secret123&" + role, "missing bucket"},
		{"s3://user:secret123@b/p/", "credentials in the URL"},
		{"s3://secret123@b/p/", "credentials in the URL"},
		{"s3://b/p/?region=%zz&external_id=secret123&" + role, "malformed query"},
		{"s3://b:9000/p/?external_id=secret123&" + role, "not a bucket name"},
		{"s3://b/p/?external_id=secret123&role=x", "not an IAM role ARN"},
		{"s3://b/p/?external_id=secret123!&" + role, "external_id must be"},
		{"s3://b/p/?external_id=secret123&external_id=secret123&" + role, "given 2 times"},
		{"s3://b/p/?endpoint=http://u:secret123@127.0.0.1:1&external_id=secret123&" + role, "must not carry credentials"},
		{"s3://b/p/?endpoint=127.0.0.1:9000&external_id=secret123&" + role, "not an http(s) URL"},
		{"s3://b/p/?path_style=yes&external_id=secret123&" + role, "path_style"},
		{"s3://b/p/?region=Not_A_Region&external_id=secret123&" + role, "not a region name"},
		{"s3://b/p/?session_name=x&external_id=secret123&" + role, "session_name"},
		{"s3://b/p#frag?external_id=secret123", "%23"},
	}
	for _, c := range cases {
		_, err := source.Open(context.Background(), c.raw)
		if err == nil {
			t.Errorf("Open(%s) succeeded, want an error", c.raw)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, c.want) || strings.Contains(msg, "secret123") {
			t.Errorf("Open(%s) error = %q; want it to contain %q and not the secret", c.raw, msg, c.want)
		}
	}
	// A profile that does not exist fails at open, naming the profile.
	_, err := source.Open(context.Background(), "s3://b/p/?profile=nope&external_id=secret123&"+role)
	if err == nil || !strings.Contains(err.Error(), "nope") || strings.Contains(err.Error(), "secret123") {
		t.Errorf("missing profile: error = %v", err)
	}
}

// TestRootWithoutSlash documents the root semantics: the prefix is a folder
// (a missing '/' is added), keys are what follows it, and URL()+key is the
// object's address.
func TestRootWithoutSlash(t *testing.T) {
	setEnv(t)
	srv := newServer(t)
	srv.createBucket(t, "b")
	for _, k := range []string{"main_stream/2024/x", "main_stream2/y", "main_stream", "other/z"} {
		srv.put(t, "b", k, []byte(k))
	}
	ctx := context.Background()
	s := openSource(t, srv, "b", "main_stream", "", nil)
	if got, want := s.URL(), "s3://b/main_stream/"; got != want {
		t.Errorf("URL() = %q, want %q", got, want)
	}
	var keys []string
	if err := s.List(ctx, source.ListOptions{}, func(o source.Object) error {
		keys = append(keys, o.Key)
		rc, _, err := s.Open(ctx, o.Key)
		if err != nil {
			return err
		}
		defer rc.Close()
		data, err := io.ReadAll(rc)
		if err != nil {
			return err
		}
		if want := strings.TrimPrefix(s.URL()+o.Key, "s3://b/"); string(data) != want {
			t.Errorf("%s: content %q, want %q", o.Key, data, want)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(keys), "[2024/x]"; got != want {
		t.Errorf("keys = %s, want %s", got, want)
	}

	// At the bucket root the URL ends in '/' so that URL()+key works.
	s = openSource(t, srv, "b", "", "", nil)
	if got, want := s.URL(), "s3://b/"; got != want {
		t.Errorf("URL() = %q, want %q", got, want)
	}
	if _, _, err := s.Open(ctx, ""); err == nil {
		t.Error("Open of an empty key succeeded")
	}
}

// TestEndpointFromEnvironment: AWS_ENDPOINT_URL_S3 works like endpoint=.
func TestEndpointFromEnvironment(t *testing.T) {
	setEnv(t)
	srv := newServer(t)
	srv.createBucket(t, "envbucket")
	srv.put(t, "envbucket", "k", []byte("v"))
	t.Setenv("AWS_ENDPOINT_URL_S3", srv.URL)
	s, err := source.Open(context.Background(), "s3://envbucket/?path_style=true")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	o, err := s.Stat(context.Background(), "k")
	if err != nil {
		t.Fatalf("Stat through AWS_ENDPOINT_URL_S3: %v", err)
	}
	if o.Size != 1 {
		t.Errorf("size = %d, want 1", o.Size)
	}
	if n := srv.stats().requests; n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}
}

// TestVersionIsETag: List, Open and Stat agree on the unquoted ETag.
func TestVersionIsETag(t *testing.T) {
	setEnv(t)
	srv := newServer(t)
	srv.createBucket(t, "b")
	srv.put(t, "b", "k", []byte("content"))
	want := strings.Trim(srv.etag("b", "k"), `"`)
	s := openSource(t, srv, "b", "", "", nil)
	ctx := context.Background()
	var listed source.Object
	if err := s.List(ctx, source.ListOptions{}, func(o source.Object) error { listed = o; return nil }); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stat(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	rc, opened, err := s.Open(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	for _, got := range []source.Object{listed, st, opened} {
		if got.Version != want || got.Size != 7 || got.ModTime.Location() != time.UTC || got.ModTime.IsZero() {
			t.Errorf("object = %+v, want version %s, size 7, a UTC mtime", got, want)
		}
	}
}

func TestRegionHint(t *testing.T) {
	setEnv(t)
	srv := newServer(t)
	srv.createBucket(t, "b")
	srv.configure(func(s *server) { s.redirect = "eu-west-1" })
	s := openSource(t, srv, "b", "p/", "", nil)
	err := s.List(context.Background(), source.ListOptions{}, func(source.Object) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "region=eu-west-1") {
		t.Errorf("List error = %v, want a hint to use region=eu-west-1", err)
	}
	_, err = s.Stat(context.Background(), "k")
	if err == nil || !strings.Contains(err.Error(), "region=eu-west-1") || errors.Is(err, source.ErrNotFound) {
		t.Errorf("Stat error = %v, want a hint to use region=eu-west-1", err)
	}
}

func TestMissingBucket(t *testing.T) {
	setEnv(t)
	srv := newServer(t)
	s := openSource(t, srv, "nosuchbucket", "", "", nil)
	err := s.List(context.Background(), source.ListOptions{}, func(source.Object) error { return nil })
	if err == nil || !strings.Contains(err.Error(), `bucket "nosuchbucket" does not exist`) {
		t.Errorf("List error = %v, want bucket does not exist", err)
	}
	_, _, err = s.Open(context.Background(), "k")
	if err == nil || errors.Is(err, source.ErrNotFound) {
		t.Errorf("Open in a missing bucket: error = %v, want an error that is not ErrNotFound", err)
	}
}
