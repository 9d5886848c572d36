// Package local reads objects from a folder (or a single file) on a local
// disk. It registers the "file" scheme; plain paths given to source.Open land
// here too.
//
// Keys are '/'-separated paths relative to the root folder. The listing is
// recursive, in byte-wise key order (like S3), and skips names starting with
// '.' (editor and OS droppings). Symbolic links are followed only when they
// stay inside the root, unless the URL says follow_symlinks=true.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/eventlake/eventlake/loader/source"
)

func init() {
	source.Register("file", func(_ context.Context, u *url.URL) (source.Source, error) {
		p := u.Path
		if u.Host != "" && u.Host != "localhost" {
			// file://relative/path is a common slip; treat host as the first segment.
			p = u.Host + "/" + strings.TrimPrefix(p, "/")
		}
		return New(p, Options{FollowSymlinks: u.Query().Get("follow_symlinks") == "true"})
	})
}

// Options tune a local source.
type Options struct {
	// FollowSymlinks allows symbolic links that point outside the root.
	FollowSymlinks bool
	// Exclude lists absolute paths (folders or files) that are never listed,
	// e.g. the lake itself when it lives under the source folder.
	Exclude []string
}

// Source is a local folder, or a single file (then the root is its folder
// and only that file is listed).
type Source struct {
	root     string // absolute, symlinks resolved
	only     string // non-empty: the single file's key
	opts     Options
	excluded map[string]bool
}

// New opens a local folder or file.
func New(path string, o Options) (*Source, error) {
	if path == "" {
		return nil, errors.New("local source: empty path")
	}
	if strings.HasPrefix(path, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, path[2:])
		}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("local source %s: %w", path, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("local source %s: no such file or folder", path)
		}
		return nil, fmt.Errorf("local source %s: %w", path, err)
	}
	s := &Source{opts: o, excluded: map[string]bool{}}
	if fi.IsDir() {
		s.root = abs
	} else {
		s.root, s.only = filepath.Dir(abs), filepath.Base(abs)
	}
	if r, err := filepath.EvalSymlinks(s.root); err == nil {
		s.root = r
	}
	for _, e := range o.Exclude {
		if a, err := filepath.Abs(e); err == nil {
			if r, err := filepath.EvalSymlinks(a); err == nil {
				a = r
			}
			s.excluded[a] = true
		}
	}
	return s, nil
}

// Root is the absolute root folder.
func (s *Source) Root() string { return s.root }

// URL implements source.Source.
func (s *Source) URL() string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(s.root)}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u.String()
}

// Close implements source.Source.
func (s *Source) Close() error { return nil }

func version(fi fs.FileInfo) string {
	return fmt.Sprintf("size=%d,mtime=%d", fi.Size(), fi.ModTime().UnixNano())
}

func object(key string, fi fs.FileInfo) source.Object {
	return source.Object{Key: key, Size: fi.Size(), ModTime: fi.ModTime().UTC(), Version: version(fi)}
}

// List implements source.Source.
func (s *Source) List(ctx context.Context, opts source.ListOptions, fn func(source.Object) error) error {
	var objs []source.Object
	add := func(key string, fi fs.FileInfo) {
		if !strings.HasPrefix(key, opts.Prefix) || (opts.StartAfter != "" && key <= opts.StartAfter) {
			return
		}
		objs = append(objs, object(key, fi))
	}
	if s.only != "" {
		fi, err := os.Stat(filepath.Join(s.root, s.only))
		if err != nil {
			return fmt.Errorf("local source %s: %w", s.only, err)
		}
		add(s.only, fi)
	} else {
		err := filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == s.root {
					return err
				}
				// An unreadable sub-folder is reported, not silently skipped.
				return fmt.Errorf("local source: listing %s: %w", p, err)
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if p == s.root {
				return nil
			}
			if strings.HasPrefix(d.Name(), ".") || s.excluded[p] {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			rel, _ := filepath.Rel(s.root, p)
			key := filepath.ToSlash(rel)
			if d.IsDir() {
				// Prune folders that cannot contain the prefix.
				if opts.Prefix != "" && !strings.HasPrefix(key+"/", opts.Prefix) && !strings.HasPrefix(opts.Prefix, key+"/") {
					return filepath.SkipDir
				}
				return nil
			}
			fi, err := s.statEntry(p, d)
			if err != nil || fi == nil {
				return err
			}
			add(key, fi)
			return nil
		})
		if err != nil {
			return err
		}
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
	for _, o := range objs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}

// statEntry returns the file info of a regular file entry, following a
// symbolic link when allowed; nil for anything that is not a regular file.
func (s *Source) statEntry(p string, d fs.DirEntry) (fs.FileInfo, error) {
	if d.Type()&fs.ModeSymlink != 0 {
		if !s.inside(p) {
			return nil, nil
		}
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			return nil, nil // dangling link or link to a folder: not an object
		}
		return fi, nil
	}
	if !d.Type().IsRegular() {
		return nil, nil
	}
	fi, err := d.Info()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // removed while listing
	}
	return fi, err
}

// inside reports whether a symbolic link may be followed.
func (s *Source) inside(p string) bool {
	if s.opts.FollowSymlinks {
		return true
	}
	t, err := filepath.EvalSymlinks(p)
	if err != nil {
		return false
	}
	return t == s.root || strings.HasPrefix(t, s.root+string(filepath.Separator))
}

// path maps a key to a file path, refusing keys that would leave the root.
func (s *Source) path(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "\\") {
		return "", fmt.Errorf("local source: invalid key %q", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == ".." || seg == "." || seg == "" {
			return "", fmt.Errorf("local source: invalid key %q", key)
		}
	}
	if s.only != "" && key != s.only {
		return "", fmt.Errorf("local source %s: %w", key, source.ErrNotFound)
	}
	p := filepath.Join(s.root, filepath.FromSlash(key))
	if fi, err := os.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink != 0 && !s.inside(p) {
		return "", fmt.Errorf("local source %s: symbolic link leads outside %s (set follow_symlinks=true to allow)", key, s.root)
	}
	return p, nil
}

func (s *Source) notFound(key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("local source %s: %w", key, source.ErrNotFound)
	}
	return fmt.Errorf("local source %s: %w", key, err)
}

// Open implements source.Source.
func (s *Source) Open(_ context.Context, key string) (io.ReadCloser, source.Object, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, source.Object{}, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, source.Object{}, s.notFound(key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, source.Object{}, s.notFound(key, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, source.Object{}, fmt.Errorf("local source %s: not a regular file", key)
	}
	return f, object(key, fi), nil
}

// Stat implements source.Source.
func (s *Source) Stat(_ context.Context, key string) (source.Object, error) {
	p, err := s.path(key)
	if err != nil {
		return source.Object{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return source.Object{}, s.notFound(key, err)
	}
	if !fi.Mode().IsRegular() {
		return source.Object{}, fmt.Errorf("local source %s: %w", key, source.ErrNotFound)
	}
	return object(key, fi), nil
}
