//go:build !unix

package main

import "os"

// usage reports CPU times; peak RSS is not available here (ok is false).
func usage(ps *os.ProcessState) (user, sys float64, maxRSS int64, ok bool) {
	return ps.UserTime().Seconds(), ps.SystemTime().Seconds(), 0, false
}
