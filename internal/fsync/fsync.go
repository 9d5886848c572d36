// Package fsync makes files and directory entries durable.
package fsync

import (
	"errors"
	"os"
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
