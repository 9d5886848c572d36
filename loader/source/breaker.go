package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// ErrUnreachable is returned (wrapped) by a backend whose store stopped
// answering: its circuit breaker opened after connection failures with no
// success in between (see Breaker). Every later request of the same source
// fails at once with it, so a dead endpoint costs seconds, not a retry
// budget per object. The loader records the objects it could not read as
// failed, commits the others, and the next run retries them.
var ErrUnreachable = errors.New("store unreachable")

// Defaults of a Breaker's zero fields.
const (
	DefaultBreakerFailures = 4
	DefaultBreakerWindow   = 5 * time.Second
)

// Breaker is a circuit breaker shared by every request of one source. It
// counts connection failures (refused, reset, unreachable network, dial and
// read timeouts; see IsConnError) and opens when at least Failures of them
// came in a row, spread over at least Window, with no request reaching the
// store in between. Any answer from the store (a 404 or a 500 included)
// closes the streak. Once open it stays open: the source is used by one
// load, and the next run starts with a new one.
type Breaker struct {
	Failures int           // default DefaultBreakerFailures
	Window   time.Duration // default DefaultBreakerWindow
	Now      func() time.Time

	mu      sync.Mutex
	streak  int
	since   time.Time
	last    error
	open    error
	tripped int // requests refused while open (for tests and logs)
}

func (b *Breaker) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// Check returns nil while the breaker is closed, else an error wrapping
// ErrUnreachable and the last connection failure.
func (b *Breaker) Check() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open != nil {
		b.tripped++
	}
	return b.open
}

// Observe records the outcome of one request: nil or any error other than
// a connection failure means the store answered. It returns err, or the
// breaker's error when this failure opened it (so that the caller does not
// retry).
func (b *Breaker) Observe(err error) error {
	if b == nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open != nil {
		return err
	}
	if err == nil || !IsConnError(err) {
		b.streak = 0
		return err
	}
	now := b.now()
	if b.streak == 0 {
		b.since = now
	}
	b.streak++
	b.last = err
	failures, window := b.Failures, b.Window
	if failures <= 0 {
		failures = DefaultBreakerFailures
	}
	if window <= 0 {
		window = DefaultBreakerWindow
	}
	if b.streak >= failures && now.Sub(b.since) >= window {
		b.open = &unreachableError{failures: b.streak, over: now.Sub(b.since), last: err}
		return b.open
	}
	return err
}

// GaveUp is called when a request ran out of retries on err. If err is a
// connection failure that ended a streak of at least Failures, the store is
// taken as dead whatever the window: the breaker opens and GaveUp returns
// its error. Otherwise it returns err.
func (b *Breaker) GaveUp(err error) error {
	if b == nil || !IsConnError(err) {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open != nil {
		return b.open
	}
	failures := b.Failures
	if failures <= 0 {
		failures = DefaultBreakerFailures
	}
	if b.streak >= failures {
		b.open = &unreachableError{failures: b.streak, over: b.now().Sub(b.since), last: err}
		return b.open
	}
	return err
}

// Open tells whether the breaker has opened.
func (b *Breaker) Open() bool { return b.Check() != nil }

// Refused is how many requests Check turned away while open.
func (b *Breaker) Refused() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tripped
}

type unreachableError struct {
	failures int
	over     time.Duration
	last     error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("%v: %d connection failures in a row over %s, last: %v",
		ErrUnreachable, e.failures, e.over.Round(100*time.Millisecond), e.last)
}

func (e *unreachableError) Is(target error) bool { return target == ErrUnreachable }
func (e *unreachableError) Unwrap() error        { return e.last }

// IsConnError tells whether err is a failure to reach the store or a
// connection lost under a request: refused, reset, aborted, broken pipe,
// unreachable host or network, name resolution, dial and I/O timeouts. The
// caller's own cancellation and deadline are not connection failures, and
// neither is any answer of the store.
func IsConnError(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, ErrUnreachable) {
		return true
	}
	for _, e := range []error{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE,
		syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.EHOSTDOWN, syscall.ENETDOWN, syscall.ETIMEDOUT} {
		if errors.Is(err, e) {
			return true
		}
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	// A connection closed before an answer arrived.
	return errors.Is(err, io.ErrUnexpectedEOF)
}
