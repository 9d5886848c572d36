// Package procs says how many CPUs eventlake's work may use: GOMAXPROCS as
// the runtime set it at start (the machine's CPUs, or its container's CPU
// limit) or as the environment gave it. Workers and partition writers are
// counted from it, not from runtime.GOMAXPROCS(0), which the program raises
// by one (see internal/runtimesetup).
package procs

import "runtime"

// cpus is read when the package initialises: before anything can raise
// GOMAXPROCS (runtimesetup imports this package, so it runs after).
var cpus = runtime.GOMAXPROCS(0)

// CPUs returns the number of CPUs eventlake's work may use.
func CPUs() int { return cpus }
