// Package cputime measures the CPU time of the calling OS thread, for
// benchmarks on a busy host: time the thread waited for a core does not
// count, so figures stay comparable while other work shares the machine.
package cputime

import (
	"runtime"
	"testing"
)

// Bench locks the benchmark's goroutine to its thread and returns a func to
// call after the timed loop; it reports the loop's thread CPU time per
// iteration as the metric "cpu-ns/op" (nothing where the platform has no
// thread clock).
func Bench(b *testing.B) (stop func()) {
	runtime.LockOSThread()
	start, ok := Thread()
	return func() {
		end, _ := Thread()
		runtime.UnlockOSThread()
		if ok && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}
