// Package source defines how eventlake reads objects from a place where
// vendors drop files: a local folder, an S3 or GCS bucket, an SFTP server.
//
// A backend implements the small Source interface and registers an Opener for
// its URL scheme; the loader never knows which backend it talks to.
package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

type loggerKey struct{}

// WithLogger returns ctx carrying the logger that Open gives the source it
// opens: the source, and the cloud SDK it drives, log there.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// Logger returns the logger WithLogger put in ctx, or slog.Default().
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && l != nil {
		return l
	}
	return slog.Default()
}

// ErrNotFound is returned (wrapped) by Open and Stat when the object does not
// exist (any more). Backends map their own not-found errors onto it.
var ErrNotFound = errors.New("object not found")

// ErrObjectChanged is returned (wrapped) by a reader from Open when the
// object was replaced, changed or deleted while it was being read, so the
// bytes already delivered belong to a version that no longer exists. The
// caller should discard them and read the object again. When the object was
// deleted, the error may also wrap ErrNotFound.
var ErrObjectChanged = errors.New("object changed while reading")

// Object describes one listed object. Key is relative to the source root,
// '/'-separated, never starting with '/'.
type Object struct {
	Key     string
	Size    int64
	ModTime time.Time
	// Version changes whenever the content may have changed: the ETag (plus
	// VersionId) on S3, the generation on GCS, size+mtime on SFTP and local
	// disks. The catalog compares it to decide whether an object is new.
	Version string
}

// ListOptions narrows a listing.
type ListOptions struct {
	// Prefix restricts the listing to keys starting with it (relative to the
	// source root).
	Prefix string
	// StartAfter, when set, excludes every key <= StartAfter.
	StartAfter string
}

// Source is one place objects are read from. Implementations must be safe for
// concurrent use by several goroutines.
type Source interface {
	// URL identifies the source root: scheme, host and root path, without
	// user info or query parameters (so without secrets). It is what the
	// catalog stores, and URL()+key is an object's _object value.
	URL() string
	// List calls fn for each object under the root in ascending byte-wise key
	// order, honouring opts. Returning an error from fn stops the listing and
	// List returns that error.
	List(ctx context.Context, opts ListOptions, fn func(Object) error) error
	// Open streams the object's bytes. The version is the one read, which the
	// caller compares with the listed one.
	Open(ctx context.Context, key string) (io.ReadCloser, Object, error)
	// Stat returns the object's current description.
	Stat(ctx context.Context, key string) (Object, error)
	// Close releases connections.
	Close() error
}

// Opener creates a Source from a parsed URL.
type Opener func(ctx context.Context, u *url.URL) (Source, error)

var (
	mu      sync.RWMutex
	openers = map[string]Opener{}
)

// Register makes a backend available under a URL scheme ("s3", "gs", ...).
// It panics if the scheme is registered twice.
func Register(scheme string, o Opener) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := openers[scheme]; dup {
		panic("source: scheme registered twice: " + scheme)
	}
	openers[scheme] = o
}

// Schemes lists the registered URL schemes.
func Schemes() []string {
	mu.RLock()
	defer mu.RUnlock()
	var s []string
	for k := range openers {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// Open resolves a source URL. A string without a scheme ("./exports",
// "/data/x", "exports?follow_symlinks=true") is a local path and opens with
// the "file" backend.
func Open(ctx context.Context, raw string) (Source, error) {
	u, err := Parse(raw)
	if err != nil {
		return nil, err
	}
	mu.RLock()
	o := openers[u.Scheme]
	mu.RUnlock()
	if o == nil {
		return nil, fmt.Errorf("source %s: unknown scheme %q (known: %s)", Redact(raw), u.Scheme, strings.Join(Schemes(), ", "))
	}
	return o(ctx, u)
}

// Parse parses a source URL; plain paths become file URLs.
func Parse(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("empty source")
	}
	if i := strings.Index(raw, "://"); i > 0 && !strings.ContainsAny(raw[:i], `/\.`) {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", Redact(raw), errors.Unwrap(err))
		}
		u.Scheme = strings.ToLower(u.Scheme)
		return u, nil
	}
	// A plain path takes options after '?' as a file:// URL does
	// ("exports?follow_symlinks=true"). A path whose name holds a '?' is
	// given as a file:// URL with %3F.
	path, query, _ := strings.Cut(raw, "?")
	if path == "" {
		return nil, fmt.Errorf("source %s: empty path", Redact(raw))
	}
	if _, err := url.ParseQuery(query); err != nil {
		return nil, fmt.Errorf("source %s: options after '?': %w", Redact(raw), err)
	}
	return &url.URL{Scheme: "file", Path: path, RawQuery: query}, nil
}

// secretParams are query parameters whose values must never be printed.
var secretParams = map[string]bool{
	"secret": true, "secret_key": true, "secret_access_key": true, "aws_secret_access_key": true,
	"session_token": true, "token": true, "password": true, "passphrase": true, "external_id": true,
	"signature": true, "x-amz-signature": true, "x-amz-security-token": true, "x-amz-credential": true,
	"x-goog-signature": true, "x-goog-credential": true, "sig": true, "key_passphrase": true,
	"access_key": true, "access_key_id": true,
}

// Redact returns raw with the URL password and secret-looking query values
// replaced by "REDACTED". It never fails: unparseable input is returned with
// everything after the scheme's host removed.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		if i := strings.IndexAny(raw, "?#"); i >= 0 {
			return raw[:i]
		}
		return raw
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if secretParams[strings.ToLower(k)] {
				q[k] = []string{"REDACTED"}
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}
