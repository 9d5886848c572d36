package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/eventlake/eventlake/loader/source"
)

var errClosed = errors.New("read after close")

// reader streams one object and resumes it after a connection failure: it
// asks for the remaining bytes with Range and If-Match, so the bytes it
// delivers always come from one version of the object.
type reader struct {
	s    *Source
	ctx  context.Context // Open's: governs every request of the stream
	key  string
	etag string // as S3 sent it, quotes included: the If-Match value
	size int64  // Content-Length of the whole object, -1 if unknown

	body   io.ReadCloser      // nil between a failure and the resume
	cancel context.CancelFunc // ends the request body belongs to

	read    int64 // bytes delivered so far
	fails   int   // resumes in a row that delivered nothing
	lastErr error // the failure the pending resume recovers from
	err     error // final state: io.EOF, an error, or errClosed
}

// transientError is a resume that failed in a way worth another resume.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

func (r *reader) url() string { return r.s.objectURL(r.key) }

// Read implements io.Reader.
func (r *reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if r.body == nil {
			if err := r.resume(); err != nil {
				var te *transientError
				if errors.As(err, &te) {
					r.lastErr = te.err
					continue
				}
				return 0, r.fail(err)
			}
		}
		n, err := r.body.Read(p)
		r.read += int64(n)
		if n > 0 {
			r.fails = 0
		}
		switch {
		case r.size >= 0 && r.read > r.size:
			return n, r.fail(fmt.Errorf("s3 source %s: got more than the %d bytes announced", r.url(), r.size))
		case err == nil:
			return n, nil
		case err == io.EOF && (r.size < 0 || r.read == r.size):
			r.release()
			r.err = io.EOF
			return n, io.EOF
		case r.ctx.Err() != nil:
			return n, r.fail(fmt.Errorf("s3 source %s: reading: %w", r.url(), r.ctx.Err()))
		case r.size >= 0 && r.read == r.size:
			// All bytes arrived yet the body failed: the SDK found the
			// checksum wrong. Reading again would not help.
			return n, r.fail(fmt.Errorf("s3 source %s: %w", r.url(), err))
		}
		if err == io.EOF {
			err = fmt.Errorf("connection closed after %d of %d bytes: %w", r.read, r.size, io.ErrUnexpectedEOF)
		}
		// A connection failure: drop it and resume at the next Read (now,
		// if nothing is to be handed over).
		r.release()
		r.lastErr = err
		if n > 0 {
			return n, nil
		}
	}
}

// resume re-requests the bytes from r.read on.
func (r *reader) resume() error {
	if r.fails >= r.s.maxResumes {
		return fmt.Errorf("s3 source %s: reading stopped at byte %d of %d: %d attempts to resume in a row got nothing further: %w",
			r.url(), r.read, r.size, r.fails, r.lastErr)
	}
	r.fails++
	if d := r.s.backoff(r.fails); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.ctx.Done():
			t.Stop()
			return fmt.Errorf("s3 source %s: reading: %w", r.url(), r.ctx.Err())
		}
	}
	rctx, cancel := context.WithCancel(r.ctx)
	in := &s3.GetObjectInput{
		Bucket: aws.String(r.s.bucket),
		Key:    aws.String(r.s.prefix + r.key),
		Range:  aws.String(fmt.Sprintf("bytes=%d-", r.read)),
	}
	if r.etag != "" {
		in.IfMatch = aws.String(r.etag)
	}
	out, err := r.s.client.GetObject(rctx, in)
	if err != nil {
		cancel()
		code, _ := codeOf(err)
		switch {
		case statusOf(err) == http.StatusPreconditionFailed || code == "PreconditionFailed":
			return fmt.Errorf("s3 source %s: %w: it was replaced after %d bytes had been read (ETag %s no longer matches)",
				r.url(), source.ErrObjectChanged, r.read, r.etag)
		case isNotFound(err):
			return fmt.Errorf("s3 source %s: %w: it was deleted after %d bytes had been read (%w)",
				r.url(), source.ErrObjectChanged, r.read, source.ErrNotFound)
		}
		return r.s.objectError(r.ctx, r.key, fmt.Sprintf("resuming at byte %d after %v", r.read, r.lastErr), err)
	}
	if got := aws.ToString(out.ETag); r.etag != "" && got != r.etag {
		// A store that ignores If-Match: the ETag still tells.
		out.Body.Close()
		cancel()
		return fmt.Errorf("s3 source %s: %w: it was replaced after %d bytes had been read (ETag %s, now %s)",
			r.url(), source.ErrObjectChanged, r.read, r.etag, got)
	}
	cr := aws.ToString(out.ContentRange)
	start, total, ok := parseContentRange(cr)
	switch {
	case cr == "":
		// The store ignored Range and sent the whole object: skip what
		// was delivered already.
		if _, err := io.CopyN(io.Discard, out.Body, r.read); err != nil {
			out.Body.Close()
			cancel()
			return &transientError{fmt.Errorf("skipping to byte %d: %w", r.read, err)}
		}
	case !ok || start != r.read:
		out.Body.Close()
		cancel()
		return fmt.Errorf("s3 source %s: asked for bytes from %d, got Content-Range %q", r.url(), r.read, cr)
	case r.size >= 0 && total >= 0 && total != r.size:
		out.Body.Close()
		cancel()
		return fmt.Errorf("s3 source %s: %w: its size went from %d to %d bytes while reading", r.url(), source.ErrObjectChanged, r.size, total)
	}
	r.body, r.cancel = out.Body, cancel
	return nil
}

// parseContentRange parses "bytes START-END/TOTAL"; total is -1 for "*".
func parseContentRange(v string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(v, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	first, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false
	}
	if tot == "*" {
		return start, -1, true
	}
	total, err = strconv.ParseInt(tot, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return start, total, true
}

// release drops the current response, if any.
func (r *reader) release() {
	if r.body != nil {
		r.body.Close()
		r.body = nil
	}
	if r.cancel != nil {
		r.cancel()
		r.cancel = nil
	}
}

func (r *reader) fail(err error) error {
	r.release()
	r.err = err
	return err
}

// Close implements io.Closer.
func (r *reader) Close() error {
	r.release()
	if r.err == nil {
		r.err = fmt.Errorf("s3 source %s: %w", r.url(), errClosed)
	}
	return nil
}
