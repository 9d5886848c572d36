//go:build unix

package main

import (
	"os"
	"runtime"
	"syscall"
)

// usage returns a finished child's user and system CPU seconds and peak
// resident set size in bytes, from the kernel's accounting (wait4's rusage).
func usage(ps *os.ProcessState) (user, sys float64, maxRSS int64, ok bool) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return 0, 0, 0, false
	}
	// ru_maxrss is in KiB on Linux and the BSDs, in bytes on macOS.
	rss := int64(ru.Maxrss)
	if runtime.GOOS != "darwin" && runtime.GOOS != "ios" {
		rss *= 1024
	}
	return ps.UserTime().Seconds(), ps.SystemTime().Seconds(), rss, true
}
