//go:build !linux

package hugepages

import (
	"errors"
	"time"
)

func thpMode() string { return "" }

func measureFault() time.Duration { return 0 }

// Advise does nothing where the platform has no transparent huge pages.
func Advise([]byte) bool { return false }

// MappingFlags is not available where the platform has no /proc/self/smaps.
func MappingFlags([]byte) ([]string, error) { return nil, errors.ErrUnsupported }

// HeapReserve does nothing where the platform has no transparent huge pages.
func HeapReserve() bool { return false }
