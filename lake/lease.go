package lake

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// leaseKey is the writer lease of a lake in a bucket: the bucket's
// counterpart of the lock file. It is taken and renewed with conditional
// writes, so two writers never both hold it; a holder that dies stops
// renewing it and it expires. The commit log's create-if-absent writes are
// what keeps the lake consistent even if a lease is lost (a writer paused
// for longer than the lease): the lease only keeps writers from doing work
// that would then fail to commit, and lets recovery delete the staged files
// of loads that never committed.
const leaseKey = metaPrefix + "lease.json"

// DefaultLeaseTTL is how long a lease lasts without renewal
// (EVENTLAKE_LEASE_TTL overrides it). A holder renews it every third of it.
const DefaultLeaseTTL = 2 * time.Minute

type leaseRecord struct {
	Token   string    `json:"token"` // empty: released
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Command string    `json:"command"`
	Since   time.Time `json:"since"`
	Expires time.Time `json:"expires"`
}

type lease struct {
	store ObjectStore
	ttl   time.Duration
	rec   leaseRecord

	mu      sync.Mutex
	version string
	lost    error
	stop    chan struct{}
	done    chan struct{}
}

func leaseTTL() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("EVENTLAKE_LEASE_TTL")); err == nil && d > 0 {
		return d
	}
	return DefaultLeaseTTL
}

// takeable reports whether a lease record may be taken over: released,
// expired, or held by a process of this host that no longer exists (a
// killed writer on the same machine need not wait for the expiry).
func (r leaseRecord) takeable(now time.Time, host string) bool {
	if r.Token == "" || now.After(r.Expires) {
		return true
	}
	if r.Host == host && r.PID > 0 && r.PID != os.Getpid() {
		return errors.Is(syscall.Kill(r.PID, 0), syscall.ESRCH)
	}
	return false
}

func (r leaseRecord) describe() string {
	return fmt.Sprintf("pid %d on host %s since %s (command: %s), until %s unless renewed",
		r.PID, r.Host, r.Since.Format(time.RFC3339), r.Command, r.Expires.Format(time.RFC3339))
}

// acquireLease takes the lake's lease, polling until wait elapses.
func acquireLease(ctx context.Context, store ObjectStore, wait time.Duration, command string) (*lease, error) {
	host, _ := os.Hostname()
	var tok [12]byte
	_, _ = rand.Read(tok[:])
	l := &lease{store: store, ttl: leaseTTL(),
		rec: leaseRecord{Token: hex.EncodeToString(tok[:]), Host: host, PID: os.Getpid(), Command: command}}
	deadline := time.Now().Add(wait)
	for {
		data, version, err := store.Get(ctx, leaseKey)
		cond := PutCond{IfAbsent: true}
		var cur leaseRecord
		switch {
		case errors.Is(err, ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("lake %s: read the writer lease: %w", store.URL(), err)
		default:
			if jerr := json.Unmarshal(data, &cur); jerr != nil {
				cur = leaseRecord{} // unreadable: treat as released
			}
			cond = PutCond{IfMatch: version}
		}
		now := time.Now()
		if err != nil || cur.takeable(now, host) {
			l.rec.Since = now.UTC()
			if err := l.write(ctx, cond, now); err == nil {
				l.start()
				return l, nil
			} else if !errors.Is(err, ErrPrecondition) {
				return nil, fmt.Errorf("lake %s: take the writer lease: %w", store.URL(), err)
			}
			continue // another writer took it first: look again
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w: %s%s is held by %s (gave up after %s)", ErrLocked, store.URL(), leaseKey, cur.describe(), wait)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(min(lockPoll*5, time.Until(deadline)+time.Millisecond)):
		}
	}
}

// write puts the lease record with the expiry now+ttl under cond.
func (l *lease) write(ctx context.Context, cond PutCond, now time.Time) error {
	rec := l.rec
	rec.Expires = now.Add(l.ttl).UTC()
	b, _ := json.Marshal(rec)
	v, err := l.store.Put(ctx, leaseKey, bytes.NewReader(b), int64(len(b)), cond)
	if err != nil {
		return err
	}
	l.version = v
	return nil
}

// start renews the lease in the background every third of its TTL.
func (l *lease) start() {
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(l.done)
		t := time.NewTicker(l.ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-t.C:
				if err := l.Renew(context.Background()); err != nil && l.Lost() != nil {
					return
				}
			}
		}
	}()
}

// Renew extends the lease; an error wrapping ErrLocked means another writer
// has taken it over.
func (l *lease) Renew(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost != nil {
		return l.lost
	}
	err := l.write(ctx, PutCond{IfMatch: l.version}, time.Now())
	if errors.Is(err, ErrPrecondition) {
		l.lost = fmt.Errorf("%w: the writer lease %s%s was taken over by another writer (this one paused for longer than %s)",
			ErrLocked, l.store.URL(), leaseKey, l.ttl)
		return l.lost
	}
	return err
}

// Lost returns why the lease is lost, or nil.
func (l *lease) Lost() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

// Release stops renewing and marks the lease released (if still ours).
func (l *lease) Release() error {
	if l.stop != nil {
		close(l.stop)
		<-l.done
		l.stop = nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost != nil {
		return nil
	}
	rec := leaseRecord{}
	b, _ := json.Marshal(rec)
	_, err := l.store.Put(context.Background(), leaseKey, bytes.NewReader(b), int64(len(b)), PutCond{IfMatch: l.version})
	if errors.Is(err, ErrPrecondition) {
		return nil
	}
	return err
}
