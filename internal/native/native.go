// Package native uses the system's libdeflate and libzstd, when they can be
// loaded, for the two costliest steps of a load: inflating gzip objects and
// compressing Parquet pages with zstd. Both libraries are opened at run time
// (dlopen), so eventlake builds and runs without them; callers fall back to
// the pure-Go codecs of klauspost/compress when a function here reports that
// it is unavailable.
//
// Measured on the benchmark corpus (200 MB of NDJSON, 40 MB gzipped, one
// core): libdeflate inflates it in 0.16 s where klauspost/compress takes
// 0.48 s; libzstd level 1 compresses 1 MiB pages of it in 0.36 s and 3 % smaller
// than klauspost's fastest level does in 0.58 s.
//
// EVENTLAKE_NATIVE=off disables both (the tests use it to run the pure-Go
// paths); EVENTLAKE_NATIVE=gzip or =zstd keeps only that one.
package native

import (
	"os"
	"strings"
	"sync"
	"sync/atomic"
)

// Status describes which native codecs are in use, for logs and `eventlake
// version`.
type Status struct {
	Gzip string // "libdeflate (libdeflate.so.0)", or "" when the pure-Go inflater is used
	Zstd string // "libzstd 1.5.4 (libzstd.so.1)", or ""
}

// enabled reports whether the environment allows the named codec.
func enabled(codec string) bool {
	v := strings.ToLower(strings.TrimSpace(os.Getenv("EVENTLAKE_NATIVE")))
	switch v {
	case "", "on", "1", "true", "auto":
		return true
	case "off", "0", "false", "none":
		return false
	}
	for _, c := range strings.Split(v, ",") {
		if strings.TrimSpace(c) == codec {
			return true
		}
	}
	return false
}

var (
	loadOnce sync.Once
	loaded   Status // what could be loaded
	inUse    atomic.Pointer[Status]
)

func status() Status {
	loadOnce.Do(func() {
		if enabled("gzip") {
			loaded.Gzip = loadDeflate()
		}
		if enabled("zstd") {
			loaded.Zstd = loadZstd()
		}
		s := loaded
		inUse.Store(&s)
	})
	return *inUse.Load()
}

// Loaded returns which native codecs are in use (loading them the first time).
func Loaded() Status { return status() }

// Use turns the native codecs that were loaded on or off, and returns a
// function that restores the previous setting. Tests use it to run both the
// native and the pure-Go paths; it must not race with loads.
func Use(gzip, zstd bool) (restore func()) {
	prev := status()
	s := loaded
	if !gzip {
		s.Gzip = ""
	}
	if !zstd {
		s.Zstd = ""
	}
	inUse.Store(&s)
	return func() { inUse.Store(&prev) }
}

// HasGzip reports whether Gunzipper can be used.
func HasGzip() bool { return status().Gzip != "" }

// HasZstd reports whether ZstdCompress can be used.
func HasZstd() bool { return status().Zstd != "" }

// Result of one Gunzipper.Member call.
type Result int

// libdeflate's results.
const (
	Success           Result = 0
	BadData           Result = 1
	ShortOutput       Result = 2
	InsufficientSpace Result = 3
)
