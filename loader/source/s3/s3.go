// Package s3 reads objects from an Amazon S3 bucket, or from an S3-compatible
// store (MinIO, Ceph RGW, ...), for the eventlake loader. It registers the
// "s3" URL scheme:
//
//	s3://BUCKET/PREFIX/?region=us-east-1&profile=NAME
//	    &role=arn:aws:iam::123456789012:role/x&external_id=…&session_name=…&sts_endpoint=URL
//	    &endpoint=http://127.0.0.1:9000&path_style=true
//
// # Root and keys
//
// The source root is BUCKET plus PREFIX, always taken as a folder: a missing
// trailing '/' is added (s3://b/main_stream lists main_stream/…, never
// main_stream2/…). Keys are the S3 keys with PREFIX cut off, so URL()+key is
// always the object's s3:// address. Objects whose key ends in '/' ("folder"
// markers made by consoles) are not listed.
//
// # Parameters
//
//   - region: the bucket's region. Default: AWS_REGION / the profile's
//     region, else us-east-1. A wrong region makes S3 answer with a
//     redirect; the error then names the bucket's real region.
//   - profile: a profile of the shared AWS config and credentials files.
//   - role: an IAM role ARN to assume through sts:AssumeRole (Pismo and the
//     Amazon JWO reports hand out such a role); the credentials of the default
//     chain call AssumeRole, and the temporary credentials are refreshed before
//     they expire.
//   - external_id: the ExternalId the role's trust policy requires (a secret:
//     it is never printed; source.Redact hides it).
//   - session_name: RoleSessionName, default "eventlake" (shows in the
//     bucket owner's CloudTrail).
//   - sts_endpoint: the STS endpoint URL, for VPC endpoints, FIPS endpoints
//     and tests. AWS_ENDPOINT_URL_STS works too.
//   - endpoint, path_style: the endpoint URL of an S3-compatible store and
//     whether it needs path-style addressing (MinIO does). AWS_ENDPOINT_URL_S3
//     and AWS_ENDPOINT_URL are honoured as the AWS SDK does; endpoint= wins.
//
// Credentials are never part of the URL: they come from the AWS SDK default
// chain (environment, shared config and credentials files with profiles and
// SSO, web identity, ECS and EC2 instance roles), optionally followed by
// AssumeRole.
//
// # Permissions
//
// The credentials (after AssumeRole, the role) need:
//   - s3:ListBucket on arn:aws:s3:::BUCKET (listing);
//   - s3:GetObject on arn:aws:s3:::BUCKET/PREFIX* (reading, Stat);
//     s3:GetObjectVersion is what vendors grant alongside and what reading a
//     specific version would need: this backend always reads the current
//     version, but keep it in the policy;
//   - kms:Decrypt on the bucket's KMS key when objects are SSE-KMS encrypted
//     (Pismo's and Amazon JWO's are). Nothing else is needed to read them: S3
//     decrypts on GET for callers allowed to use the key. A GET refused for
//     lack of kms:Decrypt is reported as such;
//   - sts:AssumeRole on the role (and the role's trust policy must trust the
//     caller) when role= is used.
//
// # Versions
//
// Object.Version is the ETag without quotes, from List, Open and Stat alike,
// so the three compare equal. It changes whenever the content does (and also
// when identical bytes are re-uploaded in different multipart parts). The
// VersionId of versioned buckets is not part of it: ListObjectsV2 does not
// return it, and a Version that differed between List and Open would make
// every object look changed. ModTime is LastModified in UTC: to the
// millisecond from List, to the second from Open and Stat (HTTP dates).
//
// # Reading
//
// Open streams the object with one GET. Throttling (503 SlowDown), 5xx
// answers and connection errors before the body are retried by the SDK's
// standard retryer (bounded attempts, exponential backoff with jitter). If the
// connection fails in the middle of the body, or the body ends before
// Content-Length bytes, or no byte arrives for ReadIdleTimeout, the reader
// re-issues the GET for the remaining bytes (Range: bytes=N-) with
// If-Match: <ETag>, so that a replaced object fails with source.ErrObjectChanged
// instead of yielding a mix of two versions.
package s3

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"

	"github.com/eventlake/eventlake/loader/source"
)

func init() {
	source.Register("s3", func(ctx context.Context, u *url.URL) (source.Source, error) {
		bucket, prefix, o, err := ParseURL(u)
		if err != nil {
			return nil, err
		}
		return New(ctx, bucket, prefix, o)
	})
}

// Defaults of the Options fields left zero.
const (
	DefaultSessionName     = "eventlake"
	DefaultRegion          = "us-east-1"
	DefaultMaxAttempts     = 8
	DefaultMaxResumes      = 5
	DefaultReadIdleTimeout = time.Minute
)

// Options configure an S3 source. The URL parameters map onto the string
// fields (see the package documentation); the others have no URL form.
type Options struct {
	Region      string // region=
	Profile     string // profile=
	Role        string // role=: IAM role ARN to assume
	ExternalID  string // external_id=: never printed
	SessionName string // session_name=: default DefaultSessionName
	STSEndpoint string // sts_endpoint=
	Endpoint    string // endpoint=
	PathStyle   bool   // path_style=

	// MaxAttempts bounds the attempts of every S3 and STS request (the first
	// one included). Default DefaultMaxAttempts.
	MaxAttempts int
	// MaxResumes bounds how many times in a row a reader re-requests the rest
	// of an object without getting a single byte further. Default
	// DefaultMaxResumes.
	MaxResumes int
	// ReadIdleTimeout is how long a connection may stay silent while a
	// response is awaited or read before it is dropped (and the request
	// retried, or the read resumed). Default DefaultReadIdleTimeout.
	ReadIdleTimeout time.Duration

	// Breaker is the source's circuit breaker (default: a new one with the
	// default thresholds, see source.Breaker).
	Breaker *source.Breaker

	// backoff replaces the SDK retry backoff and the delay between resumes
	// (attempt counts from 1). Tests set it to keep fault injection fast.
	backoff func(attempt int) time.Duration
}

// urlParams are the query parameters an s3:// URL may carry.
var urlParams = []string{"region", "profile", "role", "external_id", "session_name", "sts_endpoint", "endpoint", "path_style"}

// ParseURL splits an s3:// URL into bucket, prefix (leading '/' removed,
// trailing '/' kept) and options. Errors never contain secret values.
func ParseURL(u *url.URL) (bucket, prefix string, o Options, err error) {
	// What messages show: no fragment, and no password inside a parameter
	// that is itself a URL (endpoint=http://user:pw@host): source.Redact
	// cleans neither.
	shown := *u
	shown.User = nil // rejected below; a user name alone can be a token
	shown.Fragment, shown.RawFragment = "", ""
	if sq := shown.Query(); len(sq) > 0 {
		for k, vs := range sq {
			for i, v := range vs {
				if pu, err := url.Parse(v); err == nil && pu.User != nil {
					pu.User = url.User("REDACTED")
					vs[i] = pu.String()
				}
			}
			sq[k] = vs
		}
		shown.RawQuery = sq.Encode()
	}
	fail := func(format string, a ...any) (string, string, Options, error) {
		return "", "", Options{}, fmt.Errorf("s3 source %s: %s", source.Redact(shown.String()), fmt.Sprintf(format, a...))
	}
	if u.Scheme != "s3" {
		return fail("scheme %q is not s3", u.Scheme)
	}
	if u.Opaque != "" {
		return fail("want s3://BUCKET/PREFIX")
	}
	if u.User != nil {
		return fail("credentials in the URL are not supported: use the AWS credential chain (environment, profile=, role=)")
	}
	if u.Host == "" {
		return fail("missing bucket: want s3://BUCKET/PREFIX")
	}
	if u.Port() != "" || strings.ContainsAny(u.Host, ":[]") {
		return fail("bucket %q is not a bucket name (an S3-compatible server goes in endpoint=)", u.Host)
	}
	if u.Fragment != "" {
		return fail("'#' in the prefix must be written %%23")
	}
	q, qerr := url.ParseQuery(u.RawQuery)
	if qerr != nil {
		return fail("malformed query: %v", qerr)
	}
	known := map[string]bool{}
	for _, p := range urlParams {
		known[p] = true
	}
	for k, v := range q {
		if !known[k] {
			return fail("unknown parameter %q (known: %s)", k, strings.Join(urlParams, ", "))
		}
		if len(v) > 1 {
			return fail("parameter %q given %d times", k, len(v))
		}
	}
	o = Options{
		Region:      q.Get("region"),
		Profile:     q.Get("profile"),
		Role:        q.Get("role"),
		ExternalID:  q.Get("external_id"),
		SessionName: q.Get("session_name"),
		STSEndpoint: q.Get("sts_endpoint"),
		Endpoint:    q.Get("endpoint"),
	}
	if v := q.Get("path_style"); v != "" {
		b, perr := strconv.ParseBool(v)
		if perr != nil {
			return fail("path_style=%q is not true or false", v)
		}
		o.PathStyle = b
	}
	if err := o.validate(); err != nil {
		return fail("%v", err)
	}
	return u.Host, strings.TrimPrefix(u.Path, "/"), o, nil
}

// The options' expressions, compiled on first use (not at every program
// start: the counted repetitions make them ≈ 0.4 ms).
var (
	regionRE      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`) })
	sessionNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w+=,.@-]{2,64}$`) })
	externalIDRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w+=,.@:/-]+$`) }) // 2 to 1224 of them
)

// validate checks the options; its messages never contain ExternalID.
func (o Options) validate() error {
	if o.Region != "" && !regionRE().MatchString(o.Region) {
		return fmt.Errorf("region %q is not a region name", o.Region)
	}
	if o.Role == "" && (o.ExternalID != "" || o.SessionName != "" || o.STSEndpoint != "") {
		return errors.New("external_id, session_name and sts_endpoint need role=")
	}
	if o.Role != "" && !strings.HasPrefix(o.Role, "arn:") {
		return fmt.Errorf("role %q is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)", o.Role)
	}
	if o.ExternalID != "" && (len(o.ExternalID) < 2 || len(o.ExternalID) > 1224 || !externalIDRE().MatchString(o.ExternalID)) {
		return errors.New("external_id must be 2 to 1224 characters of letters, digits and +=,.@:/-")
	}
	if o.SessionName != "" && !sessionNameRE().MatchString(o.SessionName) {
		return fmt.Errorf("session_name %q must be 2 to 64 characters of letters, digits and +=,.@-", o.SessionName)
	}
	for _, p := range [][2]string{{"endpoint", o.Endpoint}, {"sts_endpoint", o.STSEndpoint}} {
		name, v := p[0], p[1]
		if v == "" {
			continue
		}
		e, err := url.Parse(v)
		if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
			return fmt.Errorf("%s %q is not an http(s) URL", name, source.Redact(v))
		}
		if e.User != nil {
			return fmt.Errorf("%s %s must not carry credentials", name, source.Redact(v))
		}
	}
	if o.MaxAttempts < 0 || o.MaxResumes < 0 || o.ReadIdleTimeout < 0 {
		return errors.New("MaxAttempts, MaxResumes and ReadIdleTimeout must not be negative")
	}
	return nil
}

// Source is an S3 bucket prefix. It is safe for concurrent use.
type Source struct {
	bucket, prefix string
	region, role   string // for messages
	client         *s3.Client
	transport      *http.Transport
	maxResumes     int
	backoff        func(attempt int) time.Duration
	breaker        *source.Breaker
}

// connBackoff caps the delay between retries of a connection failure.
const connBackoff = 2 * time.Second

// dialTimeout bounds a TCP connect (a black-holed endpoint).
const dialTimeout = 10 * time.Second

// breakerTransport feeds every request's outcome to the source's breaker
// and refuses requests at once while it is open. Any HTTP answer, whatever
// its status, shows the store is reachable.
type breakerTransport struct {
	rt http.RoundTripper
	b  *source.Breaker
}

func (t *breakerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := t.b.Check(); err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, err
	}
	resp, err := t.rt.RoundTrip(r)
	if r.Context().Err() == nil {
		err = t.b.Observe(err)
	}
	return resp, err
}

// New creates a source over bucket and prefix (keys are relative to prefix,
// which is used as given). It resolves credentials lazily: a missing or
// refused credential shows up in the first List, Open or Stat.
func New(ctx context.Context, bucket, prefix string, o Options) (*Source, error) {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		// s3://b/main_stream means the folder: never main_stream2/….
		prefix += "/"
	}
	root := "s3://" + bucket + "/" + prefix
	if bucket == "" || strings.ContainsAny(bucket, "/:") {
		return nil, fmt.Errorf("s3 source %s: invalid bucket name %q", root, bucket)
	}
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("s3 source %s: %v", root, err)
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.MaxResumes == 0 {
		o.MaxResumes = DefaultMaxResumes
	}
	if o.ReadIdleTimeout == 0 {
		o.ReadIdleTimeout = DefaultReadIdleTimeout
	}
	if o.SessionName == "" {
		o.SessionName = DefaultSessionName
	}

	retryer := func() aws.Retryer {
		return retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = o.MaxAttempts
			so.MaxBackoff = 20 * time.Second
			// An open breaker is final: no retry, no backoff.
			so.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
				if errors.Is(err, source.ErrUnreachable) {
					return aws.FalseTernary
				}
				return aws.UnknownTernary
			})}, so.Retryables...)
			// Throttling and 5xx answers back off up to 20 s; connection
			// failures only up to connBackoff, so that the breaker sees a
			// dead endpoint within its window instead of after minutes.
			long, short := retry.NewExponentialJitterBackoff(so.MaxBackoff), retry.NewExponentialJitterBackoff(connBackoff)
			so.Backoff = retry.BackoffDelayerFunc(func(attempt int, err error) (time.Duration, error) {
				if source.IsConnError(err) {
					return short.BackoffDelay(attempt, err)
				}
				return long.BackoffDelay(attempt, err)
			})
			// The client-side retry quota protects shared services from
			// retry storms; a loader is one client reading one bucket, and
			// a quota running dry would fail a long load on a burst of
			// SlowDown answers that backoff alone rides out.
			so.RateLimiter = ratelimit.None
			if o.backoff != nil {
				so.Backoff = retry.BackoffDelayerFunc(func(attempt int, _ error) (time.Duration, error) {
					return o.backoff(attempt), nil
				})
			}
		})
	}
	loadOpts := []func(*config.LoadOptions) error{config.WithRetryer(retryer)}
	if o.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(o.Region))
	}
	if o.Profile != "" {
		loadOpts = append(loadOpts, config.WithSharedConfigProfile(o.Profile))
	}
	loadOpts = append(loadOpts, config.WithLogger(SDKLogger(source.Logger(ctx))))
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		// The SDK's messages name files and profiles, never secrets.
		return nil, fmt.Errorf("s3 source %s: loading AWS configuration: %w", root, err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	tr, err := newTransport(cfg.HTTPClient, o.ReadIdleTimeout)
	if err != nil {
		return nil, fmt.Errorf("s3 source %s: %w", root, err)
	}
	breaker := o.Breaker
	if breaker == nil {
		breaker = &source.Breaker{}
	}
	cfg.HTTPClient = &http.Client{Transport: &breakerTransport{rt: tr, b: breaker}, CheckRedirect: limitedRedirect}

	if o.Role != "" {
		stsClient := sts.NewFromConfig(cfg, func(so *sts.Options) {
			if o.STSEndpoint != "" {
				so.BaseEndpoint = aws.String(o.STSEndpoint)
			}
		})
		provider := stscreds.NewAssumeRoleProvider(stsClient, o.Role, func(ao *stscreds.AssumeRoleOptions) {
			ao.RoleSessionName = o.SessionName
			if o.ExternalID != "" {
				ao.ExternalID = aws.String(o.ExternalID)
			}
		})
		// The cache refreshes the temporary credentials a little before
		// they expire, so a load longer than the session keeps going.
		cfg.Credentials = aws.NewCredentialsCache(provider, func(co *aws.CredentialsCacheOptions) {
			co.ExpiryWindow = time.Minute
			co.ExpiryWindowJitterFrac = 0.5
		})
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		if o.PathStyle {
			so.UsePathStyle = true
		}
		so.DisableLogOutputChecksumValidationSkipped = true
	})
	s := &Source{
		bucket:     bucket,
		prefix:     prefix,
		region:     cfg.Region,
		role:       o.Role,
		client:     client,
		transport:  tr,
		maxResumes: o.MaxResumes,
		backoff:    o.backoff,
		breaker:    breaker,
	}
	if s.backoff == nil {
		s.backoff = resumeBackoff
	}
	return s, nil
}

// newTransport builds the HTTP transport: the SDK's defaults, including a
// custom CA bundle (AWS_CA_BUNDLE, ca_bundle) that LoadDefaultConfig put into
// base, plus an inactivity timeout on every connection read. The source owns
// the transport so that Close can release its connections.
func newTransport(base aws.HTTPClient, idle time.Duration) (*http.Transport, error) {
	var tr *http.Transport
	switch c := base.(type) {
	case nil:
		tr = awshttp.NewBuildableClient().GetTransport()
	case *awshttp.BuildableClient:
		tr = c.GetTransport()
	default:
		return nil, fmt.Errorf("unsupported HTTP client %T", base)
	}
	if tr.TLSClientConfig == nil {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tr.DisableCompression = true // the bytes as stored, never transparently gunzipped
	tr.MaxIdleConnsPerHost = 32
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &idleConn{Conn: c, idle: idle}, nil
	}
	return tr, nil
}

// idleConn fails a read that waits longer than idle for a byte. It covers a
// server that never answers and a body that stalls half-way; a slow but
// moving transfer is not affected. (The SDK has the same mechanism but only
// for its own HTTP client, whose transport the source could not close.)
type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c *idleConn) Read(p []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// A timeout error the SDK retryer recognises.
		return n, &awshttp.ResponseTimeoutError{TimeoutDur: c.idle}
	}
	return n, err
}

// limitedRedirect follows only 307 and 308 (which keep the method and body),
// like the SDK's own client; S3's 301 region redirects are errors to report.
func limitedRedirect(r *http.Request, via []*http.Request) error {
	switch r.Response.StatusCode {
	case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if last := via[len(via)-1]; last.URL.Host != r.URL.Host {
			r.Header.Del("X-Amz-Security-Token")
		}
		return nil
	}
	return http.ErrUseLastResponse
}

// resumeBackoff is the delay before the n-th consecutive resume: none for
// the first (a reset connection is usually just that), then 0.2 s doubling
// up to 5 s.
func resumeBackoff(n int) time.Duration {
	if n <= 1 {
		return 0
	}
	d := 200 * time.Millisecond << min(n-2, 5)
	return min(d, 5*time.Second)
}

// URL implements source.Source: s3://BUCKET/PREFIX, no query.
func (s *Source) URL() string { return "s3://" + s.bucket + "/" + s.prefix }

// Bucket is the bucket name.
func (s *Source) Bucket() string { return s.bucket }

// Prefix is the root prefix inside the bucket.
func (s *Source) Prefix() string { return s.prefix }

// Close implements source.Source. It closes idle connections; readers still
// open keep working until they are closed.
func (s *Source) Close() error {
	s.transport.CloseIdleConnections()
	return nil
}

// objectURL names an object in messages.
func (s *Source) objectURL(key string) string { return s.URL() + key }

// version is an object's Version: the ETag without its quotes. A store that
// sends no ETag (not S3) falls back to size and whole-second modification
// time, the precision common to listings and HEAD answers.
func version(etag *string, size int64, mtime *time.Time) string {
	if e := strings.Trim(aws.ToString(etag), `"`); e != "" {
		return e
	}
	var sec int64
	if mtime != nil {
		sec = mtime.Unix()
	}
	return fmt.Sprintf("size=%d,mtime=%d", size, sec)
}

func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func checkKey(key string) error {
	if key == "" {
		return errors.New("empty key")
	}
	return nil
}

// List implements source.Source with ListObjectsV2, 1,000 keys a page.
func (s *Source) List(ctx context.Context, opts source.ListOptions, fn func(source.Object) error) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket)}
	if p := s.prefix + opts.Prefix; p != "" {
		in.Prefix = aws.String(p)
	}
	if opts.StartAfter != "" {
		in.StartAfter = aws.String(s.prefix + opts.StartAfter)
	}
	pages := s3.NewListObjectsV2Paginator(s.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return s.listError(opts, err)
		}
		for _, c := range page.Contents {
			full := aws.ToString(c.Key)
			if !strings.HasPrefix(full, s.prefix) {
				continue // not S3's behaviour, but never hand out a key outside the root
			}
			key := full[len(s.prefix):]
			if key == "" || strings.HasSuffix(key, "/") {
				continue // the root itself, or a folder marker
			}
			if !strings.HasPrefix(key, opts.Prefix) || (opts.StartAfter != "" && key <= opts.StartAfter) {
				continue
			}
			size := aws.ToInt64(c.Size)
			obj := source.Object{Key: key, Size: size, ModTime: utc(c.LastModified), Version: version(c.ETag, size, c.LastModified)}
			if err := fn(obj); err != nil {
				return err
			}
		}
	}
	return nil
}

// Stat implements source.Source with HeadObject.
func (s *Source) Stat(ctx context.Context, key string) (source.Object, error) {
	if err := checkKey(key); err != nil {
		return source.Object{}, fmt.Errorf("s3 source %s: %w", s.URL(), err)
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + key)})
	if err != nil {
		return source.Object{}, s.objectError(ctx, key, "stat", err)
	}
	size := aws.ToInt64(out.ContentLength)
	return source.Object{Key: key, Size: size, ModTime: utc(out.LastModified), Version: version(out.ETag, size, out.LastModified)}, nil
}

// Open implements source.Source. The returned reader resumes after
// connection failures (see the package documentation); it must be closed,
// and like any io.ReadCloser it is not for concurrent use.
func (s *Source) Open(ctx context.Context, key string) (io.ReadCloser, source.Object, error) {
	if err := checkKey(key); err != nil {
		return nil, source.Object{}, fmt.Errorf("s3 source %s: %w", s.URL(), err)
	}
	rctx, cancel := context.WithCancel(ctx)
	out, err := s.client.GetObject(rctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + key)})
	if err != nil {
		cancel()
		return nil, source.Object{}, s.objectError(ctx, key, "open", err)
	}
	size := int64(-1)
	if out.ContentLength != nil {
		size = *out.ContentLength
	}
	obj := source.Object{Key: key, Size: max(size, 0), ModTime: utc(out.LastModified), Version: version(out.ETag, max(size, 0), out.LastModified)}
	r := &reader{
		s:      s,
		ctx:    ctx,
		key:    key,
		etag:   aws.ToString(out.ETag),
		size:   size,
		body:   out.Body,
		cancel: cancel,
	}
	return r, obj, nil
}

// Client returns the source's S3 client (credentials, region, endpoint,
// retries and circuit breaker as the URL configured them), for the lake's
// bucket store, which talks to the same buckets the same way.
func (s *Source) Client() *s3.Client { return s.client }

// SDKLogger routes the AWS SDK's own log lines (e.g. "falling back to
// IMDSv1", which its default logger prints on stderr) to l at debug level:
// they are diagnostics, and the errors that matter reach the caller anyway.
func SDKLogger(l *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		l.Debug(fmt.Sprintf(format, v...), "from", "aws-sdk", "sdk_level", string(c))
	})
}
