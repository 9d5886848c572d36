package lake

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const lockChildEnv = "CATALOG_LOCK_CHILD"

// TestMain doubles as the lock-holding child process of
// TestLockDiesWithKilledProcess: with CATALOG_LOCK_CHILD=<lake> set, the test
// binary takes the lake's lock, reports "locked" on stdout and blocks until
// it is killed.
func TestMain(m *testing.M) {
	if lake := os.Getenv(lockChildEnv); lake != "" {
		l, err := AcquireLock(lake, 0, "lock-child")
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(3)
		}
		fmt.Println("locked")
		io.Copy(io.Discard, os.Stdin) // block until killed (or stdin closes)
		l.Release()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestLockExcludesSecondWriter(t *testing.T) {
	lake := t.TempDir()
	l1, err := AcquireLock(lake, 0, "eventlake load s3://b/p")
	if err != nil {
		t.Fatalf("first AcquireLock: %v", err)
	}
	_, err = AcquireLock(lake, 30*time.Millisecond, "eventlake load other")
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second AcquireLock: err = %v, want ErrLocked", err)
	}
	host, _ := os.Hostname()
	for _, want := range []string{
		fmt.Sprintf("held by pid %d on host %s since ", os.Getpid(), host),
		"eventlake load s3://b/p",
		filepath.Join(lake, "_eventlake", "lock"),
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ErrLocked message %q does not contain %q", err, want)
		}
	}
	if err := l1.Release(); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if err := l1.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	l2, err := AcquireLock(lake, 0, "eventlake load other")
	if err != nil {
		t.Fatalf("AcquireLock after Release: %v", err)
	}
	defer l2.Release()
	st, err := os.Stat(l2.Path())
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("lock file mode %o, want 644", st.Mode().Perm())
	}
}

func TestLockWaitsForRelease(t *testing.T) {
	lake := t.TempDir()
	l1, err := AcquireLock(lake, 0, "first")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		// Whether this starts polling before or after the release below, it
		// must end up with the lock well within the wait.
		l2, err := AcquireLock(lake, time.Minute, "second")
		if err == nil {
			err = l2.Release()
		}
		got <- err
	}()
	if err := l1.Release(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("waiting AcquireLock: %v", err)
	}
}

func TestLockDiesWithKilledProcess(t *testing.T) {
	lake := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockChildEnv+"="+lake)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "locked" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child: %q, %v; want \"locked\"", line, err)
	}

	_, err = AcquireLock(lake, 0, "parent")
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("AcquireLock while child holds it: err = %v, want ErrLocked", err)
	}
	if want := fmt.Sprintf("held by pid %d ", cmd.Process.Pid); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "lock-child") {
		t.Errorf("ErrLocked message %q does not name the child (%q, lock-child)", err, want)
	}

	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait() // reaped: all its descriptors, and so its flock, are gone

	l, err := AcquireLock(lake, 0, "parent")
	if err != nil {
		t.Fatalf("AcquireLock after the holder was killed: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
}
