// Package fsync makes files and directory entries durable, and creates
// folders with the lake's permissions whatever the umask.
package fsync

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// File fsyncs a regular file.
func File(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Dir fsyncs a directory so that entries just created or renamed in it
// survive a crash. File systems that cannot fsync a directory (EINVAL,
// unsupported) are tolerated: there is nothing more to do there.
func Dir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) {
		err = nil
	}
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// MkdirAll creates dir and missing parents with mode perm, chmod'ed so the
// process umask cannot narrow it (readers of a shared lake are other Unix
// users). Existing directories are left as they are.
func MkdirAll(dir string, perm os.FileMode) error {
	st, err := os.Stat(dir)
	if err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%s exists and is not a directory", dir)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := MkdirAll(parent, perm); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, perm); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		return err
	}
	return os.Chmod(dir, perm)
}

// WriteAtomic writes the file path through a temporary file in its folder
// (".<name>.tmp-*") and a rename, so path holds its old content or the whole
// new one, never a part. fill writes the content into the temporary file;
// the file gets mode perm whatever the umask. With durable, the file is
// synced before the rename and the folder after it: the new file survives a
// crash once WriteAtomic returns. The temporary file is removed on every
// error.
func WriteAtomic(path string, perm os.FileMode, durable bool, fill func(f *os.File) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = fill(f)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil && durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if durable {
		return Dir(dir)
	}
	return nil
}
