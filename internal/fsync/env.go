package fsync

import "os"

// disableSyncFS (EVENTLAKE_NO_SYNCFS=1) makes OpenFS fail, so every file is
// fsynced on its own: for file systems whose syncfs is slow or suspect, and
// to compare both ways.
var disableSyncFS = os.Getenv("EVENTLAKE_NO_SYNCFS") == "1"
