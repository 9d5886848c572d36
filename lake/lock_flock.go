//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package lake

import (
	"errors"
	"os"
	"syscall"
)

// tryFlock attempts a non-blocking exclusive flock; ok is false when another
// open file description holds it.
func tryFlock(f *os.File) (ok bool, err error) {
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

func unflock(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
