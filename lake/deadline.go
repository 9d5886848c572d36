package lake

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

// DefaultStoreTimeout bounds how long one request to a lake's bucket may go
// unanswered (EVENTLAKE_STORE_TIMEOUT overrides it). A store that stops
// answering mid-load then fails the load within bounded time instead of
// hanging it: the lease's renewal and release, uploads, copies, deletes,
// reads and listings all have deadlines. A Put's deadline grows with its
// size (storeMinRate), a listing's and a download's is an idle time: it
// restarts with every key listed and every byte read.
const DefaultStoreTimeout = 2 * time.Minute

// storeMinRate is the slowest upload, in bytes per second, that a Put's
// deadline allows for beyond the timeout.
const storeMinRate = 1 << 20

func storeTimeout() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("EVENTLAKE_STORE_TIMEOUT")); err == nil && d > 0 {
		return d
	}
	return DefaultStoreTimeout
}

// deadlineStore gives every request of an ObjectStore a deadline.
type deadlineStore struct {
	ObjectStore
	d time.Duration
}

func withDeadlines(s ObjectStore) ObjectStore { return deadlineStore{s, storeTimeout()} }

// explain says which deadline an error came from.
func (s deadlineStore) explain(parent, ctx context.Context, err error) error {
	if err != nil && parent.Err() == nil && ctx.Err() != nil {
		return fmt.Errorf("%w (%s: no answer within %s, EVENTLAKE_STORE_TIMEOUT)", err, s.URL(), s.d)
	}
	return err
}

func (s deadlineStore) Get(ctx context.Context, key string) ([]byte, string, error) {
	c, cancel := context.WithTimeout(ctx, s.d)
	defer cancel()
	data, v, err := s.ObjectStore.Get(c, key)
	return data, v, s.explain(ctx, c, err)
}

func (s deadlineStore) Put(ctx context.Context, key string, r io.Reader, size int64, cond PutCond) (string, error) {
	c, cancel := context.WithTimeout(ctx, s.d+time.Duration(size/storeMinRate)*time.Second)
	defer cancel()
	v, err := s.ObjectStore.Put(c, key, r, size, cond)
	return v, s.explain(ctx, c, err)
}

func (s deadlineStore) Copy(ctx context.Context, src, dst string) error {
	c, cancel := context.WithTimeout(ctx, s.d)
	defer cancel()
	return s.explain(ctx, c, s.ObjectStore.Copy(c, src, dst))
}

func (s deadlineStore) Delete(ctx context.Context, key string) error {
	c, cancel := context.WithTimeout(ctx, s.d)
	defer cancel()
	return s.explain(ctx, c, s.ObjectStore.Delete(c, key))
}

// idle returns a context cancelled once touch has not been called for d.
func (s deadlineStore) idle(ctx context.Context) (context.Context, func(), context.CancelFunc) {
	c, cancel := context.WithCancel(ctx)
	t := time.AfterFunc(s.d, cancel)
	return c, func() { t.Reset(s.d) }, func() { t.Stop(); cancel() }
}

func (s deadlineStore) List(ctx context.Context, prefix, startAfter string, fn func(ObjectInfo) error) error {
	c, touch, cancel := s.idle(ctx)
	defer cancel()
	return s.explain(ctx, c, s.ObjectStore.List(c, prefix, startAfter, func(o ObjectInfo) error {
		touch()
		return fn(o)
	}))
}

func (s deadlineStore) Download(ctx context.Context, key string, w io.Writer) error {
	c, touch, cancel := s.idle(ctx)
	defer cancel()
	return s.explain(ctx, c, s.ObjectStore.Download(c, key, touchWriter{w, touch}))
}

type touchWriter struct {
	w     io.Writer
	touch func()
}

func (t touchWriter) Write(p []byte) (int, error) {
	t.touch()
	return t.w.Write(p)
}
