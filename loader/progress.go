package loader

import (
	"fmt"
	"time"
)

// progress reports objects, bytes and records per second: a line redrawn
// in place on a terminal, a log line every 10 s otherwise. It returns a
// function that stops it and prints the final state.
func (l *load) progress(total int) func() {
	out := l.opts.Progress
	if out == nil {
		return func() {}
	}
	every := 10 * time.Second
	if l.opts.ProgressTTY {
		every = 200 * time.Millisecond
	}
	start := time.Now()
	line := func() string {
		secs := time.Since(start).Seconds()
		rec := l.recordsDone.Load()
		mb := float64(l.bytesDone.Load()) / 1e6
		return fmt.Sprintf("%d/%d objects  %.1f MB read  %d records  %d rejects  %.0f records/s  %.1f MB/s read",
			l.objectsDone.Load(), total, mb, rec, l.rejectsDone.Load(), float64(rec)/max(secs, 1e-3), mb/max(secs, 1e-3))
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if l.opts.ProgressTTY {
					fmt.Fprintf(out, "\r\033[K%s", line())
				} else {
					fmt.Fprintf(out, "progress: %s\n", line())
				}
			case <-done:
				if l.opts.ProgressTTY {
					fmt.Fprintf(out, "\r\033[K%s\n", line())
				}
				return
			}
		}
	}()
	return func() { close(done); <-stopped }
}
