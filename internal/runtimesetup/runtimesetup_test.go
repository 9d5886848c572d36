package runtimesetup_test

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/internal/procs"
	"github.com/eventlake/eventlake/internal/runtimesetup"
)

// settings reports the runtime settings of this process.
func settings() string {
	gc := debug.SetGCPercent(100)
	debug.SetGCPercent(gc)
	return fmt.Sprintf("GOGC=%d GOMEMLIMIT=%d GOMAXPROCS=%d CPUs=%d", gc, debug.SetMemoryLimit(-1), runtime.GOMAXPROCS(0), procs.CPUs())
}

// TestPrintSettings is the child of TestSettings: it prints this process's
// settings.
func TestPrintSettings(t *testing.T) {
	if os.Getenv("RUNTIMESETUP_CHILD") == "" {
		t.Skip("run by TestSettings")
	}
	fmt.Println(settings())
}

// The package sets the runtime up at initialisation unless the environment
// says otherwise, and leaves procs.CPUs at the runtime's own count.
func TestSettings(t *testing.T) {
	ours := func(cpus int) string { // the defaults, on the CPUs the child's runtime found
		return fmt.Sprintf("GOGC=%d GOMEMLIMIT=%d GOMAXPROCS=%d CPUs=%d", runtimesetup.GCPercent, runtimesetup.MemoryLimit, cpus+runtimesetup.SpareProcs, cpus)
	}
	for _, c := range []struct {
		env  []string
		want func(cpus int) string
	}{
		{nil, ours},
		{[]string{"GOGC=150", "GOMEMLIMIT=1GiB", "GOMAXPROCS=1"}, func(int) string { return "GOGC=150 GOMEMLIMIT=1073741824 GOMAXPROCS=1 CPUs=1" }},
		{[]string{"GOMAXPROCS=3"}, func(int) string {
			return fmt.Sprintf("GOGC=%d GOMEMLIMIT=%d GOMAXPROCS=3 CPUs=3", runtimesetup.GCPercent, runtimesetup.MemoryLimit)
		}},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPrintSettings$", "-test.count=1")
		cmd.Env = append(cleanEnv(), "RUNTIMESETUP_CHILD=1")
		cmd.Env = append(cmd.Env, c.env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", c.env, err, out)
		}
		got := strings.SplitN(string(out), "\n", 2)[0]
		var cpus int
		if i := strings.LastIndex(got, "CPUs="); i < 0 {
			t.Fatalf("%v: %q", c.env, got)
		} else if _, err := fmt.Sscanf(got[i:], "CPUs=%d", &cpus); err != nil || cpus < 1 {
			t.Fatalf("%v: %q: no CPU count", c.env, got)
		}
		if want := c.want(cpus); got != want {
			t.Errorf("%v: %s, want %s", c.env, got, want)
		}
	}
}

// cleanEnv is the environment without the settings under test.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOGC=") && !strings.HasPrefix(kv, "GOMEMLIMIT=") && !strings.HasPrefix(kv, "GOMAXPROCS=") {
			env = append(env, kv)
		}
	}
	return env
}
