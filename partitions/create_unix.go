//go:build unix

package partitions

import (
	"os"
	"syscall"
)

// createFile creates a new file for writing, failing if it exists. It opens
// it with open(2) and wraps the descriptor: os.OpenFile would also try to
// register a regular file with the network poller and switch it to
// non-blocking mode and back, four more system calls a file, which a
// backfill staging thousands of small files pays thousands of times.
func createFile(name string) (*os.File, error) {
	for {
		fd, err := syscall.Open(name, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, filePerm)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: name, Err: err}
		}
		return os.NewFile(uintptr(fd), name), nil
	}
}
