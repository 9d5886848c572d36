package lake

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/eventlake/eventlake/internal/fsync"
)

// ErrLocked is wrapped by AcquireLock's error when another writer holds the
// lake's lock for longer than the caller was willing to wait.
var ErrLocked = errors.New("lake is locked by another writer")

const (
	dirPerm  = 0o755
	filePerm = 0o644
)

// lockPoll is how often AcquireLock retries a busy lock. flock has no
// timeout of its own, and a blocking flock cannot be abandoned, so it polls.
const lockPoll = 100 * time.Millisecond

// Lock is the exclusive writer lock of one lake. It is held until Release or
// until the process exits (the kernel drops flock locks with the last file
// descriptor, so a killed writer never leaves a stale lock behind).
type Lock struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

// lockHolder is the record a holder writes into the lock file, purely for
// diagnostics: the flock itself is what excludes other writers.
type lockHolder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Since   time.Time `json:"since"`
	Command string    `json:"command"`
}

// AcquireLock takes an exclusive flock on <lakeDir>/_eventlake/lock (creating dirs), polling until wait elapses;
// it then writes the holder (pid, host, start time, command) into the lock file. On timeout it returns an error
// wrapping ErrLocked whose message names the holder read from the file ("held by pid 123 on host h since …").
// The lock dies with the process (flock), so a SIGKILLed load never leaves a stale lock.
//
// A wait of zero or less tries exactly once. The lock file is never deleted
// (deleting a flock'ed file lets two processes lock different inodes).
func AcquireLock(lakeDir string, wait time.Duration, command string) (*Lock, error) {
	if lakeDir == "" {
		return nil, errors.New("lake: acquire lock: empty lake directory")
	}
	layout := At(lakeDir)
	dir := layout.MetaDir()
	if err := ensureDir(dir); err != nil {
		return nil, fmt.Errorf("lake: acquire lock in %s: %w", dir, err)
	}
	path := layout.LockPath()
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, filePerm)
	if err != nil {
		return nil, fmt.Errorf("lake: acquire lock %s: %w", path, err)
	}
	if statErr != nil {
		f.Chmod(filePerm) // best effort against a restrictive umask
	}

	deadline := time.Now().Add(wait)
	for {
		ok, err := tryFlock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lake: acquire lock %s: %w", path, err)
		}
		if ok {
			break
		}
		remaining := time.Until(deadline)
		if remaining <= 0 {
			holder := describeHolder(f)
			f.Close()
			return nil, fmt.Errorf("%w: %s is held by %s (gave up after %s)", ErrLocked, path, holder, wait)
		}
		time.Sleep(min(lockPoll, remaining))
	}

	host, _ := os.Hostname()
	rec, err := json.Marshal(lockHolder{PID: os.Getpid(), Host: host, Since: time.Now().UTC(), Command: command})
	if err == nil {
		// Write then truncate, so a waiter reading concurrently sees either
		// the old (empty) content or a complete record, never an empty file
		// after a partial one.
		_, err = f.WriteAt(append(rec, '\n'), 0)
	}
	if err == nil {
		err = f.Truncate(int64(len(rec) + 1))
	}
	if err != nil {
		unflock(f)
		f.Close()
		return nil, fmt.Errorf("lake: acquire lock %s: write holder: %w", path, err)
	}
	return &Lock{f: f, path: path}, nil
}

// Release clears the holder record and releases the lock. Calling it again
// is a no-op.
func (l *Lock) Release() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	terr := f.Truncate(0)
	uerr := unflock(f)
	cerr := f.Close() // closing the descriptor releases the flock in any case
	if err := errors.Join(terr, uerr, cerr); err != nil {
		return fmt.Errorf("lake: release lock %s: %w", l.path, err)
	}
	return nil
}

// Path returns the lock file's path.
func (l *Lock) Path() string { return l.path }

// describeHolder renders the holder record for error messages.
func describeHolder(f *os.File) string {
	buf := make([]byte, 4096)
	n, _ := f.ReadAt(buf, 0)
	var h lockHolder
	if n == 0 {
		return "another process (its holder record is not written yet)"
	}
	if err := json.Unmarshal(buf[:n], &h); err != nil || h.PID == 0 {
		return fmt.Sprintf("another process (unreadable holder record %q)", truncate(string(buf[:n]), 200))
	}
	s := fmt.Sprintf("pid %d on host %s since %s", h.PID, h.Host, h.Since.Format(time.RFC3339))
	if h.Command != "" {
		s += fmt.Sprintf(" (command: %s)", h.Command)
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ensureDir creates dir and its missing parents, mode 0755 whatever the
// umask (see fsync.MkdirAll).
func ensureDir(dir string) error { return fsync.MkdirAll(dir, dirPerm) }
