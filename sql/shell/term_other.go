//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package shell

import (
	"errors"
	"io"
)

// termState is a saved terminal mode (no terminal support on this platform: Interactive reads plain lines).
type termState struct{}

type terminal struct{}

func openTerminal(io.Reader) (*terminal, bool) { return nil, false }

var errNoTerminal = errors.New("terminal control is not supported on this platform")

func (t *terminal) state() (*termState, error) { return nil, errNoTerminal }
func (t *terminal) setState(*termState) error  { return errNoTerminal }
func (t *terminal) columns() int               { return 0 }
func rawState(orig *termState) *termState      { return orig }
func watchResize(func()) (stop func())         { return func() {} }
