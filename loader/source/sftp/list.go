package sftp

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/pkg/sftp"

	"github.com/eventlake/eventlake/loader/source"
)

// --- objects --------------------------------------------------------------

func version(fi os.FileInfo) string {
	return fmt.Sprintf("size=%d,mtime=%d", fi.Size(), fi.ModTime().Unix())
}

func object(key string, fi os.FileInfo) source.Object {
	return source.Object{Key: key, Size: fi.Size(), ModTime: fi.ModTime().UTC(), Version: version(fi)}
}

// path maps a key to a path on the server, refusing keys that would leave
// the root.
func (s *Source) path(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") {
		return "", fmt.Errorf("sftp source %s: invalid key %q", s.url, key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("sftp source %s: invalid key %q", s.url, key)
		}
	}
	return path.Join(s.root, key), nil
}

func (s *Source) wrap(key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sftp source %s%s: %w", s.url, key, source.ErrNotFound)
	}
	return fmt.Errorf("sftp source %s%s: %w", s.url, key, err)
}

// errStop ends a walk when the caller's callback returned an error.
var errStop = errors.New("listing stopped")

// List implements source.Source. The tree is walked folder by folder, each
// folder's entries sorted so that the walk yields keys in byte-wise order
// (a folder "a" sorts as "a/", after a file "a-b"). Folders that cannot
// hold keys matching Prefix, or only keys <= StartAfter, are not read.
// If the connection drops mid-walk, the walk resumes after the last key
// delivered.
func (s *Source) List(ctx context.Context, opts source.ListOptions, fn func(source.Object) error) error {
	last := opts.StartAfter
	var cbErr error
	err := s.do(ctx, func(c *conn) error {
		o := opts
		o.StartAfter = last
		return s.walk(ctx, c.sftp, "", o, func(obj source.Object) error {
			if err := fn(obj); err != nil {
				cbErr = err
				return errStop
			}
			last = obj.Key
			return nil
		})
	})
	if cbErr != nil {
		return cbErr
	}
	if err != nil {
		return fmt.Errorf("sftp source %s: %w", s.url, err)
	}
	return nil
}

type entry struct {
	name  string
	dir   bool
	fi    os.FileInfo
	order string // name, plus "/" for a folder
}

// walk lists the folder at key prefix dir ("" or ending in '/').
func (s *Source) walk(ctx context.Context, cl *sftp.Client, dir string, opts source.ListOptions, emit func(source.Object) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	full := path.Join(s.root, dir)
	infos, err := cl.ReadDirContext(ctx, full)
	if err != nil {
		if dir != "" && errors.Is(err, fs.ErrNotExist) {
			return nil // removed while listing
		}
		return fmt.Errorf("listing %s: %w", full, err)
	}
	entries := make([]entry, 0, len(infos))
	for _, fi := range infos {
		name := fi.Name()
		if name == "" || name[0] == '.' || strings.Contains(name, "/") {
			continue
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			// Links to files are followed; links to folders are not (they
			// could loop).
			t, err := cl.Stat(path.Join(full, name))
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue // dangling
				}
				return fmt.Errorf("following link %s: %w", path.Join(full, name), err)
			}
			if !t.Mode().IsRegular() {
				continue
			}
			fi = t
		}
		e := entry{name: name, dir: fi.IsDir(), fi: fi, order: name}
		if e.dir {
			e.order += "/"
		} else if !fi.Mode().IsRegular() {
			continue
		}
		entries = append(entries, e)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].order < entries[j].order })
	for _, e := range entries {
		key := dir + e.name
		if e.dir {
			k := key + "/"
			if opts.Prefix != "" && !strings.HasPrefix(k, opts.Prefix) && !strings.HasPrefix(opts.Prefix, k) {
				continue
			}
			// Every key below k starts with k: if StartAfter is beyond k
			// without starting with it, it is beyond all of them.
			if opts.StartAfter > k && !strings.HasPrefix(opts.StartAfter, k) {
				continue
			}
			if err := s.walk(ctx, cl, k, opts, emit); err != nil {
				return err
			}
			continue
		}
		if !strings.HasPrefix(key, opts.Prefix) || (opts.StartAfter != "" && key <= opts.StartAfter) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := emit(object(key, e.fi)); err != nil {
			return err
		}
	}
	return nil
}

// Stat implements source.Source.
func (s *Source) Stat(ctx context.Context, key string) (source.Object, error) {
	p, err := s.path(key)
	if err != nil {
		return source.Object{}, err
	}
	if err := ctx.Err(); err != nil {
		return source.Object{}, err
	}
	var fi os.FileInfo
	err = s.do(ctx, func(c *conn) error {
		var err error
		fi, err = c.sftp.Stat(p)
		return err
	})
	if err != nil {
		return source.Object{}, s.wrap(key, err)
	}
	if !fi.Mode().IsRegular() {
		return source.Object{}, s.wrap(key, fs.ErrNotExist)
	}
	return object(key, fi), nil
}
