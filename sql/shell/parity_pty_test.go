package shell

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ptySession starts Interactive on a pseudo-terminal; type_ types, screen reads, wait returns its result.
func ptySession(t *testing.T) (type_ func(string), screen *terminalOutput, wait func() error) {
	t.Helper()
	conn := newTestConn(t)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ptmx.Close(); tty.Close() })
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	screen = readTerminal(ptmx)
	done := make(chan error, 1)
	go func() {
		done <- Interactive(context.Background(), Options{Conn: conn, In: tty, Out: tty, Err: tty, HistoryFile: "-"})
	}()
	screen.expect(t, "eventlake> ")
	type_ = func(s string) {
		t.Helper()
		if _, err := ptmx.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	wait = func() error {
		t.Helper()
		select {
		case err := <-done:
			return err
		case <-time.After(expectTimeout):
			t.Fatal("Interactive did not return")
			return nil
		}
	}
	return type_, screen, wait
}

func TestTerminalCompletion(t *testing.T) {
	type_, screen, wait := ptySession(t)

	// A keyword, then a schema-qualified view name.
	type_("sel\t")
	screen.expect(t, "select")
	type_(" count(*) as n from cards.card_b\t")
	screen.expect(t, "card_blocked_1")
	type_(";\r")
	screen.expect(t, " 2 │\r\n")

	// A column of the view named on the previous line: event_t completes to event_time only (events_raw also
	// has event_type, but it is not in the statement).
	type_("select count(*) as m from cards.card_blocked_1\r")
	screen.expect(t, "...> ")
	type_("where event_t\t")
	screen.expect(t, "event_time")
	type_(" is not null;\r")
	screen.expect(t, " 2 │\r\n")

	// A column through an alias, and a dot command.
	type_("from cards.card_blocked_1 c\r")
	screen.expect(t, "...> ")
	type_("select c.rea\t order by 1;\r")
	screen.expect(t, "son")
	screen.expect(t, "│ lost    │")
	type_(".tim\t on\r")
	screen.expect(t, "er on")
	type_(".show\r")
	screen.expect(t, "timer: on")
	type_(".mode mark\t\r")
	type_(".mode\r")
	screen.expect(t, "markdown\r\n")

	// Tab with nothing to complete inserts no spaces.
	type_("select 5\t\t as five;\r")
	if seen := screen.expect(t, "| 5 |\r\n"); !strings.Contains(seen, "select 5 as five;") {
		t.Errorf("Tab inserted something:\n%q", seen)
	}

	type_(".quit\r")
	if err := wait(); err != nil {
		t.Fatal(err)
	}
}

func TestTerminalClearExitEscapes(t *testing.T) {
	type_, screen, wait := ptySession(t)

	type_("\x0c")
	screen.expect(t, "\x1b[H\x1b[2J")
	screen.expect(t, "eventlake> ")

	// A value with escape sequences is shown escaped in table mode, never raw.
	type_("select 'a' || chr(27) || '[2J' || chr(7) || chr(8238) || 'b' as v;\r")
	seen := screen.expect(t, "1 row")
	if !strings.Contains(seen, `a\x1B[2J\x07\u202Eb`) || strings.Contains(seen, "\x1b[2J") || strings.Contains(seen, "\a") {
		t.Errorf("value with escape sequences reached the terminal raw:\n%q", seen)
	}

	// So is a value quoted in an error message.
	type_("select ('a' || chr(27) || '[2J')::int;\r")
	screen.expect(t, "Conversion Error")
	seen = screen.expect(t, "eventlake> ")
	if !strings.Contains(seen, `a\x1B[2J`) || strings.Contains(seen, "\x1b[2J") {
		t.Errorf("error message with escape sequences reached the terminal raw:\n%q", seen)
	}

	// The interactive table keeps the first and last 20 of 100 rows.
	type_("select range from range(100);\r")
	screen.expect(t, "100 rows (40 shown)")

	type_(".exit 3\r")
	var ee *ExitError
	if err := wait(); !errors.As(err, &ee) || ee.Code != 3 {
		t.Fatalf("Interactive after .exit 3 = %v, want ExitError{3}", err)
	}
}
