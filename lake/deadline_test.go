package lake

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// hangingStore answers nothing until the request's context ends.
type hangingStore struct{ ObjectStore }

func (hangingStore) URL() string { return "s3://b/lake/" }
func (hangingStore) Put(ctx context.Context, _ string, _ io.Reader, _ int64, _ PutCond) (string, error) {
	<-ctx.Done()
	return "", ctx.Err()
}
func (hangingStore) List(ctx context.Context, _, _ string, _ func(ObjectInfo) error) error {
	<-ctx.Done()
	return ctx.Err()
}

// A request to a store that stops answering fails after the store timeout,
// saying so; a listing's deadline is an idle time.
func TestStoreDeadlines(t *testing.T) {
	t.Setenv("EVENTLAKE_STORE_TIMEOUT", "50ms")
	s := withDeadlines(hangingStore{})
	start := time.Now()
	_, err := s.Put(context.Background(), "k", strings.NewReader("x"), 1, PutCond{})
	if err == nil || !strings.Contains(err.Error(), "EVENTLAKE_STORE_TIMEOUT") || time.Since(start) > 5*time.Second {
		t.Errorf("Put on a hanging store: %v after %v", err, time.Since(start))
	}
	if err := s.List(context.Background(), "", "", nil); err == nil || !strings.Contains(err.Error(), "no answer within 50ms") {
		t.Errorf("List on a hanging store: %v", err)
	}
	// The caller's own cancellation is not blamed on the store.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Put(ctx, "k", strings.NewReader("x"), 1, PutCond{}); err == nil || strings.Contains(err.Error(), "EVENTLAKE_STORE_TIMEOUT") {
		t.Errorf("Put with a cancelled context: %v", err)
	}
}

// parallel runs every item, at most transfers() at once, and returns the
// first error, starting no new item after it.
func TestParallel(t *testing.T) {
	t.Setenv("EVENTLAKE_TRANSFERS", "3")
	var running, peak, ran atomic.Int32
	err := parallel(context.Background(), 20, func(i int) error {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		ran.Add(1)
		time.Sleep(2 * time.Millisecond)
		return nil
	})
	if err != nil || ran.Load() != 20 || peak.Load() > 3 {
		t.Errorf("parallel: %v, ran %d, peak %d", err, ran.Load(), peak.Load())
	}
	boom := errors.New("boom")
	ran.Store(0)
	err = parallel(context.Background(), 100, func(i int) error {
		ran.Add(1)
		if i == 0 {
			return boom
		}
		time.Sleep(5 * time.Millisecond)
		return nil
	})
	if !errors.Is(err, boom) || ran.Load() > 10 {
		t.Errorf("parallel with an error: %v, ran %d of 100", err, ran.Load())
	}
}
