//go:build !unix

package partitions

import "os"

// createFile creates a new file for writing, failing if it exists.
func createFile(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
}
