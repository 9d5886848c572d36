// Package childtest runs one test of the running test binary in a child
// process with more environment: for what a process decides once, at
// start or on first use, from its environment (the huge page decision, the
// runtime's settings).
package childtest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// runVar names the test a child process was started to run.
const runVar = "CHILDTEST_RUN"

// Output runs the test named test (and only it) in a child process of the
// test binary, with env added to this process's environment (a later value
// of a variable wins), and returns what it printed, without the test
// framework's final "PASS" line. The test fails when the child does.
func Output(t testing.TB, test string, env ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(append(os.Environ(), runVar+"="+test), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s in a child process with %v: %v\n%s", test, env, err, out)
	}
	return strings.TrimSuffix(string(out), "PASS\n")
}

// Skip skips t unless this process is the child Output started for it:
// the child's half of a test runs only there.
func Skip(t testing.TB) {
	t.Helper()
	if os.Getenv(runVar) != t.Name() {
		t.Skip("runs in a child process of the test that needs it")
	}
}
