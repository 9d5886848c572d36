package main

import (
	"time"

	lk "github.com/eventlake/eventlake/lake"
)

func acquireForTest(lake string) (*lk.Lock, error) {
	return lk.AcquireLock(lake, time.Second, "test holder")
}
