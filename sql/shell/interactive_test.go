package shell

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// expectTimeout is generous: DuckDB under -race on shared cores can be slow. Waits end as soon as the
// expected text shows up.
const expectTimeout = 60 * time.Second

// terminalOutput collects what the shell writes to the pseudo-terminal.
type terminalOutput struct {
	mu      sync.Mutex
	buf     []byte
	pos     int // everything before pos was matched already
	changed chan struct{}
}

func readTerminal(r *os.File) *terminalOutput {
	o := &terminalOutput{changed: make(chan struct{}, 1)}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := r.Read(b)
			o.mu.Lock()
			o.buf = append(o.buf, b[:n]...)
			o.mu.Unlock()
			select {
			case o.changed <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	return o
}

// expect waits until s appears in the output after the previous match, and returns the output up to it.
func (o *terminalOutput) expect(t *testing.T, s string) string {
	t.Helper()
	timeout := time.NewTimer(expectTimeout)
	defer timeout.Stop()
	for {
		o.mu.Lock()
		if i := bytes.Index(o.buf[o.pos:], []byte(s)); i >= 0 {
			seen := string(o.buf[o.pos : o.pos+i+len(s)])
			o.pos += i + len(s)
			o.mu.Unlock()
			return seen
		}
		o.mu.Unlock()
		select {
		case <-o.changed:
		case <-timeout.C:
			o.mu.Lock()
			defer o.mu.Unlock()
			t.Fatalf("timed out waiting for %q; terminal output since the last match:\n%q", s, o.buf[o.pos:])
		}
	}
}

// TestInteractiveTerminal drives the shell through a real pseudo-terminal: the shell gets the tty side as In
// and Out, the test types on the master side and reads the screen output back.
func TestInteractiveTerminal(t *testing.T) {
	conn := newTestConn(t)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	screen := readTerminal(ptmx)
	type_ := func(s string) {
		t.Helper()
		if _, err := ptmx.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	hist := filepath.Join(t.TempDir(), "history")
	done := make(chan error, 1)
	go func() {
		done <- Interactive(context.Background(), Options{Conn: conn, In: tty, Out: tty, Err: tty,
			HistoryFile: hist, Banner: "lake ./lake: 1 domain; .help for help"})
	}()

	screen.expect(t, "lake ./lake: 1 domain; .help for help\r\n")
	screen.expect(t, "eventlake> ")

	// A statement over two lines: the continuation prompt, then the table.
	type_("select 'hello' ||\r")
	screen.expect(t, "      ...> ")
	type_("  ' world' as greeting;\r")
	screen.expect(t, "│ hello world │\r\n")
	screen.expect(t, "1 row\r\n")

	// Ctrl-C while typing clears the pending input.
	type_("select 'discarded' as x,\r")
	screen.expect(t, "      ...> ")
	type_("\x03")
	screen.expect(t, "eventlake> ")
	type_("select 6 * 7 as answer;\r")
	if seen := screen.expect(t, "42 │\r\n"); strings.Contains(seen, "Error") {
		t.Errorf("the input cleared by Ctrl-C was executed:\n%q", seen)
	}

	// .mode csv, then a query.
	type_(".mode csv\r")
	type_("select 'a,b' as v, 2 as n;\r")
	screen.expect(t, "v,n\r\n\"a,b\",2\r\n")
	type_(".mode table\r")

	// Errors are printed and the loop goes on.
	type_("select nosuch;\r")
	screen.expect(t, "Error: Binder Error: Referenced column \"nosuch\"")

	// Ctrl-C while a query runs interrupts it; the shell keeps answering.
	type_(longQuery + ";\r")
	screen.expect(t, "t1;\r\n") // readline has taken the Enter: the next bytes go to the interrupt watcher
	type_("\x03")
	screen.expect(t, "Interrupted\r\n")
	type_("select 40 + 2 as answer;\r")
	screen.expect(t, "42 │\r\n")

	type_(".quit\r")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Interactive = %v, want nil after .quit", err)
		}
	case <-time.After(expectTimeout):
		t.Fatal("Interactive did not return after .quit")
	}

	// The history file has the statements (multi-line ones joined) and the dot commands, and is private.
	b, err := os.ReadFile(hist)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	want := []string{"select 'hello' || ' world' as greeting;", "select 6 * 7 as answer;", ".mode csv",
		"select 'a,b' as v, 2 as n;", ".mode table", "select nosuch;", longQuery + ";", "select 40 + 2 as answer;", ".quit"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("history file:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if fi, err := os.Stat(hist); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("history file mode = %v (%v), want 0600", fi.Mode().Perm(), err)
	}

	// A second session loads the history: Up-arrow recalls the last statement.
	done2 := make(chan error, 1)
	go func() {
		done2 <- Interactive(context.Background(), Options{Conn: conn, In: tty, Out: tty, Err: tty, HistoryFile: hist})
	}()
	screen.expect(t, "eventlake> ")
	type_("\x1b[A\x1b[A\r") // Up twice: skips ".quit", recalls "select 40 + 2 as answer;"
	screen.expect(t, "42 │\r\n")
	type_("\x04") // Ctrl-D on an empty line ends the session
	select {
	case err := <-done2:
		if err != nil {
			t.Fatalf("Interactive = %v, want nil after Ctrl-D", err)
		}
	case <-time.After(expectTimeout):
		t.Fatal("Interactive did not return after Ctrl-D")
	}
}

// TestInteractiveCancelledContext checks that cancelling the context ends a session waiting for input.
func TestInteractiveCancelledContext(t *testing.T) {
	conn := newTestConn(t)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	defer tty.Close()
	screen := readTerminal(ptmx)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Interactive(ctx, Options{Conn: conn, In: tty, Out: tty, Err: tty, HistoryFile: "-"})
	}()
	screen.expect(t, "eventlake> ")
	cancel()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Fatalf("Interactive = %v, want context.Canceled", err)
		}
	case <-time.After(expectTimeout):
		t.Fatal("Interactive did not return after the context was cancelled")
	}
}

// TestInteractivePlainInput covers piped (non-terminal) input: no prompt or banner, the end of the input ends
// the session (errors: TestInteractivePlainInputStopsAtError).
func TestInteractivePlainInput(t *testing.T) {
	conn := newTestConn(t)
	in := strings.NewReader("select 1 as a;\n.mode csv\nselect 'x' as b,\n 2 as c;\n.tables card%\nselect 3 as d")
	var out, errb bytes.Buffer
	err := Interactive(context.Background(), Options{Conn: conn, In: in, Out: &out, Err: &errb, Banner: "banner"})
	if err != nil {
		t.Fatal(err)
	}
	want := "┌───────┐\n│   a   │\n│ int32 │\n├───────┤\n│     1 │\n└───────┘\n1 row\n" +
		"b,c\nx,2\n" + "cards.card_blocked_1\n" + "d\n3\n"
	if out.String() != want {
		t.Errorf("output =\n%s\nwant\n%s", out.String(), want)
	}
	if errb.Len() != 0 {
		t.Errorf("stderr = %q, want nothing", errb.String())
	}

	in = strings.NewReader("select 1 as a;\n.quit\nselect 2 as b;\n")
	out.Reset()
	if err := Interactive(context.Background(), Options{Conn: conn, In: in, Out: &out, Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "a\n1\n" {
		t.Errorf("output = %q, want only the statement before .quit", out.String())
	}
}

// Piped input is a script: its tables are not cut to 40 rows as on a terminal (TestTerminalClearExitEscapes).
func TestInteractivePipedMaxRows(t *testing.T) {
	conn := newTestConn(t)
	var out bytes.Buffer
	err := Interactive(context.Background(), Options{Conn: conn, In: strings.NewReader("select range from range(100);"), Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "more rows") || !strings.HasSuffix(out.String(), "│    99 │\n└───────┘\n100 rows\n") {
		t.Errorf("piped table of 100 rows is cut:\n%s", out.String())
	}
}
