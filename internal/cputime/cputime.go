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

// InTurns runs former and current in turns in each iteration of b's loop,
// on one locked thread, and reports the thread CPU time of each per unit
// (each call handles perCall units): "former-cpu-ns/<unit>" and
// "cpu-ns/<unit>". Run in turns, both share the host's noise, which two
// separate benchmark runs on a busy machine do not.
func InTurns(b *testing.B, perCall int, unit string, former, current func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var spent [2]int64
	for b.Loop() {
		for which, f := range [2]func(){former, current} {
			t0, _ := Thread()
			f()
			t1, _ := Thread()
			spent[which] += int64(t1 - t0)
		}
	}
	n := float64(perCall) * float64(b.N)
	b.ReportMetric(float64(spent[0])/n, "former-cpu-ns/"+unit)
	b.ReportMetric(float64(spent[1])/n, "cpu-ns/"+unit)
}
