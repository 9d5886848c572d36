//go:build !linux

package cputime

import "time"

// Thread returns the CPU time the calling thread has used; false where
// there is no such clock.
func Thread() (time.Duration, bool) { return 0, false }
