// Package local reads objects from a folder (or a single file) on a local
// disk. It registers the "file" scheme; plain paths given to source.Open land
// here too.
//
// Keys are '/'-separated paths relative to the root folder. The listing is
// recursive, in byte-wise key order (like S3), and skips names starting with
// '.' (editor and OS droppings).
//
// Symbolic links: a link to a file is an object when it stays inside the
// root. Links to folders, and links leading outside the root, are skipped
// (and logged) unless the URL says follow_symlinks=true. Then a folder link
// is followed unless its target's tree overlaps a tree already listed (the
// root's, or an earlier followed link's target in key order): such a link
// would list objects twice or never end, so it is logged and skipped. Each
// folder is thus listed at most once, and every cycle ends.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/eventlake/eventlake/loader/source"
)

func init() {
	source.Register("file", func(_ context.Context, u *url.URL) (source.Source, error) {
		return FromURL(u, Options{})
	})
}

// FromURL opens the local source a file:// URL names; its follow_symlinks
// option sets o.FollowSymlinks.
func FromURL(u *url.URL, o Options) (*Source, error) {
	p := u.Path
	if u.Host != "" && u.Host != "localhost" {
		// file://relative/path is a common slip; treat host as the first segment.
		p = u.Host + "/" + strings.TrimPrefix(p, "/")
	}
	o.FollowSymlinks = o.FollowSymlinks || u.Query().Get("follow_symlinks") == "true"
	return New(p, o)
}

// Options tune a local source.
type Options struct {
	// FollowSymlinks allows symbolic links that point outside the root.
	FollowSymlinks bool
	// Exclude lists absolute paths (folders or files) that are never listed,
	// e.g. the lake itself when it lives under the source folder.
	Exclude []string
	// Log receives the symbolic links the listing skips or follows (none
	// when nil).
	Log *slog.Logger
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

// Path is the real path of what the source lists: the root folder, or the
// single file.
func (s *Source) Path() string {
	if s.only != "" {
		return filepath.Join(s.root, s.only)
	}
	return s.root
}

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
		w := walker{s: s, ctx: ctx, prefix: opts.Prefix, add: add, listed: []string{s.root}}
		entries, err := os.ReadDir(s.root)
		if err != nil {
			return err
		}
		if err := w.entries(s.root, "", entries); err != nil {
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

// walker lists a folder tree, following folder links when allowed.
type walker struct {
	s      *Source
	ctx    context.Context
	prefix string
	add    func(key string, fi fs.FileInfo)
	// listed holds the real paths of the folders whose trees are listed:
	// the root and every followed link's target.
	listed []string
}

// entries lists the entries of the folder dir (a real path) whose key is
// prefix ("" or ending in '/').
func (w *walker) entries(dir, prefix string, entries []fs.DirEntry) error {
	for _, d := range entries {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		name := d.Name()
		p := filepath.Join(dir, name)
		if strings.HasPrefix(name, ".") || w.s.excluded[p] {
			continue
		}
		key := prefix + name
		switch {
		case d.IsDir():
			if err := w.folder(p, key); err != nil {
				return err
			}
		case d.Type()&fs.ModeSymlink != 0:
			if err := w.link(p, key); err != nil {
				return err
			}
		case d.Type().IsRegular():
			fi, err := d.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed while listing
			}
			if err != nil {
				return fmt.Errorf("local source: listing %s: %w", p, err)
			}
			w.add(key, fi)
		}
	}
	return nil
}

// folder lists the folder at the real path p, whose key is key.
func (w *walker) folder(p, key string) error {
	// Prune folders that cannot contain the prefix.
	if w.prefix != "" && !strings.HasPrefix(key+"/", w.prefix) && !strings.HasPrefix(w.prefix, key+"/") {
		return nil
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed while listing
		}
		// An unreadable sub-folder is reported, not silently skipped.
		return fmt.Errorf("local source: listing %s: %w", p, err)
	}
	return w.entries(p, key+"/", entries)
}

// link lists what the symbolic link p (whose key is key) leads to: a file
// is an object when the link stays inside the root or links may be
// followed; a folder is listed only when links may be followed and its
// tree overlaps no tree already listed (see the package comment).
func (w *walker) link(p, key string) error {
	s := w.s
	shown := filepath.Join(s.root, filepath.FromSlash(key))
	fi, err := os.Stat(p)
	if err != nil {
		s.log().Info("symbolic link skipped: it leads nowhere", "link", shown, "error", err)
		return nil
	}
	if !fi.IsDir() {
		switch {
		case !fi.Mode().IsRegular():
			s.log().Info("symbolic link skipped: not a regular file", "link", shown)
		case !s.inside(p):
			s.log().Warn("symbolic link skipped: it leads outside the source folder (set follow_symlinks=true to follow it)", "link", shown)
		default:
			w.add(key, fi)
		}
		return nil
	}
	if !s.opts.FollowSymlinks {
		s.log().Warn("symbolic link to a folder skipped (set follow_symlinks=true to follow it)", "link", shown)
		return nil
	}
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		s.log().Info("symbolic link skipped: it leads nowhere", "link", shown, "error", err)
		return nil
	}
	if s.excluded[target] {
		return nil
	}
	for _, l := range w.listed {
		if within(target, l) || within(l, target) {
			s.log().Info("symbolic link to a folder not followed: its tree overlaps one already listed (no object is listed twice, no cycle)",
				"link", shown, "target", target, "listed", l)
			return nil
		}
	}
	w.listed = append(w.listed, target)
	s.log().Info("following symbolic link to a folder", "link", shown, "target", target)
	return w.folder(target, key)
}

// within reports whether the path p is dir or lies under it.
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, string(filepath.Separator))+string(filepath.Separator))
}

func (s *Source) log() *slog.Logger {
	if s.opts.Log != nil {
		return s.opts.Log
	}
	return discard
}

var discard = slog.New(slog.DiscardHandler)

// inside reports whether a symbolic link may be followed.
func (s *Source) inside(p string) bool {
	if s.opts.FollowSymlinks {
		return true
	}
	t, err := filepath.EvalSymlinks(p)
	if err != nil {
		return false
	}
	return within(t, s.root)
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
	if _, err := os.Lstat(p); err == nil && !s.inside(p) {
		// The file or one of its folders is a link leading outside.
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
