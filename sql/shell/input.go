package shell

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chzyer/readline"
)

// ctrlC is the byte a terminal in raw mode delivers for Ctrl-C.
const ctrlC = 0x03

// inputMux owns the terminal input. One goroutine (the pump) reads it and hands chunks either to readline
// (through Read, while a line is being edited) or to the interrupt watcher (while a statement runs), so that
// Ctrl-C during a query is seen as a byte and nothing else is lost: bytes typed ahead during a query are kept
// for the next prompt.
type inputMux struct {
	in       io.Reader
	chunks   chan []byte
	closed   chan struct{}
	once     sync.Once
	pumpDone chan struct{}

	mu      sync.Mutex
	pending []byte // bytes received but not consumed yet
}

func newInputMux(in io.Reader) *inputMux {
	m := &inputMux{
		in:       in,
		chunks:   make(chan []byte),
		closed:   make(chan struct{}),
		pumpDone: make(chan struct{}),
	}
	go m.pump()
	return m
}

func (m *inputMux) pump() {
	defer close(m.pumpDone)
	defer close(m.chunks)
	for {
		buf := make([]byte, 4096)
		n, err := m.in.Read(buf)
		if n > 0 {
			select {
			case m.chunks <- buf[:n]:
			case <-m.closed:
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Read gives readline the pending bytes, or waits for the next chunk. It returns io.EOF at the end of the input
// or once the mux is closed.
func (m *inputMux) Read(p []byte) (int, error) {
	m.mu.Lock()
	if len(m.pending) > 0 {
		n := copy(p, m.pending)
		m.pending = m.pending[n:]
		m.mu.Unlock()
		return n, nil
	}
	m.mu.Unlock()
	select {
	case b, ok := <-m.chunks:
		if !ok {
			return 0, io.EOF
		}
		n := copy(p, b)
		if n < len(b) {
			m.mu.Lock()
			m.pending = append(m.pending, b[n:]...)
			m.mu.Unlock()
		}
		return n, nil
	case <-m.closed:
		return 0, io.EOF
	}
}

// Close is a no-op: readline closes its Stdin when it closes, but the mux outlives that and is closed by
// close().
func (m *inputMux) Close() error { return nil }

// take handles bytes that arrived while a statement runs: a Ctrl-C discards what was typed before it and
// reports true; other bytes are kept for the next prompt.
func (m *inputMux) take(b []byte) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pending = append(m.pending, b...)
	if i := bytes.LastIndexByte(m.pending, ctrlC); i >= 0 {
		m.pending = append(m.pending[:0], m.pending[i+1:]...)
		return true
	}
	return false
}

// watch watches the input for Ctrl-C while a statement runs and calls onInterrupt when it comes. The returned
// function stops watching and waits for the watcher to finish.
func (m *inputMux) watch(onInterrupt func()) (stop func()) {
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		if m.take(nil) { // a Ctrl-C typed right after Enter, before the statement started
			onInterrupt()
		}
		for {
			select {
			case b, ok := <-m.chunks:
				if !ok {
					return
				}
				if m.take(b) {
					onInterrupt()
				}
			case <-done:
				return
			case <-m.closed:
				return
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

// close stops the mux: readers get io.EOF. If the input supports read deadlines (a terminal opened by Go, as
// in tests), the pump's blocked read is cut short so the goroutine ends; otherwise (os.Stdin) it stays blocked
// until the next keystroke or the end of the process.
func (m *inputMux) close() {
	m.once.Do(func() {
		close(m.closed)
		d, ok := m.in.(interface{ SetReadDeadline(time.Time) error })
		if !ok || d.SetReadDeadline(time.Now()) != nil {
			return
		}
		<-m.pumpDone
		_ = d.SetReadDeadline(time.Time{})
	})
}

// readlineSource reads lines with readline.
type readlineSource struct {
	rl      *readline.Instance
	reading *atomic.Bool
	errw    io.Writer
	histErr bool
}

func (r *readlineSource) readLine(prompt string) (string, error) {
	r.rl.SetPrompt(prompt)
	r.reading.Store(true)
	line, err := r.rl.Readline()
	r.reading.Store(false)
	if errors.Is(err, readline.ErrInterrupt) {
		return "", errInterrupted
	}
	return line, err
}

func (r *readlineSource) saveHistory(entry string) {
	if entry == "" {
		return
	}
	if err := r.rl.SaveHistory(entry); err != nil && !r.histErr {
		r.histErr = true
		fmt.Fprintf(r.errw, "warning: saving history: %v\n", err)
	}
}

// historyPath resolves Options.HistoryFile ("" = ~/.eventlake_history, "-" = none) and makes sure the file
// exists with mode 0600 before readline opens it (readline would create it world-readable). It returns "" when
// history is not to be persisted.
func historyPath(p string, errw io.Writer) string {
	switch {
	case p == "-":
		return ""
	case p == "" || p == "~" || strings.HasPrefix(p, "~/"):
		home, err := os.UserHomeDir()
		if err != nil {
			fmt.Fprintf(errw, "warning: history is not saved: %v\n", err)
			return ""
		}
		if p == "" {
			p = filepath.Join(home, ".eventlake_history")
		} else {
			p = filepath.Join(home, strings.TrimPrefix(p[1:], "/"))
		}
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		fmt.Fprintf(errw, "warning: history is not saved: %v\n", err)
		return ""
	}
	f.Close()
	return p
}

// interactiveTerminal runs the loop on a terminal with readline.
//
// The terminal stays in raw mode (without ISIG) for the whole session, not only while readline edits a line:
// Ctrl-C must reach the interrupt watcher as a byte at any moment, including the instant between Enter and
// the start of the query. OPOST stays on so output needs no special line endings. The original mode is
// restored when the session ends.
func (s *session) interactiveTerminal(ctx context.Context, o Options, tty *terminal) error {
	orig, err := tty.state()
	if err != nil {
		return fmt.Errorf("reading the terminal mode: %w", err)
	}
	raw := rawState(orig)
	if err := tty.setState(raw); err != nil {
		return fmt.Errorf("setting the terminal mode: %w", err)
	}
	defer tty.setState(orig)

	mux := newInputMux(o.In)
	defer mux.close()
	// A cancelled ctx ends a pending Readline: the mux then returns io.EOF.
	defer context.AfterFunc(ctx, mux.close)()

	s.comp = newCompleter(s)
	hist := historyPath(o.HistoryFile, s.errw)
	var before os.FileInfo
	if hist != "" {
		before, _ = os.Stat(hist)
	}

	// Resizes refresh the line being edited, and only then (readline would redraw its prompt in the middle
	// of query output otherwise).
	var reading atomic.Bool
	var resizeMu sync.Mutex
	var onResize func()
	stopResize := watchResize(func() {
		resizeMu.Lock()
		f := onResize
		resizeMu.Unlock()
		if f != nil && reading.Load() {
			f()
		}
	})
	defer stopResize()

	cfg := &readline.Config{
		Prompt:                 mainPrompt,
		HistoryFile:            hist,
		HistoryLimit:           1000,
		DisableAutoSaveHistory: true, // whole statements are saved, not lines
		Stdin:                  mux,
		Stdout:                 s.stdout,
		Stderr:                 s.errw,
		FuncIsTerminal:         func() bool { return true },
		FuncMakeRaw:            func() error { return tty.setState(raw) },
		FuncExitRaw:            func() error { return nil }, // stay raw between lines: see above
		FuncGetWidth: func() int {
			if o.Width != nil {
				if w := o.Width(); w > 0 {
					return w
				}
			}
			if w := tty.columns(); w > 0 {
				return w
			}
			return 80
		},
		FuncOnWidthChanged: func(f func()) {
			resizeMu.Lock()
			onResize = f
			resizeMu.Unlock()
		},
		FuncFilterInputRune: func(r rune) (rune, bool) {
			if r == readline.CharCtrlL {
				// readline only homes the cursor and redraws the line; clear the screen first, as the
				// duckdb CLI does.
				io.WriteString(s.stdout, "\x1b[H\x1b[2J")
			}
			// Ctrl-Z would suspend the shell with the terminal in raw mode; ignore it.
			return r, r != readline.CharCtrlZ
		},
		AutoComplete: s.comp,
	}
	rl, err := readline.NewEx(cfg)
	if err != nil {
		return fmt.Errorf("starting the line editor: %w", err)
	}
	defer rl.Close()
	defer mux.close() // before rl.Close: readline waits for its reader, which the mux releases
	if hist != "" {
		// readline rewrites an over-long history file through a new file created with the default mode.
		if after, err := os.Stat(hist); err == nil && (before == nil || !os.SameFile(before, after)) {
			_ = os.Chmod(hist, 0o600)
		}
	}

	if o.Banner != "" {
		fmt.Fprintln(s.stdout, o.Banner)
	}
	src := &readlineSource{rl: rl, reading: &reading, errw: s.errw}
	return s.repl(ctx, src, func(cancel context.CancelFunc) func() { return mux.watch(cancel) })
}
