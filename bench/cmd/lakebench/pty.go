//go:build unix

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/creack/pty"
)

// interactiveStart starts `eventlake sql --lake lake` on a pseudo-terminal,
// as an analyst does, and returns how long the prompt took to appear and how
// long until the result of a statement typed as soon as it did.
func interactiveStart(ctx context.Context, bin, lake string) (prompt, firstResult float64, err error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "sql", "--lake", lake, "--history", "-")
	cmd.Env = append(os.Environ(), "TERM=dumb")
	start := time.Now()
	tty, err := pty.Start(cmd)
	if err != nil {
		return 0, 0, err
	}
	defer tty.Close()
	defer func() { _ = cmd.Wait() }()
	var out bytes.Buffer
	buf := make([]byte, 64<<10)
	readUntil := func(want []byte, from int) (int, error) {
		for {
			if i := bytes.Index(out.Bytes()[from:], want); i >= 0 {
				return from + i + len(want), nil
			}
			n, err := tty.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				return 0, fmt.Errorf("interactive shell: %w before %q; output:\n%s", err, want, out.String())
			}
		}
	}
	const promptText = "eventlake> "
	at, err := readUntil([]byte(promptText), 0)
	if err != nil {
		return 0, 0, err
	}
	prompt = time.Since(start).Seconds()
	if _, err := tty.Write([]byte("select 4242 + count(*) * 0 as marker from events;\r")); err != nil {
		return 0, 0, err
	}
	// The echo of the statement holds "4242 +"; the result holds "4242 │".
	if at, err = readUntil([]byte("4242 │"), at); err != nil {
		return 0, 0, err
	}
	firstResult = time.Since(start).Seconds()
	if _, err := readUntil([]byte(promptText), at); err != nil {
		return 0, 0, err
	}
	_, err = tty.Write([]byte(".quit\r"))
	return prompt, firstResult, err
}
