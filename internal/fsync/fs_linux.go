package fsync

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// syncfsReportsErrors is whether the kernel's syncfs(2) returns write-back
// errors: Linux 5.8 and later (before, it returned 0 whatever happened).
var syncfsReportsErrors = sync.OnceValue(func() bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	return kernelAtLeast(unix.ByteSliceToString(u.Release[:]), 5, 8)
})

// kernelAtLeast reports whether a kernel release ("6.1.0-18-amd64")
// is at least major.minor.
func kernelAtLeast(release string, major, minor int) bool {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err := strconv.Atoi(parts[0])
	if err != nil {
		return false
	}
	digits := parts[1]
	if i := strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		digits = digits[:i]
	}
	mi, err := strconv.Atoi(digits)
	if err != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

func openFS(dir string) (*FS, error) {
	if !syncfsReportsErrors() || disableSyncFS {
		return nil, ErrNoSyncFS
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("fsync: open %s: %w", dir, err)
	}
	f := &FS{fd: fd}
	// A stage that is never removed must not keep its descriptor.
	f.cleanup = runtime.AddCleanup(f, func(fd int) { _ = unix.Close(fd) }, fd)
	return f, nil
}

func (f *FS) sync() error {
	for {
		err := unix.Syncfs(f.fd)
		if err != unix.EINTR {
			return err
		}
	}
}

func (f *FS) close() error {
	f.cleanup.Stop()
	return unix.Close(f.fd)
}
