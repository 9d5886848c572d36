//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package lake

import (
	"fmt"
	"os"
	"runtime"
)

// tryFlock reports that writer locking is unavailable: without flock there
// is no lock that dies with its process, and a lock that can go stale is
// worse than none for a tool meant to be killed and re-run. Read-only use of
// the catalog works on every platform.
func tryFlock(*os.File) (bool, error) {
	return false, fmt.Errorf("writer locking (flock) is not supported on %s", runtime.GOOS)
}

func unflock(*os.File) error { return nil }
