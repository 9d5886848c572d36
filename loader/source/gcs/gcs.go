// Package gcs reads objects from a Google Cloud Storage bucket. It registers
// the "gs" scheme:
//
//	gs://BUCKET/PREFIX/?credentials=./key.json
//	gs://BUCKET/PREFIX/?endpoint=http://127.0.0.1:4443/storage/v1/
//
// credentials= names a key file (the service-account key fulfillmenttools
// hands out, ocff-<tenant>-<tier>-<key_id>.json); without it Application
// Default Credentials are used. endpoint= points at an emulator and then
// skips authentication; the STORAGE_EMULATOR_HOST environment variable, which
// the client library honours, does the same.
//
// The PREFIX is the source root, a folder: keys are object names relative to
// it. Objects are read as stored (gzip content-encoding is not undone by the
// transport) so that listed sizes, bytes read and versions agree, and an
// interrupted download can resume by range; the format layer detects the
// compression. An emulator gets JSON API downloads, which cannot ask for the
// stored bytes: there a gzip-encoded object arrives decompressed. An object's
// version is its generation.
package gcs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/eventlake/eventlake/loader/source"
)

func init() {
	source.Register("gs", func(ctx context.Context, u *url.URL) (source.Source, error) {
		o, err := optionsFromURL(u)
		if err != nil {
			return nil, err
		}
		return New(ctx, o)
	})
}

// PageSize is the number of objects asked for per listing request. It is the
// server's default and maximum; setting it explicitly also makes emulators,
// which otherwise return everything at once, page like the real service.
const PageSize = 1000

// Options configure a GCS source.
type Options struct {
	// Bucket is the bucket name.
	Bucket string
	// Prefix is the root folder inside the bucket ("" for the whole bucket).
	// A missing trailing '/' is added.
	Prefix string
	// CredentialsFile is a JSON key file (service account, or any other
	// credentials file type gcloud writes). Empty: Application Default
	// Credentials, or none when Endpoint is set.
	CredentialsFile string
	// Endpoint overrides the JSON API endpoint, e.g. an emulator at
	// http://127.0.0.1:4443/storage/v1/. Without CredentialsFile, requests to
	// it are not authenticated.
	Endpoint string
	// Breaker is the source's circuit breaker (default: a new one with the
	// default thresholds, see source.Breaker).
	Breaker *source.Breaker
	// ClientOptions are passed to storage.NewClient after the ones derived
	// from the fields above (tests use them to inject an HTTP client).
	ClientOptions []option.ClientOption
	// ReadWrite asks for the read-write scope instead of the read-only one
	// (a lake in a bucket writes; a source never does).
	ReadWrite bool
}

// knownParams are the URL query parameters the "gs" scheme understands.
var knownParams = []string{"credentials", "endpoint"}

// ParseURL returns the options of a gs://BUCKET/PREFIX/?… URL (for other
// users of the source's client setup, such as a lake in a bucket).
func ParseURL(u *url.URL) (Options, error) { return optionsFromURL(u) }

func optionsFromURL(u *url.URL) (Options, error) {
	name := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	if u.User != nil {
		return Options{}, fmt.Errorf("gcs source %s: user information is not allowed in a gs:// URL; pass a key file with ?credentials=FILE", name)
	}
	q := u.Query()
	for k := range q {
		if !contains(knownParams, k) {
			return Options{}, fmt.Errorf("gcs source %s: unknown parameter %q (known: %s)", name, k, strings.Join(knownParams, ", "))
		}
	}
	return Options{
		Bucket:          u.Host,
		Prefix:          strings.TrimPrefix(u.Path, "/"),
		CredentialsFile: q.Get("credentials"),
		Endpoint:        q.Get("endpoint"),
	}, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Source is a GCS bucket, or a folder of one.
type Source struct {
	client *storage.Client
	bucket *storage.BucketHandle
	name   string // bucket name
	root   string // "" or '/'-terminated
	// emulated: talking to an emulator (Endpoint or STORAGE_EMULATOR_HOST),
	// which gets JSON API downloads; they cannot ask for stored bytes, so
	// ReadCompressed is not used there.
	emulated bool
	breaker  *source.Breaker
}

// Retries: the client library's policy (idempotent requests, its list of
// retryable errors) with a bounded number of attempts, a backoff capped at
// maxBackoff, and none once the breaker has opened.
const (
	maxAttempts = 8
	maxBackoff  = 2 * time.Second
)

// New creates a GCS source. It does not contact the service: a key file that
// cannot be read is reported here, access problems on first use.
func New(ctx context.Context, o Options) (*Source, error) {
	if err := validBucket(o.Bucket); err != nil {
		return nil, err
	}
	root := strings.TrimPrefix(o.Prefix, "/")
	if root != "" && !strings.HasSuffix(root, "/") {
		root += "/"
	}
	s := &Source{name: o.Bucket, root: root, emulated: o.Endpoint != "" || os.Getenv("STORAGE_EMULATOR_HOST") != ""}

	var opts []option.ClientOption
	if o.CredentialsFile != "" {
		credOpt, err := credentials(o.CredentialsFile)
		if err != nil {
			return nil, fmt.Errorf("gcs source %s: %w", s.URL(), err)
		}
		// Read-only scope: the loader never writes to the vendor's bucket.
		scope := storage.ScopeReadOnly
		if o.ReadWrite {
			scope = storage.ScopeReadWrite
		}
		opts = append(opts, credOpt, option.WithScopes(scope))
	}
	if o.Endpoint != "" {
		if u, err := url.Parse(o.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("gcs source %s: endpoint %q is not an http(s) URL", s.URL(), o.Endpoint)
		}
		opts = append(opts, option.WithEndpoint(o.Endpoint))
		if o.CredentialsFile == "" {
			opts = append(opts, option.WithoutAuthentication())
		}
	}
	if s.emulated {
		// Emulators (fake-gcs-server) serve XML API downloads only under
		// their configured public host name, which is rarely the address an
		// endpoint override points at; JSON API downloads always work.
		opts = append(opts, storage.WithJSONReads())
	}
	opts = append(opts, o.ClientOptions...)
	c, err := storage.NewClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("gcs source %s: %w", s.URL(), err)
	}
	s.breaker = o.Breaker
	if s.breaker == nil {
		s.breaker = &source.Breaker{}
	}
	c.SetRetry(
		storage.WithBackoff(gax.Backoff{Initial: 200 * time.Millisecond, Max: maxBackoff, Multiplier: 2}),
		storage.WithMaxAttempts(maxAttempts),
		storage.WithErrorFunc(func(err error) bool {
			if errors.Is(s.breaker.Observe(err), source.ErrUnreachable) {
				return false
			}
			return storage.ShouldRetry(err)
		}),
	)
	s.client = c
	s.bucket = c.Bucket(o.Bucket)
	return s, nil
}

// validBucket applies the bucket naming rules that matter for building
// URLs; the service enforces the rest.
func validBucket(b string) error {
	if b == "" {
		return errors.New("gcs source: missing bucket name (gs://BUCKET/PREFIX/)")
	}
	if len(b) > 222 || strings.ContainsAny(b, "/?#% ") {
		return fmt.Errorf("gcs source: invalid bucket name %q", b)
	}
	return nil
}

// credTypes maps the "type" field of a Google credentials JSON file to the
// type the client library must be told. Only these are accepted: a file of
// another type (or a tampered one) is refused rather than trusted blindly.
var credTypes = map[string]option.CredentialsType{
	"service_account":              option.ServiceAccount,
	"authorized_user":              option.AuthorizedUser,
	"impersonated_service_account": option.ImpersonatedServiceAccount,
	"external_account":             option.ExternalAccount,
}

// credentials reads a key file. Errors name the file, never its content: it
// holds a private key.
func credentials(file string) (option.ClientOption, error) {
	p := file
	if strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, p[2:])
		}
	}
	data, err := os.ReadFile(p)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("credentials file %s does not exist", file)
		case errors.Is(err, fs.ErrPermission):
			return nil, fmt.Errorf("credentials file %s: permission denied", file)
		}
		return nil, fmt.Errorf("credentials file %s cannot be read: %w", file, err)
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		// json errors quote offsets and at most a character, not content.
		return nil, fmt.Errorf("credentials file %s is not a JSON key file", file)
	}
	t, ok := credTypes[head.Type]
	if !ok {
		known := make([]string, 0, len(credTypes))
		for k := range credTypes {
			known = append(known, k)
		}
		sort.Strings(known)
		return nil, fmt.Errorf("credentials file %s: unsupported credentials type %q (want one of %s)", file, head.Type, strings.Join(known, ", "))
	}
	return option.WithAuthCredentialsJSON(t, data), nil
}

// URL implements source.Source: gs://BUCKET/PREFIX/, so that URL()+key is
// the object's address.
func (s *Source) URL() string {
	return "gs://" + s.name + "/" + s.root
}

// Close implements source.Source.
func (s *Source) Close() error { return s.client.Close() }

// Client returns the source's client (retries and circuit breaker set).
func (s *Source) Client() *storage.Client { return s.client }

// Bucket returns the bucket's name.
func (s *Source) Bucket() string { return s.name }

// Prefix returns the source's root folder ("" or '/'-terminated).
func (s *Source) Prefix() string { return s.root }

func (s *Source) where(key string) string { return s.URL() + key }

// wrap turns a client error into one naming the object, mapping "no such
// object" onto source.ErrNotFound.
func (s *Source) wrap(key string, err error) error {
	if berr := s.breaker.GaveUp(err); errors.Is(berr, source.ErrUnreachable) {
		return fmt.Errorf("gcs source %s: %w", s.where(key), berr)
	}
	if errors.Is(err, storage.ErrObjectNotExist) {
		return fmt.Errorf("gcs source %s: %w", s.where(key), source.ErrNotFound)
	}
	if errors.Is(err, storage.ErrBucketNotExist) {
		return fmt.Errorf("gcs source %s: bucket %q does not exist", s.where(key), s.name)
	}
	return fmt.Errorf("gcs source %s: %w", s.where(key), err)
}

// List implements source.Source. GCS lists in byte-wise name order already;
// StartAfter becomes the (inclusive) StartOffset, so the one name equal to it
// is dropped here.
func (s *Source) List(ctx context.Context, opts source.ListOptions, fn func(source.Object) error) error {
	q := &storage.Query{Prefix: s.root + opts.Prefix}
	if opts.StartAfter != "" {
		q.StartOffset = s.root + opts.StartAfter
	}
	// Only what an Object needs: keeps each page small.
	if err := q.SetAttrSelection([]string{"Name", "Size", "Updated", "Generation"}); err != nil {
		return fmt.Errorf("gcs source %s: %w", s.URL(), err)
	}
	if err := s.breaker.Check(); err != nil {
		return fmt.Errorf("gcs source %s: listing: %w", s.URL(), err)
	}
	it := s.bucket.Objects(ctx, q)
	it.PageInfo().MaxSize = PageSize
	for {
		a, err := it.Next()
		if err == iterator.Done {
			return nil
		}
		if err != nil {
			if errors.Is(err, storage.ErrBucketNotExist) {
				return fmt.Errorf("gcs source %s: bucket %q does not exist", s.URL(), s.name)
			}
			err = s.breaker.GaveUp(err)
			return fmt.Errorf("gcs source %s: listing: %w", s.URL(), err)
		}
		s.breaker.Observe(nil)
		key, ok := strings.CutPrefix(a.Name, s.root)
		// Names ending in '/' are folder placeholders written by consoles;
		// a name with an empty first segment ("root//x") has no valid key.
		if !ok || key == "" || strings.HasSuffix(key, "/") || strings.HasPrefix(key, "/") {
			continue
		}
		if !strings.HasPrefix(key, opts.Prefix) || (opts.StartAfter != "" && key <= opts.StartAfter) {
			continue
		}
		if err := fn(source.Object{Key: key, Size: a.Size, ModTime: a.Updated.UTC(), Version: strconv.FormatInt(a.Generation, 10)}); err != nil {
			return err
		}
	}
}

func (s *Source) handle(key string) (*storage.ObjectHandle, error) {
	if key == "" || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") {
		return nil, fmt.Errorf("gcs source %s: invalid key %q", s.URL(), key)
	}
	h := s.bucket.Object(s.root + key)
	if !s.emulated {
		// Bytes as stored, see the package comment.
		h = h.ReadCompressed(true)
	}
	return h, nil
}

// Open implements source.Source. The returned version is the generation
// actually read: if the object was replaced since it was listed, the caller
// sees a different version. The client library pins that generation when it
// resumes an interrupted download, so the bytes all come from one generation.
func (s *Source) Open(ctx context.Context, key string) (io.ReadCloser, source.Object, error) {
	h, err := s.handle(key)
	if err != nil {
		return nil, source.Object{}, err
	}
	if err := s.breaker.Check(); err != nil {
		return nil, source.Object{}, fmt.Errorf("gcs source %s: %w", s.where(key), err)
	}
	r, err := h.NewReader(ctx)
	if err != nil {
		return nil, source.Object{}, s.wrap(key, err)
	}
	s.breaker.Observe(nil)
	a := r.Attrs
	return &reader{r: r, s: s, key: key}, source.Object{
		Key: key, Size: a.Size, ModTime: a.LastModified.UTC(), Version: strconv.FormatInt(a.Generation, 10),
	}, nil
}

// reader names the object in read errors.
type reader struct {
	r   *storage.Reader
	s   *Source
	key string
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = r.s.wrap(r.key, err)
	}
	return n, err
}

func (r *reader) Close() error { return r.r.Close() }

// Stat implements source.Source.
func (s *Source) Stat(ctx context.Context, key string) (source.Object, error) {
	h, err := s.handle(key)
	if err != nil {
		return source.Object{}, err
	}
	if err := s.breaker.Check(); err != nil {
		return source.Object{}, fmt.Errorf("gcs source %s: %w", s.where(key), err)
	}
	a, err := h.Attrs(ctx)
	if err != nil {
		return source.Object{}, s.wrap(key, err)
	}
	return source.Object{Key: key, Size: a.Size, ModTime: a.Updated.UTC(), Version: strconv.FormatInt(a.Generation, 10)}, nil
}
