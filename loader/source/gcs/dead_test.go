package gcs

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/eventlake/eventlake/loader/source"
)

// TestDeadEndpointFailsFast: the client library retries a refused
// connection until its context ends; the source gives up once its breaker
// opens, and then refuses every request at once.
func TestDeadEndpointFailsFast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	br := &source.Breaker{}
	s, err := New(context.Background(), Options{Bucket: "b", Prefix: "p", Endpoint: "http://" + addr + "/storage/v1/", Breaker: br})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	err = s.List(ctx, source.ListOptions{}, func(source.Object) error { return nil })
	took := time.Since(start)
	if !errors.Is(err, source.ErrUnreachable) {
		t.Fatalf("List error = %v (after %s), want ErrUnreachable", err, took)
	}
	if bound := source.DefaultBreakerWindow + maxBackoff + time.Second; took > bound {
		t.Errorf("List failed after %s, want at most %s", took, bound)
	}
	t.Logf("listing a dead endpoint failed after %s: %v", took.Round(time.Millisecond), err)
	for name, f := range map[string]func() error{
		"Open": func() error { _, _, err := s.Open(ctx, "x"); return err },
		"Stat": func() error { _, err := s.Stat(ctx, "x"); return err },
	} {
		start := time.Now()
		if err := f(); !errors.Is(err, source.ErrUnreachable) {
			t.Errorf("%s error = %v, want ErrUnreachable", name, err)
		}
		if d := time.Since(start); d > 200*time.Millisecond {
			t.Errorf("%s took %s with the breaker open, want at once", name, d)
		}
	}
}
