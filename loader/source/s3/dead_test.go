package s3

import (
	"context"
	"errors"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/eventlake/eventlake/loader/source"
)

// deadEndpoint is an address nothing listens on: connections are refused.
func deadEndpoint(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// TestDeadEndpointFailsFast: with the production retry settings, listing a
// store that refuses connections fails within seconds, naming the store as
// unreachable, and every later request of the source fails at once without
// touching the network.
func TestDeadEndpointFailsFast(t *testing.T) {
	setEnv(t)
	u, _ := url.Parse("s3://b/p/?path_style=true&endpoint=" + url.QueryEscape(deadEndpoint(t)))
	b, p, o, err := ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	o.Breaker = &source.Breaker{}
	s, err := New(context.Background(), b, p, o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	err = s.List(context.Background(), source.ListOptions{}, func(source.Object) error { return nil })
	took := time.Since(start)
	if !errors.Is(err, source.ErrUnreachable) {
		t.Fatalf("List error = %v, want ErrUnreachable", err)
	}
	// Window 5 s, then one more request at most 2 s later.
	if took > source.DefaultBreakerWindow+connBackoff+time.Second {
		t.Errorf("List failed after %s, want at most %s", took, source.DefaultBreakerWindow+connBackoff+time.Second)
	}
	t.Logf("listing a dead endpoint failed after %s: %v", took.Round(time.Millisecond), err)
	for name, f := range map[string]func() error{
		"Open": func() error { _, _, err := s.Open(context.Background(), "x"); return err },
		"Stat": func() error { _, err := s.Stat(context.Background(), "x"); return err },
	} {
		start := time.Now()
		err := f()
		if !errors.Is(err, source.ErrUnreachable) {
			t.Errorf("%s error = %v, want ErrUnreachable", name, err)
		}
		if d := time.Since(start); d > 200*time.Millisecond {
			t.Errorf("%s took %s with the breaker open, want at once", name, d)
		}
	}
	if n := o.Breaker.Refused(); n != 2 {
		t.Errorf("breaker refused %d requests after opening, want 2 (Open, Stat: no retries)", n)
	}
}

// TestAnswersKeepBreakerClosed: error answers (503, 404) come from a live
// store and never open the breaker, however many there are.
func TestAnswersKeepBreakerClosed(t *testing.T) {
	setEnv(t)
	srv := newServer(t)
	srv.createBucket(t, "b")
	br := &source.Breaker{Failures: 1, Window: time.Nanosecond}
	s := openSource(t, srv, "b", "", "", func(o *Options) { o.MaxAttempts = 3; o.Breaker = br })
	srv.setSchedule(slowDown)
	for i := 0; i < 5; i++ {
		if _, _, err := s.Open(context.Background(), "missing"); err == nil || errors.Is(err, source.ErrUnreachable) {
			t.Fatalf("Open = %v, want the 503 answer", err)
		}
	}
	if br.Open() {
		t.Fatal("breaker opened on answers of a live store")
	}
}
