package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/testservers"
	"github.com/eventlake/eventlake/loader"
)

// TestMain lets the test binary run the CLI as a child process (signal
// tests need a process of their own).
func TestMain(m *testing.M) {
	if os.Getenv("EVENTLAKE_TEST_CLI") == "1" {
		os.Exit(run())
	}
	os.Exit(m.Run())
}

// TestSignalCommitsWhatWasRead: SIGTERM while a load reads an object that
// never arrives stops the load, commits the objects read before, exits 130,
// and the next run loads exactly the rest.
func TestSignalCommitsWhatWasRead(t *testing.T) {
	const n, served = 8, 3
	// The store stops answering at the first GET of the object after the
	// ones served (one worker reads them in key order).
	faults := testservers.NewS3Faults(map[string][]testservers.Fault{
		fmt.Sprintf("vendor/main_stream/2024/02/01/09/obj-%02d", served): {testservers.Die},
	})
	t.Cleanup(faults.Revive)
	srv := testservers.S3(t, faults.Middleware)
	srv.CreateBucket(t, "vendor")
	for i := 0; i < n; i++ {
		var b strings.Builder
		for k := 0; k <= i; k++ {
			fmt.Fprintf(&b, `{"event_id":"e-%d-%d","event_type":"customer_creation","schema_version":1,"timestamp":"2024-02-01T09:00:00Z","domain":"account","data":{}}`+"\n", i, k)
		}
		srv.Put(t, "vendor", fmt.Sprintf("main_stream/2024/02/01/09/obj-%02d", i), []byte(b.String()))
	}
	lake := t.TempDir()
	src := srv.URL("vendor", "main_stream/", nil)
	cmd := exec.Command(os.Args[0], "load", "--lake", lake, "--workers", "1", "-q", src)
	cmd.Env = append(os.Environ(), "EVENTLAKE_TEST_CLI=1")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for faults.Counts().Hung == 0 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the load never reached object %d: %s", served+1, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the stalled GET is in flight
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("load exited with %v after SIGTERM, want 130\n%s", err, out.String())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("load took %s to stop after SIGTERM", d)
	}
	t.Logf("after SIGTERM:\n%s", out.String())
	cat, err := catalog.Open(loader.CatalogPath(lake), catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := cat.Objects(t.Context(), "s3://vendor/main_stream/")
	cat.Close()
	if err != nil {
		t.Fatal(err)
	}
	committed := 0
	for _, o := range objs {
		if o.Status == "committed" {
			committed++
		}
	}
	if committed != served {
		t.Errorf("%d objects committed after SIGTERM, want the %d read before it (%v)", committed, served, objs)
	}
	// The store answers again.
	faults.Revive()
	code, stdout, stderr := runCLI(t, "load", "--lake", lake, "--json", "-q", src)
	if code != 0 || !strings.Contains(stdout, fmt.Sprintf(`"committed":%d`, n-served)) {
		t.Errorf("re-run: exit %d, want 0 and %d committed: %s %s", code, n-served, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, "sql", "--lake", lake, "--format", "csv", "-c", "select count(*), count(distinct event_id) from events_raw")
	if want := n * (n + 1) / 2; code != 0 || !strings.Contains(stdout, fmt.Sprintf("%d,%d", want, want)) {
		t.Errorf("lake after the re-run: %q, want %d rows once each", stdout, want)
	}
}
