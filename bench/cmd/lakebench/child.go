package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// measurement is one finished child process.
type measurement struct {
	Wall   float64 // seconds from start to exit
	User   float64 // CPU seconds in user mode
	Sys    float64 // CPU seconds in the kernel
	MaxRSS int64   // peak resident set size, bytes (0: unknown)
	Stdout []byte
	Stderr []byte
}

// CPU is user + system seconds.
func (m measurement) CPU() float64 { return m.User + m.Sys }

// capWriter keeps at most max bytes (the tail is dropped): children print a
// JSON line or a small CSV, so this only guards against a runaway child.
type capWriter struct {
	buf bytes.Buffer
	max int
}

func (w *capWriter) Write(p []byte) (int, error) {
	if room := w.max - w.buf.Len(); room > 0 {
		w.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

const outputCap = 8 << 20

// runChild runs name with args in dir (or the current folder) and measures
// it. A non-zero exit is an error that quotes the end of the child's stderr.
func runChild(ctx context.Context, dir, name string, args ...string) (measurement, error) {
	return runChildEnv(ctx, nil, dir, name, args...)
}

// runChildEnv is runChild with env added to lakebench's environment.
func runChildEnv(ctx context.Context, env []string, dir, name string, args ...string) (measurement, error) {
	var m measurement
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	stdout, stderr := &capWriter{max: outputCap}, &capWriter{max: outputCap}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return m, fmt.Errorf("start %s: %w", name, err)
	}
	err := cmd.Wait()
	m.Wall = time.Since(start).Seconds()
	m.Stdout, m.Stderr = stdout.buf.Bytes(), stderr.buf.Bytes()
	if cmd.ProcessState != nil {
		m.User, m.Sys, m.MaxRSS, _ = usage(cmd.ProcessState)
	}
	if err != nil {
		var ee *exec.ExitError
		msg := strings.TrimSpace(string(m.Stderr))
		if len(msg) > 2000 {
			msg = "…" + msg[len(msg)-2000:]
		}
		if errors.As(err, &ee) {
			return m, fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, msg)
		}
		return m, fmt.Errorf("%s: %w", name, err)
	}
	return m, nil
}

// hasCommand reports whether the eventlake binary knows a subcommand.
func hasCommand(ctx context.Context, bin, sub string) bool {
	_, err := runChild(ctx, "", bin, sub, "--help")
	return err == nil
}
