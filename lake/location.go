package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// A lake lives in a local folder (the default) or in a bucket: s3://BUCKET/
// PREFIX/?… or gs://BUCKET/PREFIX/?…, with the URL parameters of the
// sources of the same scheme. ParseLocation tells them apart and refuses
// any other URL, so that a mistyped scheme never becomes a local folder
// named "s3:".

// Location is where a lake lives.
type Location struct {
	// Dir is the lake's folder for a local lake; empty for a bucket.
	Dir string
	// URL is the lake's bucket URL (parameters included); nil for a folder.
	URL *url.URL
}

// IsBucket reports whether the lake lives in a bucket.
func (l Location) IsBucket() bool { return l.URL != nil }

// String is the lake as given, with no credentials (bucket URLs never carry
// any: the stores refuse them).
func (l Location) String() string {
	if l.URL != nil {
		return l.URL.String()
	}
	return l.Dir
}

var schemeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*):`)

// ErrUnknownScheme is wrapped by ParseLocation's error for a URL whose
// scheme is not a store the lake can live in.
var ErrUnknownScheme = errors.New("unknown lake scheme")

// ParseLocation parses a --lake value: a folder, or a URL of a registered
// store (s3://, gs://). Any other "scheme:" prefix is refused (a folder
// whose name contains ':' is given as ./name).
func ParseLocation(s string) (Location, error) {
	if s == "" {
		return Location{}, errors.New("no lake given")
	}
	m := schemeRE.FindStringSubmatch(s)
	if m == nil || len(m[1]) == 1 { // no scheme, or a drive letter
		return Location{Dir: s}, nil
	}
	scheme := strings.ToLower(m[1])
	storesMu.Lock()
	_, known := stores[scheme]
	storesMu.Unlock()
	if !known {
		return Location{}, fmt.Errorf("%w: lake %s: %q is not a place a lake can live (give a folder, %s)",
			ErrUnknownScheme, redactURL(s), scheme+"://", strings.Join(knownLakeForms(), ", "))
	}
	u, err := url.Parse(s)
	if err != nil {
		return Location{}, fmt.Errorf("lake %s: %v", redactURL(s), err)
	}
	if u.Host == "" {
		return Location{}, fmt.Errorf("lake %s: missing bucket: want %s://BUCKET/PREFIX", redactURL(s), scheme)
	}
	u.Scheme = scheme
	return Location{URL: u}, nil
}

func knownLakeForms() []string {
	storesMu.Lock()
	defer storesMu.Unlock()
	var out []string
	for s := range stores {
		out = append(out, s+"://BUCKET/PREFIX")
	}
	sort.Strings(out)
	if len(out) == 0 {
		out = append(out, "no bucket store is built in")
	}
	return out
}

// redactURL drops a URL's user information and query (parameters may carry
// an external ID) for messages.
func redactURL(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	if u, err := url.Parse(s); err == nil && u.User != nil {
		u.User = nil
		return u.String()
	}
	return s
}

// ErrNotExist is returned (wrapped) by an ObjectStore for a missing object.
var ErrNotExist = errors.New("object does not exist")

// ErrPrecondition is returned (wrapped) by ObjectStore.Put when its
// condition does not hold: the object exists (IfAbsent) or has changed
// (IfMatch).
var ErrPrecondition = errors.New("precondition failed")

// PutCond is the condition of a conditional write.
type PutCond struct {
	// IfAbsent writes only if no object has the key (S3 If-None-Match: *,
	// GCS ifGenerationMatch=0).
	IfAbsent bool
	// IfMatch writes only if the object's current version is this one (S3
	// If-Match: ETag, GCS ifGenerationMatch=generation).
	IfMatch string
}

// ObjectInfo is a listed object.
type ObjectInfo struct {
	Key  string // relative to the store's root
	Size int64
}

// ObjectStore is the storage of a lake in a bucket: keys are relative to
// the lake's root (BUCKET/PREFIX/) and '/'-separated. Every method is safe
// for concurrent use. Versions are opaque tokens (ETag, generation) for
// PutCond.IfMatch.
type ObjectStore interface {
	// URL returns the lake's URL without parameters (s3://BUCKET/PREFIX/).
	URL() string
	// Get returns the object's content and version.
	Get(ctx context.Context, key string) (data []byte, version string, err error)
	// Download streams the object into w.
	Download(ctx context.Context, key string, w io.Writer) error
	// ReadRange returns n bytes of the object from offset off (fewer at
	// its end); n < 0 reads to the end. Iceberg readers read Parquet
	// footers and manifests this way.
	ReadRange(ctx context.Context, key string, off, n int64) ([]byte, error)
	// Size returns the object's size in bytes.
	Size(ctx context.Context, key string) (int64, error)
	// Put writes the object (size bytes from r) if cond holds and returns
	// its new version.
	Put(ctx context.Context, key string, r io.Reader, size int64, cond PutCond) (version string, err error)
	// Copy copies an object server-side.
	Copy(ctx context.Context, src, dst string) error
	// Delete deletes an object; a missing one is no error.
	Delete(ctx context.Context, key string) error
	// List calls fn for each object whose key starts with prefix and sorts
	// after startAfter, in key order.
	List(ctx context.Context, prefix, startAfter string, fn func(ObjectInfo) error) error
	Close() error
}

// StoreOpener opens the store of a lake URL.
type StoreOpener func(ctx context.Context, u *url.URL) (ObjectStore, error)

var (
	storesMu sync.Mutex
	stores   = map[string]StoreOpener{}
)

// RegisterStore makes a bucket scheme ("s3", "gs") a place a lake can live.
// The stores' packages register themselves; the lake package links none of
// them.
func RegisterStore(scheme string, open StoreOpener) {
	storesMu.Lock()
	defer storesMu.Unlock()
	stores[scheme] = open
}

// OpenStore opens the store of a bucket location.
func OpenStore(ctx context.Context, loc Location) (ObjectStore, error) {
	if !loc.IsBucket() {
		return nil, fmt.Errorf("lake %s is not in a bucket", loc)
	}
	storesMu.Lock()
	open := stores[loc.URL.Scheme]
	storesMu.Unlock()
	if open == nil {
		return nil, fmt.Errorf("%w: %s://", ErrUnknownScheme, loc.URL.Scheme)
	}
	st, err := open(ctx, loc.URL)
	if err != nil {
		return nil, err
	}
	return withDeadlines(st), nil
}
