package local

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/eventlake/eventlake/loader/source"
	"github.com/eventlake/eventlake/loader/source/sourcetest"
)

func TestConformance(t *testing.T) {
	sourcetest.Run(t, func(t *testing.T) sourcetest.Backend {
		dir := t.TempDir()
		return sourcetest.Backend{
			Put: func(t *testing.T, key string, data []byte) {
				p := filepath.Join(dir, filepath.FromSlash(key))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatal(err)
				}
			},
			Open: func(t *testing.T) source.Source {
				s, err := source.Open(context.Background(), dir)
				if err != nil {
					t.Fatal(err)
				}
				return s
			},
		}
	}, sourcetest.Options{})
}

func write(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func keys(t *testing.T, s source.Source) []string {
	t.Helper()
	var got []string
	if err := s.List(context.Background(), source.ListOptions{}, func(o source.Object) error {
		got = append(got, o.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestSingleFile(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.json"), "{}")
	write(t, filepath.Join(dir, "b.json"), "{}")
	s, err := New(filepath.Join(dir, "b.json"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(t, s); len(got) != 1 || got[0] != "b.json" {
		t.Fatalf("single-file source listed %q, want [b.json]", got)
	}
	if _, _, err := s.Open(context.Background(), "a.json"); !errors.Is(err, source.ErrNotFound) {
		t.Fatalf("single-file source opened a sibling: %v", err)
	}
}

func TestHiddenAndExcluded(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, ".DS_Store"), "x")
	write(t, filepath.Join(dir, ".git", "HEAD"), "x")
	write(t, filepath.Join(dir, "lake", "events", "f.parquet"), "x")
	write(t, filepath.Join(dir, "data", "f.json"), "{}")
	s, err := New(dir, Options{Exclude: []string{filepath.Join(dir, "lake")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(t, s); len(got) != 1 || got[0] != "data/f.json" {
		t.Fatalf("listed %q, want [data/f.json]", got)
	}
}

func TestSymlinksStayInside(t *testing.T) {
	outside := t.TempDir()
	write(t, filepath.Join(outside, "secret"), "top secret")
	dir := t.TempDir()
	write(t, filepath.Join(dir, "real.json"), "{}")
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "escape")); err != nil {
		t.Skip("symlinks not supported:", err)
	}
	if err := os.Symlink(filepath.Join(dir, "real.json"), filepath.Join(dir, "inside")); err != nil {
		t.Fatal(err)
	}
	s, err := New(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := keys(t, s)
	if len(got) != 2 || got[0] != "inside" || got[1] != "real.json" {
		t.Fatalf("listed %q, want [inside real.json]", got)
	}
	if _, _, err := s.Open(context.Background(), "escape"); err == nil {
		t.Fatal("opened a symlink leading outside the root")
	}
	if _, _, err := s.Open(context.Background(), "../"+filepath.Base(outside)+"/secret"); err == nil {
		t.Fatal("opened a key with ..")
	}
	s2, err := New(dir, Options{FollowSymlinks: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(t, s2); len(got) != 3 {
		t.Fatalf("follow_symlinks listed %q, want 3 keys", got)
	}
}

func TestMissingRoot(t *testing.T) {
	if _, err := New(filepath.Join(t.TempDir(), "nope"), Options{}); err == nil {
		t.Fatal("missing folder accepted")
	}
}

func TestRedactedURL(t *testing.T) {
	u := source.Redact("s3://b/p/?role=arn:aws:iam::1:role/x&external_id=abc123&secret_key=zzz")
	for _, bad := range []string{"abc123", "zzz"} {
		if contains(u, bad) {
			t.Errorf("Redact left %q in %q", bad, u)
		}
	}
	if !contains(u, "role=arn") {
		t.Errorf("Redact dropped a harmless parameter: %q", u)
	}
	if got := source.Redact("sftp://user:hunter2@h/p"); contains(got, "hunter2") {
		t.Errorf("Redact left the password: %q", got)
	}
}

func contains(s, sub string) bool {
	return len(sub) > 0 && len(s) >= len(sub) && (s == sub || index(s, sub) >= 0)
}

func index(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
