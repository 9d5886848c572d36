//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package shell

import (
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// termState is a saved terminal mode.
type termState = unix.Termios

// terminal is the terminal behind Options.In. It is reached through syscall.RawConn rather than
// (*os.File).Fd, which would switch the file to blocking mode and disable its read deadlines (the input pump
// relies on them to stop).
type terminal struct {
	rc syscall.RawConn
}

// openTerminal returns the terminal behind r, if r is one.
func openTerminal(r io.Reader) (*terminal, bool) {
	sc, ok := r.(syscall.Conn)
	if !ok {
		return nil, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, false
	}
	t := &terminal{rc: rc}
	if _, err := t.state(); err != nil {
		return nil, false
	}
	return t, true
}

func (t *terminal) control(fn func(fd int) error) error {
	var ferr error
	if err := t.rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

func (t *terminal) state() (*termState, error) {
	var st *termState
	err := t.control(func(fd int) error {
		var err error
		st, err = unix.IoctlGetTermios(fd, ioctlGetTermios)
		return err
	})
	return st, err
}

func (t *terminal) setState(st *termState) error {
	return t.control(func(fd int) error { return unix.IoctlSetTermios(fd, ioctlSetTermios, st) })
}

// columns returns the terminal width, 0 if unknown.
func (t *terminal) columns() int {
	var cols int
	_ = t.control(func(fd int) error {
		ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
		if err == nil {
			cols = int(ws.Col)
		}
		return err
	})
	return cols
}

// rawState is readline's raw mode (cfmakeraw without clearing OPOST, so "\n" still starts a new line).
// Without ISIG, Ctrl-C arrives as the byte 0x03 instead of SIGINT.
func rawState(orig *termState) *termState {
	raw := *orig
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN] = 1
	raw.Cc[unix.VTIME] = 0
	return &raw
}

// watchResize calls f on every terminal resize (SIGWINCH) until stop is called.
func watchResize(f func()) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, unix.SIGWINCH)
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		for {
			select {
			case <-ch:
				f()
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
		<-exited
	}
}
