package loader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/eventlake/eventlake/loader/source"
)

// DefaultSettle is the CLI's settle time (--settle, settle:): an object of
// a source written in place (a local folder, an SFTP drop) whose mtime is
// more recent than this is still being written and waits for a later run.
const DefaultSettle = 30 * time.Second

// DefaultRetryBackoffMax caps the time between two attempts at a failed
// object when Options.RetryBackoff is set.
const DefaultRetryBackoffMax = time.Hour

// ErrChangedWhileRead is why an object of a source written in place failed:
// its size, mtime or content changed between the listing and the end of
// the read (its writer was still at work). Nothing of it is committed, and
// a later run tries it again.
var ErrChangedWhileRead = errors.New("object changed while it was read (still being written?); it is retried by a later run")

// stillWritten reports whether an object listed at now by a source written
// in place may still be being written: its mtime lies within settle before
// now. An mtime further in the future than settle says nothing about
// writing (a clock set wrong, a file touched with a date) and is ignored.
func stillWritten(obj source.Object, now time.Time, settle time.Duration) bool {
	if settle <= 0 || obj.ModTime.IsZero() {
		return false
	}
	return obj.ModTime.After(now.Add(-settle)) && !obj.ModTime.After(now.Add(settle))
}

// retryAt is when a failed object may be tried again: after base doubling
// with each failed attempt at the same version, up to max (zero when
// there is no backoff).
func retryAt(now time.Time, attempts int, base, max time.Duration) time.Time {
	if base <= 0 {
		return time.Time{}
	}
	d := base
	for i := 1; i < attempts && d < max; i++ {
		d *= 2
	}
	return now.Add(min(d, max))
}

// settled wraps a source whose objects are written in place. plan records
// the listed description of each object it plans; Open fails an object
// whose version is not the listed one any more, and its reader checks, at
// the end of the object, that exactly the opened size was read and that the
// object still has the version it was opened with. A file that grows or is
// rewritten while it is read is failed (and retried later), never
// committed half-written.
type settled struct {
	source.Source
	mu     sync.Mutex
	listed map[string]source.Object
}

func newSettled(src source.Source) *settled {
	return &settled{Source: src, listed: map[string]source.Object{}}
}

// WrittenInPlace implements source.InPlace.
func (s *settled) WrittenInPlace() bool { return true }

func (s *settled) remember(obj source.Object) {
	s.mu.Lock()
	s.listed[obj.Key] = obj
	s.mu.Unlock()
}

// Open implements source.Source.
func (s *settled) Open(ctx context.Context, key string) (io.ReadCloser, source.Object, error) {
	rc, got, err := s.Source.Open(ctx, key)
	if err != nil {
		return rc, got, err
	}
	s.mu.Lock()
	want, ok := s.listed[key]
	s.mu.Unlock()
	if ok && want.Version != got.Version {
		rc.Close()
		return nil, got, fmt.Errorf("%s%s: %w (listed as %s, opened as %s)", s.URL(), key, ErrChangedWhileRead, want.Version, got.Version)
	}
	return &settledReader{ctx: ctx, s: s, key: key, rc: rc, opened: got}, got, nil
}

type settledReader struct {
	ctx    context.Context
	s      *settled
	key    string
	rc     io.ReadCloser
	opened source.Object
	n      int64
	err    error // the end's verdict, once reached
}

func (r *settledReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.rc.Read(p)
	r.n += int64(n)
	if err == io.EOF {
		r.err = r.check()
		if n > 0 && r.err != io.EOF {
			// Deliver nothing of a changed object's tail.
			return 0, r.err
		}
		return n, r.err
	}
	return n, err
}

// check compares the object at its end with the object as opened.
func (r *settledReader) check() error {
	where := r.s.URL() + r.key
	if r.n != r.opened.Size {
		return fmt.Errorf("%s: %w (opened with %d bytes, read %d)", where, ErrChangedWhileRead, r.opened.Size, r.n)
	}
	now, err := r.s.Source.Stat(r.ctx, r.key)
	if errors.Is(err, source.ErrNotFound) {
		return fmt.Errorf("%s: %w (removed)", where, ErrChangedWhileRead)
	}
	if err != nil {
		return fmt.Errorf("%s: checking the object after reading it: %w", where, err)
	}
	if now.Version != r.opened.Version {
		return fmt.Errorf("%s: %w (opened as %s, now %s)", where, ErrChangedWhileRead, r.opened.Version, now.Version)
	}
	return io.EOF
}

func (r *settledReader) Close() error { return r.rc.Close() }
