package main

import (
	"time"

	"github.com/eventlake/eventlake/catalog"
)

func acquireForTest(lake string) (*catalog.Lock, error) {
	return catalog.AcquireLock(lake, time.Second, "test holder")
}
