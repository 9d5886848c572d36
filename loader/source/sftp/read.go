package sftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"

	"github.com/pkg/sftp"

	"github.com/eventlake/eventlake/loader/source"
)

// Open implements source.Source. The returned object describes the file as
// opened (fstat on the handle).
func (s *Source) Open(ctx context.Context, key string) (io.ReadCloser, source.Object, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, source.Object{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, source.Object{}, err
	}
	f, fi, c, err := s.open(ctx, p)
	if err != nil {
		return nil, source.Object{}, s.wrap(key, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, source.Object{}, fmt.Errorf("sftp source %s%s: not a regular file", s.url, key)
	}
	obj := object(key, fi)
	r := &reader{s: s, key: key, path: p, want: obj, c: c, f: f, resumedAt: -1}
	if obj.Size > 0 {
		r.buf = make([]byte, min(int64(readBuffer), obj.Size))
	}
	return r, obj, nil
}

func (s *Source) open(ctx context.Context, p string) (*sftp.File, os.FileInfo, *conn, error) {
	var f *sftp.File
	var fi os.FileInfo
	var fc *conn
	err := s.do(ctx, func(c *conn) error {
		ff, err := c.sftp.Open(p)
		if err != nil {
			return err
		}
		st, err := ff.Stat()
		if err != nil {
			ff.Close()
			return err
		}
		f, fi, fc = ff, st, c
		return nil
	})
	return f, fi, fc, err
}

// reader streams one object through a buffer filled with large concurrent
// ReadAt calls, tracking the offset reached so that a failed read can
// resume on a fresh handle (and connection).
type reader struct {
	s    *Source
	key  string
	path string
	want source.Object // as opened: size and mtime must not change

	c *conn
	f *sftp.File

	buf        []byte
	start, end int   // unread bytes are buf[start:end]
	off        int64 // file offset of the next byte to fetch
	resumedAt  int64 // offset of the last resume; -1: none
	err        error // sticky: io.EOF or the failure
	closed     bool
}

func (r *reader) Read(p []byte) (int, error) {
	for {
		if r.start < r.end {
			n := copy(p, r.buf[r.start:r.end])
			r.start += n
			return n, nil
		}
		if r.err != nil {
			return 0, r.err
		}
		if r.closed {
			return 0, fmt.Errorf("sftp source %s%s: read after close", r.s.url, r.key)
		}
		if len(p) == 0 {
			return 0, nil
		}
		r.fill()
	}
}

func (r *reader) where() string { return r.s.url + r.key }

// fill fetches the next chunk, or sets r.err.
func (r *reader) fill() {
	if r.off >= r.want.Size {
		r.err = r.finish()
		return
	}
	want := int(min(int64(len(r.buf)), r.want.Size-r.off))
	n, err := r.f.ReadAt(r.buf[:want], r.off)
	r.start, r.end = 0, n
	r.off += int64(n)
	switch {
	case err == nil || (err == io.EOF && n == want):
		return
	case n > 0:
		// Deliver what arrived; the next fill retries from r.off and
		// meets the error again if it persists.
		return
	case err == io.EOF:
		// The file ends before the size it had when opened, or the server
		// answered a short read: reopen and compare.
		r.err = r.resume(fmt.Errorf("unexpected end of file at byte %d of %d", r.off, r.want.Size))
	default:
		r.err = r.resume(err)
	}
}

// finish checks, once every byte is read, that the file did not change
// while it was read (an append or rewrite in place would mix versions).
func (r *reader) finish() error {
	fi, err := r.f.Stat()
	if err != nil {
		if err := r.resume(err); err != nil {
			return err
		}
		return io.EOF // resume compared size and mtime
	}
	if err := r.compare(fi); err != nil {
		return err
	}
	return io.EOF
}

func (r *reader) compare(fi os.FileInfo) error {
	if fi.Size() != r.want.Size || fi.ModTime().Unix() != r.want.ModTime.Unix() {
		return fmt.Errorf("sftp source %s: %w (opened as %s, now %s)", r.where(), source.ErrObjectChanged, r.want.Version, version(fi))
	}
	return nil
}

// resume re-opens the file after a failed read (redialing if the
// connection is gone) and continues at r.off, provided the file is
// unchanged. It gives up when the previous resume made no progress.
func (r *reader) resume(cause error) error {
	if r.resumedAt == r.off {
		return fmt.Errorf("sftp source %s: reading at byte %d: %w", r.where(), r.off, cause)
	}
	r.resumedAt = r.off
	r.f.Close()
	if connLost(cause, r.c) {
		r.s.drop(r.c)
	}
	slog.Info("sftp: read failed; re-opening", "object", r.where(), "offset", r.off, "error", cause)
	f, fi, c, err := r.s.open(context.Background(), r.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("sftp source %s: %w (removed; reading at byte %d failed: %v)", r.where(), source.ErrObjectChanged, r.off, cause)
		}
		return fmt.Errorf("sftp source %s: reading at byte %d: %v; re-opening failed: %w", r.where(), r.off, cause, err)
	}
	r.f, r.c = f, c
	return r.compare(fi)
}

// Close implements io.Closer.
func (r *reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.buf = nil
	r.start, r.end = 0, 0
	if err := r.f.Close(); err != nil && !connLost(err, r.c) && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("sftp source %s: close: %w", r.where(), err)
	}
	return nil
}
