package local

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/loader/source"
)

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skip("symlinks not supported:", err)
	}
}

// folderLinks builds a root with a real file, a link to an outside folder
// (two files, one in a sub-folder), a link to a folder inside the root, a
// link back to the root's parent and one to the root itself (cycles), and a
// second link to the same outside folder.
func folderLinks(t *testing.T) (root, outside string) {
	base := t.TempDir()
	outside = filepath.Join(base, "outside")
	write(t, filepath.Join(outside, "x.json"), "{}")
	write(t, filepath.Join(outside, "sub", "y.json"), "{}")
	symlink(t, base, filepath.Join(outside, "sub", "up")) // a cycle through the outside folder
	root = filepath.Join(base, "root")
	write(t, filepath.Join(root, "real", "a.json"), "{}")
	symlink(t, outside, filepath.Join(root, "linked"))
	symlink(t, outside, filepath.Join(root, "linked-again"))
	symlink(t, filepath.Join(root, "real"), filepath.Join(root, "alias"))
	symlink(t, base, filepath.Join(root, "parent"))
	symlink(t, root, filepath.Join(root, "self"))
	return root, outside
}

func logged(o *Options) *bytes.Buffer {
	var b bytes.Buffer
	o.Log = slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return &b
}

func TestFollowFolderSymlinks(t *testing.T) {
	root, _ := folderLinks(t)
	o := Options{FollowSymlinks: true}
	log := logged(&o)
	s, err := New(root, o)
	if err != nil {
		t.Fatal(err)
	}
	got := keys(t, s)
	// The outside folder is listed once, under the first link by name; the
	// links to folders already listed (alias → real, parent, self, up) are
	// not followed, so nothing is listed twice and the walk ends.
	want := []string{"linked/sub/y.json", "linked/x.json", "real/a.json"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("listed %q, want %q", got, want)
	}
	for _, k := range want {
		rc, _, err := s.Open(context.Background(), k)
		if err != nil {
			t.Fatalf("open %s: %v", k, err)
		}
		rc.Close()
	}
	for _, l := range []string{"alias", "linked-again", "parent", "self", "linked/sub/up"} {
		if !strings.Contains(log.String(), l) {
			t.Errorf("log does not name the link %s that was not followed:\n%s", l, log)
		}
	}
}

func TestFolderSymlinksSkippedAreLogged(t *testing.T) {
	root, _ := folderLinks(t)
	o := Options{}
	log := logged(&o)
	s, err := New(root, o)
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(t, s); !reflect.DeepEqual(got, []string{"real/a.json"}) {
		t.Fatalf("listed %q, want [real/a.json]", got)
	}
	for _, l := range []string{"linked", "alias", "parent", "self"} {
		if !strings.Contains(log.String(), filepath.Join(root, l)) {
			t.Errorf("log does not name the skipped link %s:\n%s", l, log)
		}
	}
	if !strings.Contains(log.String(), "follow_symlinks=true") {
		t.Errorf("log does not say how to follow the links:\n%s", log)
	}
	// A key through a folder link that leads outside is refused, even when
	// named (a notification) rather than listed.
	if _, _, err := s.Open(context.Background(), "linked/x.json"); err == nil {
		t.Fatal("opened a file through a folder link leading outside the root")
	}
	if _, err := s.Stat(context.Background(), "linked/x.json"); err == nil {
		t.Fatal("stat a file through a folder link leading outside the root")
	}
}

// A plain relative path takes a query string like a file:// URL does.
func TestRelativePathWithQuery(t *testing.T) {
	root, _ := folderLinks(t)
	t.Chdir(filepath.Dir(root))
	s, err := source.Open(context.Background(), "root?follow_symlinks=true")
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(t, s); len(got) != 3 {
		t.Fatalf("listed %q, want the 3 files reached with follow_symlinks=true", got)
	}
	if got, want := s.URL(), "file://"+filepath.ToSlash(root)+"/"; got != want {
		t.Errorf("URL %s, want %s", got, want)
	}
}
